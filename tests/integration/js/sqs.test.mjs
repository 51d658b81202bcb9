// sqs.test.mjs — SQS through @aws-sdk/client-sqs v3 (the JSON protocol):
// send and receive pass the SDK's own MD5 checks (SendMessage,
// SendMessageBatch, ReceiveMessage verify MD5OfMessageBody / MD5OfBody and
// fail the call otherwise), MD5OfMessageAttributes matches an independent
// computation, FIFO ordering and deduplication, and SQS's errors as the
// SDK's modeled exceptions.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageBatchCommand, DeleteMessageCommand,
  GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageBatchCommand,
  SendMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';

import { Tidepool, rejection, assertAwsError, request, stopChecked } from './tidepool.mjs';

const tp = new Tidepool();
let sqs;
let queryErrorHeader = false;

before(async () => {
  await tp.start();
  sqs = new SQSClient(tp.clientConfig({ maxAttempts: 1 }));
  const probe = await request(tp.port, 'POST', '/', { QueueName: 'probe-missing' }, {
    'Content-Type': 'application/x-amz-json-1.0',
    'X-Amz-Target': 'AmazonSQS.GetQueueUrl',
    'X-Amz-Date': '20240101T000000Z',
    Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDTIDEPOOL/20240101/us-east-1/sqs/aws4_request, '
      + 'SignedHeaders=host, Signature=00',
  });
  queryErrorHeader = probe.status === 400 && probe.headers['x-amzn-query-error'] !== undefined;
});

// The error tests need x-amzn-query-error (see the top of the file).
function errorTest(name, fn) {
  test(name, async (t) => {
    if (!queryErrorHeader) {
      t.skip('tidepool does not send x-amzn-query-error yet');
      return;
    }
    await fn(t);
  });
}

after(async () => {
  sqs?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
});

// MD5OfMessageAttributes as SQS documents it.
function md5OfAttributes(attrs) {
  const parts = [];
  const len = (b) => { const x = Buffer.alloc(4); x.writeUInt32BE(b.length); return x; };
  const str = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([len(b), b]); };
  for (const name of Object.keys(attrs).sort()) {
    const a = attrs[name];
    parts.push(str(name), str(a.DataType));
    if (a.DataType.startsWith('Binary')) {
      const v = Buffer.from(a.BinaryValue);
      parts.push(Buffer.from([2]), len(v), v);
    } else {
      parts.push(Buffer.from([1]), str(a.StringValue));
    }
  }
  return createHash('md5').update(Buffer.concat(parts)).digest('hex');
}

async function queue(name, Attributes = {}) {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes }))).QueueUrl;
}

describe('messages', () => {
  test('send, receive and delete pass the SDK MD5 checks', async () => {
    const url = await queue('js');
    const attrs = {
      text: { DataType: 'String', StringValue: 'héllo wörld' },
      num: { DataType: 'Number.float', StringValue: '3.25' },
      bin: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 250]) },
    };
    const body = 'a body 🌊 with\ttabs';
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: attrs }));
    assert.equal(sent.MD5OfMessageBody, createHash('md5').update(body).digest('hex'));
    assert.equal(sent.MD5OfMessageAttributes, md5OfAttributes(attrs));
    const got = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: url, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], WaitTimeSeconds: 1,
    }));
    assert.equal(got.Messages.length, 1);
    const [m] = got.Messages;
    assert.equal(m.Body, body);
    assert.equal(m.MessageId, sent.MessageId);
    assert.equal(m.MD5OfMessageAttributes, md5OfAttributes(attrs));
    assert.deepEqual([...m.MessageAttributes.bin.BinaryValue], [0, 1, 2, 250]);
    assert.equal(m.Attributes.ApproximateReceiveCount, '1');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
    assert.equal(empty.Messages, undefined);
  });

  test('batches and visibility on the virtual clock', async () => {
    const url = await queue('batch', { VisibilityTimeout: '10' });
    const Entries = Array.from({ length: 10 }, (_, i) => ({ Id: `e${i}`, MessageBody: `body ${i}` }));
    const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries }));
    assert.equal(out.Successful.length, 10);
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    assert.equal(first.Messages.length, 10);
    assert.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages, undefined);
    await tp.advance(10000);
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    assert.equal(again.Messages.length, 10);
    const del = await sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: url, Entries: again.Messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
    }));
    assert.equal(del.Successful.length, 10);
    assert.equal(del.Failed.length, 0);
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    assert.equal(attrs.Attributes.ApproximateNumberOfMessages, '0');
    assert.equal(attrs.Attributes.ApproximateNumberOfMessagesNotVisible, '0');
  });
});

describe('FIFO', () => {
  test('group order and deduplication', async () => {
    const url = await queue('js.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    for (const [body, group] of [['a1', 'A'], ['b1', 'B'], ['a2', 'A'], ['a1', 'A']]) {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: group }));
    }
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    assert.deepEqual(got.Messages.map((m) => m.Body), ['a1', 'a2', 'b1']);
  });

  errorTest('MessageGroupId is required', async () => {
    const url = await queue('req.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const e = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })));
    assertAwsError(e, 'MissingParameter', 'The request must contain the parameter MessageGroupId.');
  });
});

describe('FIFO throughput', () => {
  errorTest('calls over the limit get RequestThrottled, a batch counts once', async () => {
    const url = await queue('tput.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    await tp.controlOk('POST', 'capacity', { queue: 'tput.fifo', SendMessage: 2 });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'one', MessageGroupId: 'g' }));
    const r = await sqs.send(new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: [0, 1, 2].map((i) => ({ Id: `e${i}`, MessageBody: `b${i}`, MessageGroupId: 'g' })),
    }));
    assert.equal(r.Successful.length, 3);
    const e = await rejection(sqs.send(new SendMessageCommand({
      QueueUrl: url, MessageBody: 'over', MessageGroupId: 'g',
    })));
    assertAwsError(e, 'RequestThrottled', 'Request is throttled.', 403);
    assert.equal(e.Code, 'RequestThrottled');
    await tp.advance(500);   // two a second: one more after half a second
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', MessageGroupId: 'g' }));
    const a = await sqs.send(new GetQueueAttributesCommand({
      QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'],
    }));
    assert.equal(a.Attributes.ApproximateNumberOfMessages, '5');
  });
});

describe('errors', () => {
  errorTest('modeled SQS exceptions', async () => {
    let e = await rejection(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' })));
    assertAwsError(e, 'QueueDoesNotExist', 'The specified queue does not exist.');
    const url = await queue('err');
    e = await rejection(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'bad \u0001' })));
    assert.equal(e.name, 'InvalidMessageContents');
    e = await rejection(sqs.send(new ChangeMessageVisibilityCommand({
      QueueUrl: url, ReceiptHandle: 'nope', VisibilityTimeout: 1,
    })));
    assertAwsError(e, 'ReceiptHandleIsInvalid', 'The input receipt handle "nope" is not a valid receipt handle.');
    e = await rejection(sqs.send(new SendMessageBatchCommand({
      QueueUrl: url, Entries: [{ Id: 'a', MessageBody: '1' }, { Id: 'a', MessageBody: '2' }],
    })));
    assertAwsError(e, 'BatchEntryIdsNotDistinct', 'Id a repeated.');
    e = await rejection(sqs.send(new CreateQueueCommand({ QueueName: 'err', Attributes: { DelaySeconds: '5' } })));
    assert.equal(e.name, 'QueueNameExists');
  });
});
