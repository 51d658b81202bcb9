// pipeline.test.mjs — a DynamoDB stream -> event source mapping -> function
// pipeline through the AWS SDK for JavaScript v3 (@aws-sdk/client-dynamodb,
// @aws-sdk/client-lambda), on the virtual clock.
//
// What AWS does, and what this holds tidepool to: CreateFunction, then
// CreateEventSourceMapping on the table's LatestStreamArn (TRIM_HORIZON,
// BatchSize 2); each batch reaches the handler as Lambda's DynamoDB-stream
// event — {"Records": [...]}, each record's members in Lambda's order
// (eventID, eventName, eventVersion "1.1", eventSource "aws:dynamodb",
// awsRegion, dynamodb {ApproximateCreationDateTime, Keys, NewImage,
// SequenceNumber, SizeBytes, StreamViewType}, eventSourceARN), as in the
// seeds/000 CloudWatch log, SizeBytes included. Invoke RequestResponse with
// LogType Tail answers the last 4 KB of the log base64-encoded in LogResult
// (START / END / REPORT lines); a function error answers 200 with
// FunctionError "Unhandled" and the error payload.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { CreateTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateEventSourceMappingCommand, CreateFunctionCommand, GetEventSourceMappingCommand,
  InvokeCommand, LambdaClient, ListEventSourceMappingsCommand,
} from '@aws-sdk/client-lambda';

import { Tidepool, stopChecked } from './tidepool.mjs';

const ROLE = 'arn:aws:iam::123456789012:role/lambda-role';
const REGION = 'us-west-2';   // the seed's region
const ZIP = Buffer.from('PK\u0005\u0006' + '\u0000'.repeat(18), 'latin1');   // an empty zip

const RECORD_MEMBERS = ['eventID', 'eventName', 'eventVersion', 'eventSource', 'awsRegion', 'dynamodb',
  'eventSourceARN'];
const DYNAMODB_MEMBERS = ['ApproximateCreationDateTime', 'Keys', 'NewImage', 'SequenceNumber', 'SizeBytes',
  'StreamViewType'];
// The two quotes of seeds/000 and the SizeBytes Lambda reported for them.
const QUOTES = [
  { symbol: 'CEI', price: '139.2675643770462', ts: '1644014501478', size: 43 },
  { symbol: 'DWAC', price: '277.3260952221545', ts: '1644014501603', size: 45 },
];

const tp = new Tidepool();
let ddb;
let lambda;

const decode = (bytes) => new TextDecoder().decode(bytes);

async function runUntilIdle() {
  return tp.controlOk('POST', 'clock', { until_idle_ms: 600000 });
}

async function invocations(fn, since = 0) {
  return (await tp.controlOk('GET', `invocations?function=${fn}&since=${since}`)).invocations;
}

