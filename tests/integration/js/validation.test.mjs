// validation.test.mjs — DynamoDB's validation order and limits through the
// AWS SDK for JavaScript v3: a missing TableName of the table actions, NOT
// NOT in a filter, global secondary index key size limits, a parallel
// Scan's start key from another segment, and serve --capacity off.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  CreateTableCommand, DescribeTableCommand, PutItemCommand, ScanCommand,
} from '@aws-sdk/client-dynamodb';

import { Tidepool, rejection, assertAwsError, stopChecked } from './tidepool.mjs';

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

function gsiTable(name) {
  return ddb.send(new CreateTableCommand({
    TableName: name, BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'gh', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [{ IndexName: 'byG', KeySchema: [{ AttributeName: 'gh', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'KEYS_ONLY' } }],
  }));
}

describe('validation order (SDK v3)', () => {
  test('DescribeTable without TableName is refused before anything else', async () => {
    const e = await rejection(ddb.send(new DescribeTableCommand({})));
    assertAwsError(e, 'ValidationException',
      "The parameter 'TableName' is required but was not present in the request");
  });

  test('NOT NOT in a FilterExpression', async () => {
    await gsiTable('notnot');
    await ddb.send(new PutItemCommand({ TableName: 'notnot', Item: { pk: { S: 'a' }, f: { S: '1' } } }));
    await ddb.send(new PutItemCommand({ TableName: 'notnot', Item: { pk: { S: 'b' } } }));
    const out = await ddb.send(new ScanCommand({ TableName: 'notnot', FilterExpression: 'NOT NOT attribute_exists(f)' }));
    assert.deepEqual(out.Items.map((i) => i.pk.S), ['a']);
  });

  test('a GSI partition key over 2048 bytes is refused and nothing is written', async () => {
    await gsiTable('big');
    const e = await rejection(ddb.send(new PutItemCommand({
      TableName: 'big', Item: { pk: { S: 'a' }, gh: { S: 'x'.repeat(2049) } } })));
    assertAwsError(e, 'ValidationException',
      'One or more parameter values were invalid: Size limit exceeded for Index Key gh Actual Size: '
      + '2049 bytes Max Size: 2048 bytes IndexName: byG');
    const out = await ddb.send(new ScanCommand({ TableName: 'big', Select: 'COUNT' }));
    assert.equal(out.Count, 0);
  });

  test('a Scan start key from another segment', async () => {
    await gsiTable('seg');
    for (let i = 0; i < 20; i++)
      await ddb.send(new PutItemCommand({ TableName: 'seg', Item: { pk: { S: `k${i}` } } }));
    const s0 = await ddb.send(new ScanCommand({ TableName: 'seg', Segment: 0, TotalSegments: 2 }));
    assert.ok(s0.Items.length > 0);
    const e = await rejection(ddb.send(new ScanCommand({
      TableName: 'seg', Segment: 1, TotalSegments: 2, ExclusiveStartKey: s0.Items[0] })));
    assertAwsError(e, 'ValidationException',
      'The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey '
      + 'with correct Segment. TotalSegments: 2 Segment: 1');
  });
});

describe('serve --capacity off (SDK v3)', () => {
  const off = new Tidepool({
    args: ['--capacity', 'off'],
    config: { capacity: { burst_seconds: 0, start_full: false } },
  });
  let c;
  before(async () => {
    await off.start();
    c = off.client({ maxAttempts: 1 });
  });
  after(async () => {
    c?.destroy();
    await stopChecked(off);
  });

  test('writes past a 1 WCU table are not throttled and still report capacity', async () => {
    await c.send(new CreateTableCommand({
      TableName: 'tiny', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
    }));
    for (let i = 0; i < 20; i++) {
      const out = await c.send(new PutItemCommand({
        TableName: 'tiny', Item: { pk: { S: `k${i}` } }, ReturnConsumedCapacity: 'TOTAL' }));
      assert.equal(out.ConsumedCapacity.CapacityUnits, 1);
    }
  });
});
