#!/usr/bin/env python3
"""codegen/gen_shapes — turns a botocore service model into the tp_shape
tables that core/shape.c validates requests against.

    gen_shapes.py --service dynamodb --outdir emulator/dynamodb
        [--model-name dynamodb] [--api-version 2012-08-10] [--model PATH]

Writes <outdir>/shapes.gen.h (one `extern const tp_shape
tp_<service>_input_<Operation>;` per operation) and <outdir>/shapes.gen.c
(a const table for every shape reachable from an operation's input).

The model is read from the installed botocore (data/<model-name>/<version>/
service-2.json[.gz], newest version unless --api-version says otherwise),
or from --model. Output is deterministic: shapes sorted by name, members in
model order, so regenerating from the same model gives the same bytes.

For a rest-json model (Lambda) the files also hold the REST binding the
codec (http/restjson.c) needs: per operation its method, requestUri,
success status and the members that travel outside the JSON body (URI
labels, query string, headers, the payload, the status code), plus the
error shapes' message member ("Message" or "message": AWS's error bodies
use the model's spelling). The raw payload of an input (Invoke's Payload)
is validated as text, since restJson carries it as the body itself and
the codec hands it to the action as a string.

Where AWS's server is known to disagree with the published model, a small
table below (SERVER_OVERRIDES, ENUM_ORDER) says so, with where the evidence
came from; everything else is the model verbatim.
"""
import argparse
import gzip
import json
import os
import re
import sys

# The order AWS prints an enum's values in ("Member must satisfy enum value
# set: [...]") is the server's Java set order, not the model's. Where it has
# been observed to differ from the model, it is listed here. Sources: dynalite
# tests run against real DynamoDB (test/createTable.js, test/putItem.js,
# validations/*.js), and request probes against DynamoDB logged by other
# emulator projects. A shape not listed keeps model order.
ENUM_ORDER = {
    'dynamodb': {
        'ScalarAttributeType': ['B', 'N', 'S'],
        'ReturnValue': ['ALL_NEW', 'UPDATED_OLD', 'ALL_OLD', 'NONE', 'UPDATED_NEW'],
        'ComparisonOperator': ['IN', 'NULL', 'BETWEEN', 'LT', 'NOT_CONTAINS', 'EQ', 'GT',
                               'NOT_NULL', 'NE', 'LE', 'BEGINS_WITH', 'GE', 'CONTAINS'],
        'ConditionalOperator': ['OR', 'AND'],
        'Select': ['SPECIFIC_ATTRIBUTES', 'COUNT', 'ALL_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES'],
        'ProjectionType': ['ALL', 'INCLUDE', 'KEYS_ONLY'],
        'StreamViewType': ['OLD_IMAGE', 'KEYS_ONLY', 'NEW_AND_OLD_IMAGES', 'NEW_IMAGE'],
        'ContributorInsightsMode': ['THROTTLED_KEYS', 'ACCESSED_AND_THROTTLED_KEYS'],
    },
}

# Where the server validates differently from the model. DynamoDB's model
# types every TableName (and the table keys of BatchGetItem/BatchWriteItem
# RequestItems) as TableArn, 1..1024 characters without a pattern, since
# tables can be addressed by ARN; the server still applies the table-name
# rules (3..255 characters, [a-zA-Z0-9_.-]+) to a name: a probe of
# DescribeTable with TableName '' gets both the min-length-3 and the pattern
# errors, and dynalite's batchWriteItem test (run against DynamoDB) gets
# "Map keys must satisfy constraint: [Member must have length less than or
# equal to 255, ...". tidepool addresses tables by name only.
# Key: (containing shape or '*', member name or '<key>', model shape) ->
# shape to use instead.
SERVER_OVERRIDES = {
    'dynamodb': {
        ('*', 'TableName', 'TableArn'): 'TableName',
        ('BatchWriteItemRequestMap', '<key>', 'TableArn'): 'TableName',
        ('BatchGetRequestMap', '<key>', 'TableArn'): 'TableName',
    },
}

