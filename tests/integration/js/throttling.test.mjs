// throttling.test.mjs — provisioned throughput through the AWS SDK for
// JavaScript v3: a 5 WCU table takes its 1500 WCU of burst, then PutItem
// rejects with ProvisionedThroughputExceededException (AWS's message, a
// retryable throttle for the SDK); the SDK's own retries recover once the
// virtual clock has moved.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import {
  CreateTableCommand, ProvisionedThroughputExceededException, PutItemCommand,
} from '@aws-sdk/client-dynamodb';

import { Tidepool, assertAwsError, rejection, stopChecked } from './tidepool.mjs';

const TABLE_MSG = 'The level of configured provisioned throughput for the table was exceeded. '
  + 'Consider increasing your provisioning level with the UpdateTable API.';

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
  await ddb.send(new CreateTableCommand({
    TableName: 'orders',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
  }));
  // 15 puts of exactly 100 KB (100 WCU each) drain the 300 s burst.
  for (let i = 0; i < 15; i++) {
    const pk = `drain${String(i).padStart(2, '0')}`;
    const pad = 100 * 1024 - ('pk'.length + pk.length + 'data'.length);
    await ddb.send(new PutItemCommand({
      TableName: 'orders', Item: { pk: { S: pk }, data: { S: 'x'.repeat(pad) } },
    }));
  }
});

test('a throttled PutItem rejects with ProvisionedThroughputExceededException', async () => {
  const e = await rejection(ddb.send(new PutItemCommand({
    TableName: 'orders', Item: { pk: { S: 'a' } },
  })));
  assertAwsError(e, 'ProvisionedThroughputExceededException', TABLE_MSG);
  assert.ok(e instanceof ProvisionedThroughputExceededException);
  // The SDK's model does not set $retryable on this exception; its retry
  // strategy treats the code as a throttle (next test shows the retry).
  assert.equal(e.$fault, 'client');
  assert.equal(e.$metadata.attempts, 1);
  await tp.advance(1000);
  await ddb.send(new PutItemCommand({ TableName: 'orders', Item: { pk: { S: 'a' } } }));
});

test("the SDK's retries recover when virtual time moves between attempts", async () => {
  const retrying = tp.client({ maxAttempts: 3 });
  try {
    // Move the clock forward from inside the SDK's middleware stack, before
    // each attempt after the first (the retry middleware sits above it).
    let attempts = 0;
    retrying.middlewareStack.add((next) => async (args) => {
      attempts += 1;
      if (attempts > 1) await tp.advance(1000);
      return next(args);
    }, { step: 'finalizeRequest', priority: 'low', name: 'advanceVirtualClock' });
    const out = await retrying.send(new PutItemCommand({
      TableName: 'orders', Item: { pk: { S: 'b' } },
    }));
    assert.equal(attempts, 2);
    assert.equal(out.$metadata.attempts, 2);
  } finally {
    retrying.destroy();
  }
});
