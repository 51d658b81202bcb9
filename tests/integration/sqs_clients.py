"""sqs_clients.py — boto3 SQS clients in both of SQS's wire protocols.

Debian's boto3 1.26 speaks SQS's query protocol, the image's boto3 1.43
its JSON protocol. To compare the two inside one test run, a client here
can be made to speak the protocol its botocore does not use by default:
botocore loads the service model from a data path put first in its
search path, so pointing it at the other model is all it takes (the query
model is Debian's, /usr/lib/python3/dist-packages/botocore/data; the JSON
model is the image's botocore's, found through the `python3` on PATH).
Both models describe the same operations and members.
"""
import gzip
import os
import shutil
import subprocess
import tempfile
import unittest

QUERY_MODEL_DIR = "/usr/lib/python3/dist-packages/botocore/data/sqs/2012-11-05"
_model_dirs = {}


def native_protocol():
    import botocore.session
    return botocore.session.get_session().get_service_model("sqs").protocol


def _json_model_dir():
    """The botocore data directory holding a JSON-protocol SQS model."""
    import botocore
    candidates = [os.path.join(os.path.dirname(botocore.__file__), "data", "sqs", "2012-11-05")]
    try:
        p = subprocess.run(["python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=60)
        if p.returncode == 0 and p.stdout.strip():
            candidates.append(os.path.join(p.stdout.decode().strip(), "data", "sqs", "2012-11-05"))
    except (OSError, subprocess.TimeoutExpired):
        pass
    for d in candidates:
        for name in ("service-2.json.gz", "service-2.json"):
            f = os.path.join(d, name)
            if not os.path.exists(f):
                continue
            opener = gzip.open if name.endswith(".gz") else open
            with opener(f, "rt") as fh:
                head = fh.read(4000)
            if '"protocol": "json"' in head or '"protocol":"json"' in head:
                return d
    return None


def model_path(protocol):
    """A botocore search path whose sqs model speaks protocol ("query" or
    "json"); raises SkipTest when that model is not on this machine."""
    if protocol in _model_dirs:
        return _model_dirs[protocol]
    src = QUERY_MODEL_DIR if protocol == "query" else _json_model_dir()
    if not src or not os.path.isdir(src):
        raise unittest.SkipTest("no %s-protocol SQS model on this machine" % protocol)
    root = tempfile.mkdtemp(prefix="tidepool-sqs-model-")
    dst = os.path.join(root, "sqs", "2012-11-05")
    os.makedirs(dst)
    for name in os.listdir(src):
        s = os.path.join(src, name)
        if name.endswith(".gz"):
            with gzip.open(s, "rb") as fi, open(os.path.join(dst, name[:-3]), "wb") as fo:
                shutil.copyfileobj(fi, fo)
        elif name.endswith(".json"):
            shutil.copy(s, dst)
    _model_dirs[protocol] = root
    return root


def sqs_client(tp, protocol, access_key="AKIDTIDEPOOL", region="us-east-1", validate=None):
    """A boto3 SQS client for tidepool tp speaking protocol; validate=False
    lets bad input reach the server (the botocores check different things)."""
    if protocol == native_protocol():
        return tp.client("sqs", access_key=access_key, region=region, validate=validate,
                         retries=1)
    import boto3
    import botocore.config
    import botocore.session
    s = botocore.session.get_session()
    s.get_component("data_loader").search_paths.insert(0, model_path(protocol))
    session = boto3.session.Session(botocore_session=s, aws_access_key_id=access_key,
                                    aws_secret_access_key="secret", region_name=region)
    kw = {"retries": {"total_max_attempts": 1}}
    if validate is not None:
        kw["parameter_validation"] = validate
    c = session.client("sqs", endpoint_url=tp.endpoint, config=botocore.config.Config(**kw))
    assert c.meta.service_model.protocol == protocol
    return c
