#!/usr/bin/env python3
"""codegen/gen_query — the SQS query protocol's tables for http/query.c.

    gen_query.py [--json-model PATH] [--query-model PATH] [--out PATH]

SQS speaks two protocols with one set of operations. The current botocore
model (awsJson 1.0, awsQueryCompatible) names the operations, members and
types that the actions see; the older query model (Debian's botocore 1.29)
adds what the query protocol needs: each member's query key / XML element
name (locationName), which lists and maps are flattened, the names of a
map's key and value, each operation's result wrapper, and each error shape's
query code, fault and HTTP status. This script joins the two into one
const table per shape (emulator/http/query_sqs.gen.c, types in query.h).

Operations or members the query model does not know (they came after it:
the message move tasks, ReceiveMessage's MessageSystemAttributeNames, the
KMS errors) follow the same conventions the query model uses for their
siblings; the few names that cannot be derived are in QUERY_NAMES and
QUERY_ERRORS below, each marked with where it comes from. Output is
deterministic: shapes sorted by name, members in model order.
"""
import argparse
import gzip
import json
import os
import sys

DEBIAN_MODEL = '/usr/lib/python3/dist-packages/botocore/data/sqs/2012-11-05/service-2.json'

# Members of the current model without a query-model counterpart: (shape,
# member) -> (element name, flattened). Element names for flattened lists
# follow the query model's habit of naming each element in the singular
# (AttributeNames -> AttributeName); unverified against the live service.
QUERY_NAMES = {
    ('ReceiveMessageRequest', 'MessageSystemAttributeNames'): 'MessageSystemAttributeName',
    # the API reference's ListMessageMoveTasks response example
    ('ListMessageMoveTasksResult', 'Results'): 'ListMessageMoveTasksResultEntry',
}

# Error shapes the query model has no `error` block for: shape -> (query code,
# HTTP status). Sender fault for all of them. Codes come from the SQS API
# reference's error lists (KMS errors keep KMS's own names); unverified
# where marked.
QUERY_ERRORS = {
    'InvalidAddress': ('InvalidAddress', 404),                        # unverified
    'InvalidAttributeName': ('InvalidAttributeName', 400),
    'InvalidAttributeValue': ('InvalidAttributeValue', 400),
    'InvalidIdFormat': ('InvalidIdFormat', 400),
    'InvalidMessageContents': ('InvalidMessageContents', 400),
    'InvalidSecurity': ('InvalidSecurity', 403),                      # unverified
    'KmsAccessDenied': ('KMS.AccessDeniedException', 400),            # unverified
    'KmsDisabled': ('KMS.DisabledException', 400),                    # unverified
    'KmsInvalidKeyUsage': ('KMS.InvalidKeyUsageException', 400),      # unverified
    'KmsInvalidState': ('KMS.InvalidStateException', 400),            # unverified
    'KmsNotFound': ('KMS.NotFoundException', 400),                    # unverified
    'KmsOptInRequired': ('KMS.OptInRequired', 403),                   # unverified
    'KmsThrottled': ('KMS.ThrottlingException', 400),                 # unverified
    'ReceiptHandleIsInvalid': ('ReceiptHandleIsInvalid', 404),        # unverified status
    'RequestThrottled': ('RequestThrottled', 403),                    # unverified
    'ResourceNotFoundException': ('ResourceNotFoundException', 404),  # unverified
}

KINDS = {
    'string': 'TP_Q_STRING', 'integer': 'TP_Q_INTEGER', 'long': 'TP_Q_LONG',
    'boolean': 'TP_Q_BOOLEAN', 'blob': 'TP_Q_BLOB', 'double': 'TP_Q_DOUBLE',
    'float': 'TP_Q_DOUBLE', 'timestamp': 'TP_Q_TIMESTAMP', 'structure': 'TP_Q_STRUCT',
    'list': 'TP_Q_LIST', 'map': 'TP_Q_MAP',
}


def load(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8') as f:
        return json.load(f)


def current_model_path():
    import botocore
    d = os.path.join(os.path.dirname(botocore.__file__), 'data', 'sqs', '2012-11-05')
    for name in ('service-2.json.gz', 'service-2.json'):
        if os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    sys.exit('no SQS model under %s' % d)


def c_str(s):
    return 'NULL' if s is None else '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')