# Members the server requires although the model no longer says so.
# CreateTable's AttributeDefinitions and KeySchema became optional in the
# model with GlobalTableSourceArn (a replica copies them); without one,
# DynamoDB answers "Value null at 'attributeDefinitions' failed to satisfy
# constraint: Member must not be null" (dynalite test/createTable.js "null
# attributes", run against DynamoDB). tidepool has no global tables.
REQUIRED_OVERRIDES = {
    'dynamodb': {
        'CreateTableInput': ['AttributeDefinitions', 'KeySchema'],
    },
}

# Members the server checks before collecting constraint failures, each
# alone (core/shape.h TP_MEMBER_PRESENCE): DynamoDB's table actions answer a
# missing TableName with "The parameter 'TableName' is required but was not
# present in the request" and a too short or long one with "TableName must
# be at least 3 characters long and at most 255 characters long" (dynalite
# test/createTable.js, describeTable.js, deleteTable.js, updateTable.js, run
# against DynamoDB); the item actions keep the collected "Member must not be
# null" / length messages.
PRESENCE_OVERRIDES = {
    'dynamodb': {
        'CreateTableInput': ['TableName'],
        'DescribeTableInput': ['TableName'],
        'DeleteTableInput': ['TableName'],
        'UpdateTableInput': ['TableName'],
    },
}

# The synthetic shape a rest-json blob payload is checked as (see above).
RAW_PAYLOAD_SHAPE = 'RawPayloadText'

REST_LOCATION = {
    'uri': 'TP_REST_URI',
    'querystring': 'TP_REST_QUERY',
    'header': 'TP_REST_HEADER',
    'statusCode': 'TP_REST_STATUS',
}

TYPE_ENUM = {
    'structure': 'TP_SH_STRUCTURE',
    'list': 'TP_SH_LIST',
    'map': 'TP_SH_MAP',
    'string': 'TP_SH_STRING',
    'integer': 'TP_SH_INTEGER',
    'long': 'TP_SH_LONG',
    'double': 'TP_SH_DOUBLE',
    # Coral deserialises these as the nearest Java type we model; no
    # DynamoDB/SQS/Kinesis/Lambda input uses them today.
    'float': 'TP_SH_DOUBLE',
    'short': 'TP_SH_INTEGER',
    'byte': 'TP_SH_INTEGER',
    'boolean': 'TP_SH_BOOLEAN',
    'blob': 'TP_SH_BLOB',
    'timestamp': 'TP_SH_TIMESTAMP',
}


def find_model(model_name, api_version):
    import botocore  # only needed when --model is not given
    root = os.path.join(os.path.dirname(botocore.__file__), 'data', model_name)
    if not os.path.isdir(root):
        sys.exit('gen_shapes: botocore has no model named %r' % model_name)
    versions = sorted(v for v in os.listdir(root) if os.path.isdir(os.path.join(root, v)))
    if api_version is None:
        # The newest version that has a service model (older dirs may hold
        # only examples or endpoint rules).
        versions = [v for v in versions
                    if any(f.startswith('service-2.json') for f in os.listdir(os.path.join(root, v)))]
        if not versions:
            sys.exit('gen_shapes: no service-2 model under %s' % root)
        api_version = versions[-1]
    d = os.path.join(root, api_version)
    for f in ('service-2.json.gz', 'service-2.json'):
        if os.path.exists(os.path.join(d, f)):
            rel = 'data/%s/%s/%s' % (model_name, api_version, f)
            return os.path.join(d, f), 'botocore %s %s' % (botocore.__version__, rel)
    sys.exit('gen_shapes: no service-2 model in %s' % d)


def load(path):
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8') as f:
        return json.load(f)


def c_ident(name):
    return re.sub(r'[^A-Za-z0-9_]', '_', name)


