// throttling_reasons.test.mjs — ThrottlingReasons through the AWS SDK for
// JavaScript v3: each throttle the SDK parses names the reason and the
// table's or index's ARN (issue 17).
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import {
  CreateTableCommand, DescribeTableCommand, ProvisionedThroughputExceededException, PutItemCommand,
} from '@aws-sdk/client-dynamodb';

import { Tidepool, rejection, stopChecked } from './tidepool.mjs';

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
});

function item(pk, size, extra = {}) {
  const pad = size - ('pk'.length + pk.length + 'data'.length);
  return { pk: { S: pk }, data: { S: 'x'.repeat(pad) }, ...extra };
}

async function createProvisioned(name, gsi) {
  const defs = [{ AttributeName: 'pk', AttributeType: 'S' }];
  const extra = {};
  if (gsi) {
    defs.push({ AttributeName: 'user', AttributeType: 'S' });
    extra.GlobalSecondaryIndexes = [{
      IndexName: gsi, KeySchema: [{ AttributeName: 'user', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'ALL' },
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
    }];
  }
  await ddb.send(new CreateTableCommand({
    TableName: name, AttributeDefinitions: defs,
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    ProvisionedThroughput: { ReadCapacityUnits: 100, WriteCapacityUnits: gsi ? 100 : 1 },
    ...extra,
  }));
  return (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
}

test('a table write throttle names TableWriteProvisionedThroughputExceeded', async () => {
  const t = await createProvisioned('orders');
  for (let i = 0; i < 3; i++) {
    await ddb.send(new PutItemCommand({ TableName: 'orders', Item: item(`d${i}`, 100 * 1024) }));
  }
  const e = await rejection(ddb.send(new PutItemCommand({
    TableName: 'orders', Item: { pk: { S: 'a' } },
  })));
  assert.ok(e instanceof ProvisionedThroughputExceededException);
  assert.deepEqual(e.ThrottlingReasons, [
    { reason: 'TableWriteProvisionedThroughputExceeded', resource: t.TableArn }]);
});

test('a GSI write throttle names IndexWriteProvisionedThroughputExceeded and the index ARN', async () => {
  const t = await createProvisioned('orders', 'byUser');
  for (let i = 0; i < 3; i++) {
    await ddb.send(new PutItemCommand({
      TableName: 'orders', Item: item(`d${i}`, 100 * 1024 - 7, { user: { S: 'u' } }),
    }));
  }
  const e = await rejection(ddb.send(new PutItemCommand({
    TableName: 'orders', Item: { pk: { S: 'x' }, user: { S: 'u' } },
  })));
  assert.ok(e instanceof ProvisionedThroughputExceededException);
  assert.deepEqual(e.ThrottlingReasons, [
    { reason: 'IndexWriteProvisionedThroughputExceeded',
      resource: t.GlobalSecondaryIndexes[0].IndexArn }]);
});

test('a hot key of an on-demand table throttles with TableWriteKeyRangeThroughputExceeded', async () => {
  // partitions scaled down by configuration: 100 WCU each, 1 s of burst
  const small = new Tidepool({ config: { capacity: { partitions: { write_units: 100, burst_seconds: 1 } } } });
  await small.start();
  const c = small.client({ maxAttempts: 1 });
  try {
    await c.send(new CreateTableCommand({
      TableName: 'hot', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST',
    }));
    const arn = (await c.send(new DescribeTableCommand({ TableName: 'hot' }))).Table.TableArn;
    let refused = null;
    for (let i = 0; i < 300 && !refused; i++) {
      try {
        await c.send(new PutItemCommand({ TableName: 'hot', Item: { pk: { S: 'hotkey' } } }));
      } catch (e) {
        refused = e;
      }
      await small.advance(5);   // 200 writes/s to one key of a 100 WCU partition
    }
    assert.ok(refused instanceof ProvisionedThroughputExceededException);
    assert.deepEqual(refused.ThrottlingReasons, [
      { reason: 'TableWriteKeyRangeThroughputExceeded', resource: arn }]);
  } finally {
    c.destroy();
    await stopChecked(small);
  }
});