class Gen:
    def __init__(self, jm, qm):
        self.J = jm['shapes']
        self.Q = qm['shapes']
        self.jops = jm['operations']
        self.qops = qm['operations']
        self.xmlns = qm['metadata']['xmlNamespace']
        self.version = qm['metadata']['apiVersion']
        self.used = set()

    def qshape(self, name):
        return self.Q.get(name, {})

    def flattened(self, shape_name, member_ref_q):
        q = self.qshape(shape_name)
        if 'flattened' in member_ref_q:
            return bool(member_ref_q['flattened'])
        if q:
            return bool(q.get('flattened'))
        return bool(self.J[shape_name].get('flattened'))

    def reach(self, name):
        if name in self.used:
            return
        self.used.add(name)
        s = self.J[name]
        if s['type'] == 'structure':
            for m in s['members'].values():
                self.reach(m['shape'])
        elif s['type'] == 'list':
            self.reach(s['member']['shape'])
        elif s['type'] == 'map':
            self.reach(s['key']['shape'])
            self.reach(s['value']['shape'])

    def member_wire(self, parent, mname, mref):
        """(wire name, flattened) of a structure member: the key it travels
        under in a query form and the element it is written as in XML."""
        shape = self.J[mref['shape']]
        qparent = self.qshape(parent).get('members', {})
        qref = qparent.get(mname)
        if qref is None:
            if (parent, mname) in QUERY_NAMES:
                return QUERY_NAMES[(parent, mname)], True
            if shape['type'] in ('list', 'map') and not self.qshape(mref['shape']) \
                    and shape.get('flattened'):
                sys.exit('%s.%s: a flattened %s the query model does not name; add it to '
                         'QUERY_NAMES' % (parent, mname, shape['type']))
            qref = {}
        # botocore merges the shape's own traits under the member's
        wire = qref.get('locationName') or self.qshape(mref['shape']).get('locationName') or mname
        flat = False
        if shape['type'] in ('list', 'map'):
            flat = self.flattened(mref['shape'], qref)
            if shape['type'] == 'list' and flat:
                # botocore: a flattened list whose member has a locationName
                # travels under that name instead of the member's.
                lm = self.qshape(mref['shape']).get('member', {})
                if lm.get('locationName'):
                    wire = lm['locationName']
        return wire, flat

    def emit(self, out):
        names = sorted(self.used)
        w = out.write
        w('/* GENERATED by emulator/codegen/gen_query.py from the botocore SQS models\n'
          ' * (current JSON model + the query model); do not edit. */\n')
        w('#include "query.h"\n\n')
        for n in names:
            w('static const tp_qshape q_%s;\n' % n)
        w('\n')
        for n in names:
            s = self.J[n]
            t = s['type']
            if t == 'structure':
                members = list(s['members'].items())
                if members:
                    w('static const tp_qmember q_%s_members[] = {\n' % n)
                    for mname, mref in members:
                        wire, flat = self.member_wire(n, mname, mref)
                        w('    {.name = %s, .wire = %s, .flattened = %d, .shape = &q_%s},\n'
                          % (c_str(mname), c_str(wire), int(flat), mref['shape']))
                    w('};\n')
                w('static const tp_qshape q_%s = {.name = %s, .kind = TP_Q_STRUCT' % (n, c_str(n)))
                if members:
                    w(', .members = q_%s_members, .nmembers = %d' % (n, len(members)))
                w('};\n')
            elif t == 'list':
                qm = self.qshape(n).get('member', {})
                item = qm.get('locationName', 'member')
                w('static const tp_qshape q_%s = {.name = %s, .kind = TP_Q_LIST, .item = %s, '
                  '.member = &q_%s};\n' % (n, c_str(n), c_str(item), s['member']['shape']))
            elif t == 'map':
                q = self.qshape(n)
                kn = q.get('key', {}).get('locationName', 'key')
                vn = q.get('value', {}).get('locationName', 'value')
                w('static const tp_qshape q_%s = {.name = %s, .kind = TP_Q_MAP, .key_name = %s, '
                  '.value_name = %s, .key = &q_%s, .value = &q_%s};\n'
                  % (n, c_str(n), c_str(kn), c_str(vn), s['key']['shape'], s['value']['shape']))
            else:
                w('static const tp_qshape q_%s = {.name = %s, .kind = %s};\n'
                  % (n, c_str(n), KINDS[t]))
        w('\nstatic const tp_qop ops[] = {\n')
        for op in sorted(self.jops):
            o = self.jops[op]
            inp = o.get('input', {}).get('shape')
            outp = o.get('output', {}).get('shape')
            wrapper = self.qops.get(op, {}).get('output', {}).get('resultWrapper')
            if outp and not wrapper:
                wrapper = op + 'Result'
            w('    {.name = %s, .input = %s, .output = %s, .result = %s},\n'
              % (c_str(op), '&q_' + inp if inp else 'NULL', '&q_' + outp if outp else 'NULL',
                 c_str(wrapper if outp else None)))
        w('};\n\nstatic const tp_qerror errors[] = {\n')
        for n in sorted(k for k, v in self.J.items() if v.get('exception')):
            qe = self.qshape(n).get('error')
            if qe:
                code, status, sender = qe['code'], qe.get('httpStatusCode', 400), \
                    qe.get('senderFault', True)
            elif n in QUERY_ERRORS:
                (code, status), sender = QUERY_ERRORS[n], True
            else:
                code, status, sender = n, 400, True
            w('    {.code = %s, .query_code = %s, .sender = %d, .status = %d},\n'
              % (c_str(n), c_str(code), int(sender), status))
        w('};\n\n')
        w('const tp_query_api tp_sqs_query_api = {\n'
          '    .xmlns = %s,\n    .version = %s,\n    .ops = ops,\n'
          '    .nops = sizeof ops / sizeof ops[0],\n    .errors = errors,\n'
          '    .nerrors = sizeof errors / sizeof errors[0],\n};\n'
          % (c_str(self.xmlns), c_str(self.version)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json-model')
    ap.add_argument('--query-model', default=DEBIAN_MODEL)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument('--out', default=os.path.join(here, '..', 'http', 'query_sqs.gen.c'))
    a = ap.parse_args()
    g = Gen(load(a.json_model or current_model_path()), load(a.query_model))
    for op in g.jops.values():
        for k in ('input', 'output'):
            if k in op:
                g.reach(op[k]['shape'])
    with open(a.out, 'w') as f:
        g.emit(f)


if __name__ == '__main__':
    main()
