// sqs_wire.test.mjs — what @aws-sdk/client-sqs v3 (JSON protocol, query
// compatible) makes of tidepool's SQS wire: a modeled error's name is the
// model's shape (QueueDoesNotExist) and its Code/Type come from
// x-amzn-query-error, as against real SQS; a long poll parks and is
// answered by a send from another client without the virtual clock moving,
// or empty exactly when the clock reaches its deadline.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import {
  CreateQueueCommand, GetQueueUrlCommand, QueueDoesNotExist, ReceiveMessageCommand,
  SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';

import { Tidepool, rejection, stopChecked } from './tidepool.mjs';

const tp = new Tidepool();
let sqs;
let other;

before(async () => {
  await tp.start();
  sqs = new SQSClient(tp.clientConfig({ maxAttempts: 1 }));
  other = new SQSClient(tp.clientConfig({ maxAttempts: 1 }));
});

after(async () => {
  sqs?.destroy();
  other?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
});

async function parked() {
  const r = await tp.control('GET', 'metrics');
  const m = /^tidepool_parked_calls\{\} (\d+)/m.exec(String(r.body));
  return m ? Number(m[1]) : 0;
}

// Until n calls are parked: our own client's request reaching the server.
async function waitParked(n) {
  const until = Date.now() + 15000;
  while (Date.now() < until) {
    if (await parked() === n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`expected ${n} parked calls, have ${await parked()}`);
}

async function nowMs() {
  return (await tp.controlOk('GET', 'clock')).now_ms;
}

test('a modeled error: the shape name, the query code and fault', async () => {
  const e = await rejection(sqs.send(new GetQueueUrlCommand({ QueueName: 'absent' })));
  assert.ok(e instanceof QueueDoesNotExist);
  assert.equal(e.name, 'QueueDoesNotExist');
  assert.equal(e.message, 'The specified queue does not exist.');
  assert.equal(e.Code, 'AWS.SimpleQueueService.NonExistentQueue');
  assert.equal(e.Type, 'Sender');
  assert.equal(e.$fault, 'client');
  assert.equal(e.$metadata.httpStatusCode, 400);
});

test('a generic error travels under its own name', async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'g' }));
  const e = await rejection(sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 })));
  assert.equal(e.name, 'InvalidParameterValue');
  assert.equal(e.Code, 'InvalidParameterValue');
  assert.equal(e.message,
    'Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.');
  assert.equal(e.$metadata.httpStatusCode, 400);
});

test('a parked receive is answered by a send, the clock standing still', async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'lp' }));
  const start = await nowMs();
  const poll = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }));
  await waitParked(1);
  const sent = await other.send(new SendMessageCommand({ QueueUrl, MessageBody: 'wake' }));
  const got = await poll;   // the SDK checks MD5OfBody itself
  assert.deepEqual(got.Messages.map((m) => m.MessageId), [sent.MessageId]);
  assert.equal(got.Messages[0].Body, 'wake');
  assert.equal(await nowMs(), start);
  assert.equal(await parked(), 0);
});

test('an empty long poll answers exactly at its deadline', async () => {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'empty' }));
  const start = await nowMs();
  let answered = false;
  const poll = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }))
    .then((r) => { answered = true; return r; });
  await waitParked(1);
  await tp.advance(19999);
  assert.equal(await parked(), 1);
  assert.equal(answered, false);
  await tp.advance(1);
  const got = await poll;
  assert.equal((got.Messages ?? []).length, 0);
  assert.equal(await nowMs() - start, 20000);
});
