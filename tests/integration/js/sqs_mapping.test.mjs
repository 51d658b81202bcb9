// sqs_mapping.test.mjs — an SQS event source mapping through the AWS SDK for
// JavaScript v3 (@aws-sdk/client-sqs and @aws-sdk/client-lambda), on the
// virtual clock: the queue, the function and the mapping made with the
// SDK, Lambda's SQS event as the function got it (member order included),
// messages deleted on success and redelivered after the visibility timeout
// on failure, and Lambda's validation message for a large batch without a
// window as the SDK's modeled exception.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';

import {
  CreateEventSourceMappingCommand, CreateFunctionCommand, LambdaClient,
} from '@aws-sdk/client-lambda';
import {
  CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';

import { Tidepool, rejection, stopChecked } from './tidepool.mjs';

const ROLE = 'arn:aws:iam::123456789012:role/lambda-role';
const ZIP = Buffer.from('PK\u0005\u0006' + '\u0000'.repeat(18), 'latin1');   // an empty zip
const RECORD_MEMBERS = ['messageId', 'receiptHandle', 'body', 'attributes', 'messageAttributes', 'md5OfBody',
  'eventSource', 'eventSourceARN', 'awsRegion'];

const tp = new Tidepool();
let sqs;
let lambda;

before(async () => {
  await tp.start();
  sqs = new SQSClient(tp.clientConfig({ maxAttempts: 1 }));
  lambda = new LambdaClient(tp.clientConfig({ maxAttempts: 1 }));
});

after(async () => {
  sqs?.destroy();
  lambda?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
});

async function queue(name, attributes = {}) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl, arn: a.Attributes.QueueArn };
}

async function depth(url) {
  const a = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: url,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
  }));
  return [Number(a.Attributes.ApproximateNumberOfMessages), Number(a.Attributes.ApproximateNumberOfMessagesNotVisible)];
}

async function invocations(fn) {
  return (await tp.controlOk('GET', `invocations?function=${fn}`)).invocations;
}

const runUntilIdle = () => tp.controlOk('POST', 'clock', { until_idle_ms: 600000 });

async function mapping(arn, extra = {}) {
  const r = await lambda.send(new CreateEventSourceMappingCommand({
    FunctionName: 'js-worker', EventSourceArn: arn, ...extra,
  }));
  await tp.advance(1000);
  return r;
}

async function fn() {
  await lambda.send(new CreateFunctionCommand({
    FunctionName: 'js-worker', Runtime: 'provided.al2023', Role: ROLE, Handler: 'echo', Code: { ZipFile: ZIP },
  }));
}

test('the function gets Lambda\'s SQS event and the messages are deleted', async () => {
  const q = await queue('js-jobs');
  await fn();
  await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'from js' }));
  const r = await mapping(q.arn, { BatchSize: 10, ScalingConfig: { MaximumConcurrency: 3 } });
  assert.equal(r.State, 'Creating');
  assert.equal(r.BatchSize, 10);
  assert.deepEqual(r.ScalingConfig, { MaximumConcurrency: 3 });
  await runUntilIdle();
  const invs = await invocations('js-worker');
  assert.equal(invs.length, 1);
  const rec = invs[0].event.Records[0];
  assert.deepEqual(Object.keys(rec), RECORD_MEMBERS);
  assert.equal(rec.body, 'from js');
  assert.equal(rec.md5OfBody, createHash('md5').update('from js').digest('hex'));
  assert.equal(rec.eventSource, 'aws:sqs');
  assert.equal(rec.eventSourceARN, q.arn);
  assert.equal(rec.attributes.ApproximateReceiveCount, '1');
  assert.deepEqual(await depth(q.url), [0, 0]);
});

test('a failed batch is redelivered after the visibility timeout', async () => {
  const q = await queue('js-retry', { VisibilityTimeout: '20' });
  await fn();
  const rule = await tp.controlOk('POST', 'faults', {
    resource: 'js-worker', count: 1, fail: { errorType: 'Boom', errorMessage: 'once' },
  });
  await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: 'again' }));
  await mapping(q.arn);
  await runUntilIdle();
  assert.deepEqual(await depth(q.url), [0, 1]);
  await tp.advance(21000);
  await runUntilIdle();
  const invs = await invocations('js-worker');
  assert.deepEqual(invs.map((i) => i.outcome), ['error', 'success']);
  assert.equal(invs[1].event.Records[0].attributes.ApproximateReceiveCount, '2');
  assert.deepEqual(await depth(q.url), [0, 0]);
  await tp.control('DELETE', `faults/${rule.id}`);
});

test('a batch above 10 needs a batching window', async () => {
  const q = await queue('js-strict');
  await fn();
  const e = await rejection(lambda.send(new CreateEventSourceMappingCommand({
    FunctionName: 'js-worker', EventSourceArn: q.arn, BatchSize: 20,
  })));
  assert.equal(e.name, 'InvalidParameterValueException');
  assert.equal(e.message,
    'Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10');
  assert.equal(e.$metadata.httpStatusCode, 400);
});
