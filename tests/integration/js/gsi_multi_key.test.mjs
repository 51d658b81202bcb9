// gsi_multi_key.test.mjs — the JS SDK v3 on a global secondary index with a
// multi-attribute key: = on every HASH attribute, a prefix of the RANGE
// attributes with a range condition on the last, pages that carry every key
// attribute.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import { CreateTableCommand, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';

import { Tidepool, assertAwsError, rejection, stopChecked } from './tidepool.mjs';

const tp = new Tidepool();
let ddb;

before(async () => {
  await tp.start();
  ddb = tp.client({ maxAttempts: 1 });
});

after(async () => {
  ddb?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
  const S = (n) => ({ AttributeName: n, AttributeType: 'S' });
  await ddb.send(new CreateTableCommand({
    TableName: 'events', BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [S('id'), S('tenant'), S('site'), S('dt'), { AttributeName: 'seq', AttributeType: 'N' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [{
      IndexName: 'byTenantSite', Projection: { ProjectionType: 'ALL' },
      KeySchema: [{ AttributeName: 'tenant', KeyType: 'HASH' }, { AttributeName: 'site', KeyType: 'HASH' },
        { AttributeName: 'dt', KeyType: 'RANGE' }, { AttributeName: 'seq', KeyType: 'RANGE' }],
    }],
  }));
  const rows = [['e1', 'eu', '2024-01-01', 3], ['e2', 'eu', '2024-01-01', 1], ['e3', 'eu', '2024-01-02', 2],
    ['e4', 'us', '2024-01-01', 1]];
  for (const [id, site, dt, seq] of rows) {
    await ddb.send(new PutItemCommand({ TableName: 'events', Item: {
      id: { S: id }, tenant: { S: 'acme' }, site: { S: site }, dt: { S: dt }, seq: { N: String(seq) },
    } }));
  }
});

function query(kce, values, extra = {}) {
  const vals = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'number' ? { N: String(v) } : { S: v }]));
  return ddb.send(new QueryCommand({ TableName: 'events', IndexName: 'byTenantSite', KeyConditionExpression: kce,
    ExpressionAttributeValues: vals, ...extra }));
}

test('a prefix of the range attributes, the last one a range', async () => {
  let out = await query('tenant = :t AND site = :s', { ':t': 'acme', ':s': 'eu' });
  assert.deepEqual(out.Items.map((i) => i.id.S), ['e2', 'e1', 'e3']);
  out = await query('tenant = :t AND site = :s AND dt = :d AND seq > :q', { ':t': 'acme', ':s': 'eu', ':d': '2024-01-01', ':q': 1 });
  assert.deepEqual(out.Items.map((i) => i.id.S), ['e1']);
  const ids = [];
  let start;
  do {
    out = await query('tenant = :t AND site = :s', { ':t': 'acme', ':s': 'eu' }, { Limit: 1, ExclusiveStartKey: start });
    ids.push(...out.Items.map((i) => i.id.S));
    start = out.LastEvaluatedKey;
    if (start) assert.deepEqual(Object.keys(start).sort(), ['dt', 'id', 'seq', 'site', 'tenant']);
  } while (start);
  assert.deepEqual(ids, ['e2', 'e1', 'e3']);
});

test('every HASH attribute needs =', async () => {
  const e = await rejection(query('tenant = :t', { ':t': 'acme' }));
  assertAwsError(e, 'ValidationException', 'Query condition missed key schema element: site');
});
