// faults.test.mjs — fault injection seen through the AWS SDK for JavaScript
// v3: an injected error reaches the SDK as that exception (name, message,
// status), and the SDK's own retry logic gets past an `every: 2` fault.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';

import { Tidepool, rejection, assertAwsError, stopChecked } from './tidepool.mjs';

const tp = new Tidepool();
let once;
let retrying;

before(async () => {
  await tp.start();
  once = tp.client({ maxAttempts: 1 });
  retrying = tp.client({ maxAttempts: 3 });
});

after(async () => {
  once?.destroy();
  retrying?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
  await once.send(new CreateTableCommand({
    TableName: 'orders',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
});

const addRule = async (rule) => (await tp.controlOk('POST', 'faults', rule)).id;
const get = (client) => client.send(new GetItemCommand({ TableName: 'orders', Key: { pk: { S: 'a' } } }));

test('an injected ThrottlingException reaches the SDK by name', async () => {
  await addRule({ operation: 'GetItem', error: { code: 'ThrottlingException', message: 'Rate exceeded' } });
  const e = await rejection(get(once));
  assertAwsError(e, 'ThrottlingException', 'Rate exceeded', 400);
});

test('an injected InternalServerError reaches the SDK by name with status 500', async () => {
  await addRule({
    service: 'dynamodb', operation: 'GetItem', resource: 'orders', every: 2,
    error: { code: 'InternalServerError', status: 500, message: 'injected' },
  });
  await get(once);
  const e = await rejection(get(once));
  assertAwsError(e, 'InternalServerError', 'injected', 500);
});

test('with retries on, the SDK gets past an every-2 fault', async () => {
  const id = await addRule({
    operation: 'PutItem', every: 2,
    error: { code: 'InternalServerError', status: 500, message: 'injected' },
  });
  for (let i = 0; i < 3; i++) {
    const out = await retrying.send(new PutItemCommand({ TableName: 'orders', Item: { pk: { S: `k${i}` } } }));
    assert.equal(out.$metadata.httpStatusCode, 200);
  }
  // calls 1, 2 (fault) + retry 3, 4 (fault) + retry 5: 5 matches, 2 fired
  const rules = (await tp.controlOk('GET', 'faults')).rules;
  const r = rules.find((x) => x.id === id);
  assert.deepEqual([r.matched, r.fired], [5, 2]);
});