async function createQuotes() {
  const t = await ddb.send(new CreateTableCommand({
    TableName: 'quotes',
    KeySchema: [{ AttributeName: 'symbol', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'symbol', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  }));
  return t.TableDescription.LatestStreamArn;
}

async function createFunction(name) {
  const r = await lambda.send(new CreateFunctionCommand({
    FunctionName: name, Runtime: 'provided.al2023', Role: ROLE, Handler: 'echo', Code: { ZipFile: ZIP },
  }));
  return r.FunctionArn;
}

before(async () => {
  await tp.start();
  ddb = tp.client({ region: REGION, maxAttempts: 1 });
  lambda = new LambdaClient(tp.clientConfig({ region: REGION, maxAttempts: 1 }));
});

after(async () => {
  ddb?.destroy();
  lambda?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
});

describe('stream pipeline', () => {
  test('the seed quotes reach the handler in Lambda\'s DynamoDB-stream event shape', async () => {
    const stream = await createQuotes();
    const fnArn = await createFunction('quotes-consumer');
    const m = await lambda.send(new CreateEventSourceMappingCommand({
      FunctionName: 'quotes-consumer', EventSourceArn: stream, StartingPosition: 'TRIM_HORIZON', BatchSize: 2,
    }));
    assert.equal(m.$metadata.httpStatusCode, 202);
    assert.equal(m.State, 'Creating');
    assert.equal(m.FunctionArn, fnArn);
    await runUntilIdle();

    // The seed's writes: an UpdateItem of CEI, a PutItem of DWAC.
    const [cei, dwac] = QUOTES;
    const writeS = Math.floor((await tp.controlOk('GET', 'clock')).now_ms / 1000);
    await ddb.send(new UpdateItemCommand({
      TableName: 'quotes', Key: { symbol: { S: cei.symbol } },
      UpdateExpression: 'SET price = :p, ts = :t',
      ExpressionAttributeValues: { ':p': { N: cei.price }, ':t': { N: cei.ts } },
    }));
    await ddb.send(new PutItemCommand({
      TableName: 'quotes',
      Item: { symbol: { S: dwac.symbol }, price: { N: dwac.price }, ts: { N: dwac.ts } },
    }));
    await runUntilIdle();

    const invs = await invocations('quotes-consumer');
    assert.equal(invs.length, 1);
    const inv = invs[0];
    assert.equal(inv.source, 'esm');
    assert.equal(inv.source_id, m.UUID);
    assert.equal(inv.outcome, 'success');
    // JSON.parse keeps member order: the keys come in the server's order.
    assert.deepEqual(Object.keys(inv.event), ['Records']);
    const recs = inv.event.Records;
    assert.equal(recs.length, 2);
    recs.forEach((r, i) => {
      const q = QUOTES[i];
      assert.deepEqual(Object.keys(r), RECORD_MEMBERS);
      assert.match(r.eventID, /^[0-9a-f]{32}$/);
      assert.equal(r.eventName, 'INSERT');
      assert.equal(r.eventVersion, '1.1');
      assert.equal(r.eventSource, 'aws:dynamodb');
      assert.equal(r.awsRegion, REGION);
      assert.equal(r.eventSourceARN, stream);
      assert.deepEqual(Object.keys(r.dynamodb), DYNAMODB_MEMBERS);
      assert.equal(r.dynamodb.ApproximateCreationDateTime, writeS);
      assert.deepEqual(r.dynamodb.Keys, { symbol: { S: q.symbol } });
      assert.deepEqual(Object.keys(r.dynamodb.NewImage), ['symbol', 'price', 'ts']);
      assert.deepEqual(r.dynamodb.NewImage, { symbol: { S: q.symbol }, price: { N: q.price }, ts: { N: q.ts } });
      assert.match(r.dynamodb.SequenceNumber, /^[0-9]+$/);
      assert.equal(r.dynamodb.SizeBytes, q.size);
      assert.equal(r.dynamodb.StreamViewType, 'NEW_IMAGE');
    });
    assert.ok(BigInt(recs[0].dynamodb.SequenceNumber) < BigInt(recs[1].dynamodb.SequenceNumber));
    assert.deepEqual(inv.response, inv.event);   // echo answered with its event

    const g = await lambda.send(new GetEventSourceMappingCommand({ UUID: m.UUID }));
    assert.equal(g.State, 'Enabled');
    assert.equal(g.LastProcessingResult, 'OK');
    const l = await lambda.send(new ListEventSourceMappingsCommand({ EventSourceArn: stream }));
    assert.deepEqual(l.EventSourceMappings.map((x) => x.UUID), [m.UUID]);

    // Nothing new: nothing more is delivered; `since` sees only later ones.
    await ddb.send(new PutItemCommand({ TableName: 'quotes', Item: { symbol: { S: 'XYZ' } } }));
    await runUntilIdle();
    const later = await invocations('quotes-consumer', inv.id);
    assert.equal(later.length, 1);
    assert.deepEqual(later[0].event.Records.map((r) => r.dynamodb.Keys.symbol.S), ['XYZ']);
  });

  test('BatchSize splits the stream in order', async () => {
    const stream = await createQuotes();
    await createFunction('quotes-consumer');
    await lambda.send(new CreateEventSourceMappingCommand({
      FunctionName: 'quotes-consumer', EventSourceArn: stream, StartingPosition: 'TRIM_HORIZON', BatchSize: 2,
    }));
    for (const s of ['A', 'B', 'C']) {
      await ddb.send(new PutItemCommand({ TableName: 'quotes', Item: { symbol: { S: s } } }));
    }
    await runUntilIdle();
    const invs = await invocations('quotes-consumer');
    assert.deepEqual(invs.map((i) => i.event.Records.map((r) => r.dynamodb.Keys.symbol.S)), [['A', 'B'], ['C']]);
  });
});

describe('invoke', () => {
  test('RequestResponse with LogType Tail', async () => {
    await createFunction('quotes-consumer');
    const payload = { Records: [{ eventName: 'MODIFY' }] };
    const r = await lambda.send(new InvokeCommand({
      FunctionName: 'quotes-consumer', Payload: JSON.stringify(payload), LogType: 'Tail',
    }));
    assert.equal(r.StatusCode, 200);
    assert.equal(r.ExecutedVersion, '$LATEST');
    assert.equal(r.FunctionError, undefined);
    assert.deepEqual(JSON.parse(decode(r.Payload)), payload);
    const lines = Buffer.from(r.LogResult, 'base64').toString('utf8').replace(/\n$/, '').split('\n');
    const rid = lines[0].match(/^START RequestId: ([0-9a-f-]{36}) Version: \$LATEST$/)?.[1];
    assert.ok(rid, lines[0]);
    assert.match(lines[1], new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\\t${rid}\\tINFO\\techo: `));
    assert.equal(lines.at(-2), `END RequestId: ${rid}`);
    assert.match(lines.at(-1), new RegExp(`^REPORT RequestId: ${rid}\\tDuration: [0-9.]+ ms\\t`
      + 'Billed Duration: \\d+ ms\\tMemory Size: 128 MB\\tMax Memory Used: \\d+ MB'));
    // The invocation log holds the same invocation.
    const invs = await invocations('quotes-consumer');
    assert.equal(invs.length, 1);
    assert.equal(invs[0].request_id, rid);
    assert.equal(invs[0].source, 'invoke');
  });

  test('a function error is FunctionError Unhandled with the error payload', async () => {
    await createFunction('quotes-consumer');
    const r = await lambda.send(new InvokeCommand({
      FunctionName: 'quotes-consumer', Payload: JSON.stringify({ fail: true, message: 'no quote for CEI' }),
      LogType: 'Tail',
    }));
    assert.equal(r.$metadata.httpStatusCode, 200);
    assert.equal(r.StatusCode, 200);
    assert.equal(r.FunctionError, 'Unhandled');
    assert.deepEqual(JSON.parse(decode(r.Payload)), { errorMessage: 'no quote for CEI', errorType: 'EchoError' });
    const log = Buffer.from(r.LogResult, 'base64').toString('utf8');
    assert.match(log, /^START RequestId: /);
    assert.match(log, /\nEND RequestId: /);
    assert.match(log, /\nREPORT RequestId: /);
    const invs = await invocations('quotes-consumer');
    assert.equal(invs[0].outcome, 'error');
    assert.equal(invs[0].error_type, 'EchoError');
    assert.equal(invs[0].error_message, 'no quote for CEI');
  });
});