def c_str(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '\\':
            out.append('\\\\')
        elif ch == '"':
            out.append('\\"')
        elif ch == '?':
            out.append('\\?')  # no trigraphs
        elif 0x20 <= o < 0x7f:
            out.append(ch)
        else:
            # UTF-8 bytes as octal escapes: octal never swallows a following
            # hex digit the way \x does.
            for b in ch.encode('utf-8'):
                out.append('\\%03o' % b)
    out.append('"')
    return ''.join(out)


def c_double(v):
    r = repr(float(v))
    if r in ('inf', '-inf', 'nan'):
        sys.exit('gen_shapes: bound %r cannot be a C constant' % v)
    return r


class Generator:
    def __init__(self, model, service, source):
        self.model = model
        self.service = service
        self.source = source
        self.shapes = model['shapes']
        self.enum_order = ENUM_ORDER.get(service, {})
        self.overrides = SERVER_OVERRIDES.get(service, {})
        self.required = REQUIRED_OVERRIDES.get(service, {})
        self.presence = PRESENCE_OVERRIDES.get(service, {})
        self.rest = model['metadata'].get('protocol') == 'rest-json'
        if self.rest:
            self.add_raw_payload_overrides()

    def add_raw_payload_overrides(self):
        # A blob payload of an input is the raw body; the action sees it as
        # a string member, so it is checked as one (not as base64).
        self.overrides = dict(self.overrides)
        for op in self.model['operations'].values():
            if 'input' not in op:
                continue
            name = op['input']['shape']
            shape = self.shapes[name]
            pm = shape.get('payload')
            if pm and self.shapes[shape['members'][pm]['shape']]['type'] == 'blob':
                self.shapes.setdefault(RAW_PAYLOAD_SHAPE, {'type': 'string'})
                self.overrides[(name, pm, shape['members'][pm]['shape'])] = RAW_PAYLOAD_SHAPE

    def member_shape(self, container, member_name, shape_name):
        for key in ((container, member_name, shape_name), ('*', member_name, shape_name)):
            if key in self.overrides:
                return self.overrides[key]
        return shape_name

    def key_shape(self, name):
        return self.member_shape(name, '<key>', self.shapes[name]['key']['shape'])

    def required_members(self, name):
        return set(self.shapes[name].get('required', [])) | set(self.required.get(name, []))

    def children(self, name):
        s = self.shapes[name]
        t = s['type']
        if t == 'structure':
            return [self.member_shape(name, m, d['shape']) for m, d in s.get('members', {}).items()]
        if t == 'list':
            return [s['member']['shape']]
        if t == 'map':
            return [self.key_shape(name), s['value']['shape']]
        return []

    def reachable(self):
        seen = set()
        stack = [op['input']['shape'] for op in self.model['operations'].values() if 'input' in op]
        while stack:
            n = stack.pop()
            if n in seen:
                continue
            if n not in self.shapes:
                sys.exit('gen_shapes: model references unknown shape %r' % n)
            t = self.shapes[n]['type']
            if t not in TYPE_ENUM:
                sys.exit('gen_shapes: shape %s has type %r, which tp_shape cannot express' % (n, t))
            seen.add(n)
            stack.extend(self.children(n))
        return sorted(seen)

    def enums(self, name):
        vals = self.shapes[name].get('enum')
        if not vals:
            return None
        order = self.enum_order.get(name)
        if order is None:
            return list(vals)
        if sorted(order) != sorted(vals):
            # The model grew or lost a value since the order was observed:
            # keep the observed order for the values still there and append
            # new ones in model order, and say so.
            print('gen_shapes: warning: enum %s differs from the recorded AWS order' % name,
                  file=sys.stderr)
            kept = [v for v in order if v in vals]
            return kept + [v for v in vals if v not in kept]
        return list(order)

    def initializer(self, name, display_name=None):
        s = self.shapes[name]
        t = s['type']
        ident = c_ident(name)
        fields = ['.name = %s' % c_str(display_name or name), '.type = %s' % TYPE_ENUM[t]]
        if 'min' in s:
            fields.append('.has_min = 1, .min = %s' % c_double(s['min']))
        if 'max' in s:
            fields.append('.has_max = 1, .max = %s' % c_double(s['max']))
        if t == 'string' and 'pattern' in s:
            fields.append('.pattern = %s' % c_str(s['pattern']))
        if t == 'string' and s.get('enum'):
            fields.append('.enums = en_%s' % ident)
        if t == 'structure':
            n = len(s.get('members', {}))
            if n:
                fields.append('.members = mb_%s, .nmembers = %d' % (ident, n))
        elif t == 'list':
            fields.append('.member = &sh_%s' % c_ident(s['member']['shape']))
        elif t == 'map':
            fields.append('.key = &sh_%s, .value = &sh_%s' % (
                c_ident(self.key_shape(name)), c_ident(s['value']['shape'])))
        return '{\n    ' + ',\n    '.join(fields) + ',\n}'

    def ops(self):
        return sorted(self.model['operations'].items())

    def guard(self):
        return 'TP_%s_SHAPES_GEN_H' % c_ident(self.service).upper()

    def header(self):
        lines = [
            '/* %s/shapes.gen.h — GENERATED by emulator/codegen/gen_shapes.py; do not edit.' % self.service,
            ' * Source: %s (uid %s).' % (self.source, self.model['metadata'].get('uid', '?')),
            ' * Regenerate: cmake --build <dir> --target regen-shapes */',
            '#ifndef %s' % self.guard(),
            '#define %s' % self.guard(),
            '',
            '#include "core/shape.h"',
        ]
        if self.rest:
            lines.append('#include "http/restjson.h"')
        lines.append('')
        for op, _ in self.ops():
            lines.append('extern const tp_shape tp_%s_input_%s;' % (self.service, c_ident(op)))
        if self.rest:
            lines += ['', '/* The REST binding of every operation (http/restjson.h). */',
                      'extern const tp_rest_api tp_%s_rest;' % self.service]
        lines += ['', '#endif', '']
        return '\n'.join(lines)

    def source_file(self):
        names = self.reachable()
        # Only shapes that another shape points at need a static object; an
        # operation's input is emitted once, as its exported symbol.
        referenced = set()
        for n in names:
            referenced.update(self.children(n))
        out = [
            '/* %s/shapes.gen.c — GENERATED by emulator/codegen/gen_shapes.py; do not edit.' % self.service,
            ' * Source: %s (uid %s).' % (self.source, self.model['metadata'].get('uid', '?')),
            ' * Every shape reachable from an operation input, as core/shape.h tables. */',
            '#include <stddef.h>',
            '',
            '#include "core/shape.h"',
            '#include "shapes.gen.h"',
            '',
            '/* Forward declarations: shapes refer to each other (AttributeValue',
            ' * holds maps and lists of AttributeValue). */',
        ]
        for n in names:
            if n in referenced:
                out.append('static const tp_shape sh_%s;' % c_ident(n))
        out.append('')
        for n in names:
            s = self.shapes[n]
            ident = c_ident(n)
            vals = self.enums(n) if s['type'] == 'string' else None
            if vals:
                out.append('static const char *const en_%s[] = {%s, NULL};' % (
                    ident, ', '.join(c_str(v) for v in vals)))
            if s['type'] == 'structure' and s.get('members'):
                req = self.required_members(n)
                out.append('static const tp_member mb_%s[] = {' % ident)
                for m, d in s['members'].items():
                    wire = d.get('locationName', m)
                    target = self.member_shape(n, m, d['shape'])
                    flag = 2 if m in self.presence.get(n, []) else 1 if m in req else 0
                    out.append('    {%s, &sh_%s, %d},' % (c_str(wire), c_ident(target), flag))
                out.append('};')
            if n in referenced:
                out.append('static const tp_shape sh_%s = %s;' % (ident, self.initializer(n)))
            if out[-1] != '':
                out.append('')
        out.append('/* Operation inputs (an operation without input gets an empty structure). */')
        for op, d in self.ops():
            sym = 'tp_%s_input_%s' % (self.service, c_ident(op))
            if 'input' in d:
                out.append('const tp_shape %s = %s;' % (sym, self.initializer(d['input']['shape'])))
            else:
                out.append('const tp_shape %s = {.name = %s, .type = TP_SH_STRUCTURE};' % (
                    sym, c_str(op + 'Input')))
        out.append('')
        if self.rest:
            out += self.rest_tables()
        return '\n'.join(out)

    def rest_members(self, shape_name):
        """Members that travel outside the JSON body, in model order."""
        if not shape_name:
            return []
        s = self.shapes[shape_name]
        rows = []
        for m, d in s.get('members', {}).items():
            t = self.shapes[d['shape']]['type']
            if s.get('payload') == m:
                loc = 'TP_REST_PAYLOAD'
            elif d.get('location') in REST_LOCATION:
                loc = REST_LOCATION[d['location']]
            else:
                continue
            wire = d.get('locationName', m)
            rows.append('{%s, %s, %s, %s}' % (c_str(m), c_str(wire), loc, TYPE_ENUM[t]))
        return rows

    def rest_tables(self):
        out = ['/* --- REST binding (rest-json): method, URI, status, located members --- */']
        ops = []
        for op, d in self.ops():
            ident = c_ident(op)
            fields = []
            for side, key in (('in', 'input'), ('out', 'output')):
                rows = self.rest_members(d.get(key, {}).get('shape'))
                if rows:
                    out.append('static const tp_rest_member rm_%s_%s[] = {' % (side, ident))
                    out += ['    %s,' % r for r in rows]
                    out.append('};')
                    fields.append('.%s = rm_%s_%s, .n%s = %d' % (side, side, ident, side, len(rows)))
            http = d['http']
            head = ['.name = %s' % c_str(op), '.method = %s' % c_str(http['method']),
                    '.uri = %s' % c_str(http['requestUri']),
                    '.status = %d' % http.get('responseCode', 200)]
            if 'output' in d:
                head.append('.has_output = 1')
            ops.append('    {' + ', '.join(head + fields) + '},')
        out.append('')
        out.append('static const tp_rest_op rest_ops[] = {')
        out += ops
        out.append('};')
        out.append('')
        out.append('/* Error shapes and the member their message travels in. */')
        out.append('static const tp_rest_error rest_errors[] = {')
        for n, s in sorted(self.shapes.items()):
            if not s.get('exception'):
                continue
            msg = next((m for m in s.get('members', {}) if m.lower() == 'message'), 'message')
            status = s.get('error', {}).get('httpStatusCode', 400)
            out.append('    {%s, %s, %d},' % (c_str(n), c_str(msg), status))
        out.append('};')
        out.append('')
        out.append('const tp_rest_api tp_%s_rest = {' % self.service)
        out.append('    .service = %s,' % c_str(self.service))
        out.append('    .ops = rest_ops,')
        out.append('    .nops = sizeof rest_ops / sizeof rest_ops[0],')
        out.append('    .errors = rest_errors,')
        out.append('    .nerrors = sizeof rest_errors / sizeof rest_errors[0],')
        out.append('};')
        out.append('')
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--service', required=True,
                    help='symbol prefix: dynamodb, dynamodbstreams, sqs, kinesis, lambda')
    ap.add_argument('--outdir', required=True)
    ap.add_argument('--model-name', help='botocore model directory (default: --service)')
    ap.add_argument('--api-version', help='model version directory (default: newest)')
    ap.add_argument('--model', help='explicit path to service-2.json[.gz]')
    a = ap.parse_args()
    if not re.fullmatch(r'[a-z][a-z0-9_]*', a.service):
        sys.exit('gen_shapes: --service must be a lower-case C identifier')
    if a.model:
        path, source = a.model, os.path.basename(a.model)
    else:
        path, source = find_model(a.model_name or a.service, a.api_version)
    gen = Generator(load(path), a.service, source)
    os.makedirs(a.outdir, exist_ok=True)
    for fname, text in (('shapes.gen.h', gen.header()), ('shapes.gen.c', gen.source_file())):
        with open(os.path.join(a.outdir, fname), 'w', encoding='utf-8', newline='\n') as f:
            f.write(text)


if __name__ == '__main__':
    main()
