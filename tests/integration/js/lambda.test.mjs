// lambda.test.mjs — Lambda functions through the AWS SDK for JavaScript v3
// (@aws-sdk/client-lambda) against tidepool's Lambda REST API: create, get,
// list with paging, update, delete, reserved concurrency, account settings,
// AWS's error names/messages/statuses as the SDK reads them (x-amzn-ErrorType
// and the JSON body), and Invoke with the compiled-in "echo" handler.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  CreateFunctionCommand, DeleteFunctionCommand, DeleteFunctionConcurrencyCommand,
  GetAccountSettingsCommand, GetFunctionCommand, GetFunctionConcurrencyCommand,
  GetFunctionConfigurationCommand, InvokeCommand, LambdaClient, ListFunctionsCommand,
  PutFunctionConcurrencyCommand, UpdateFunctionConfigurationCommand, paginateListFunctions,
} from '@aws-sdk/client-lambda';

import { Tidepool, rejection, assertAwsError, stopChecked } from './tidepool.mjs';

const ROLE = 'arn:aws:iam::123456789012:role/lambda-role';
const MIN = 60 * 1000;

// The account tidepool derives from an access key (tidepool/engine.h).
function accountForKey(key) {
  const h = createHash('sha256').update(key).digest();
  return (h.readBigUInt64BE(0) % 1000000000000n).toString().padStart(12, '0');
}
const ACCOUNT = accountForKey('AKIDTIDEPOOL');
const arn = (name) => `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}`;

const tp = new Tidepool({
  config: { lambda: { functions: [{ FunctionName: 'from-config', Handler: 'echo', Timeout: 42 }] } },
});
let lambda;

const ZIP = Buffer.from('PK\u0005\u0006' + '\u0000'.repeat(18), 'latin1');   // an empty zip

function create(name, extra = {}) {
  return lambda.send(new CreateFunctionCommand({
    FunctionName: name, Runtime: 'provided.al2023', Role: ROLE, Handler: 'echo',
    Code: { ZipFile: ZIP }, ...extra,
  }));
}

const decode = (bytes) => new TextDecoder().decode(bytes);

before(async () => {
  await tp.start();
  lambda = new LambdaClient(tp.clientConfig({ maxAttempts: 1 }));
});

after(async () => {
  lambda?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
});

describe('functions', () => {
  test('create answers 201 with the configuration', async () => {
    const r = await create('f1', { Timeout: 30, Environment: { Variables: { GREETING: 'hi' } } });
    assert.equal(r.$metadata.httpStatusCode, 201);
    assert.equal(r.FunctionName, 'f1');
    assert.equal(r.FunctionArn, arn('f1'));
    assert.equal(r.Timeout, 30);
    assert.equal(r.MemorySize, 128);
    assert.equal(r.CodeSize, ZIP.length);
    assert.equal(r.CodeSha256, createHash('sha256').update(ZIP).digest('base64'));
    assert.equal(r.Version, '$LATEST');
    assert.equal(r.PackageType, 'Zip');
    assert.deepEqual(r.Architectures, ['x86_64']);
    assert.deepEqual(r.Environment, { Variables: { GREETING: 'hi' } });
    assert.equal(r.LastModified, '2024-01-01T00:00:00.000+0000');
    assert.equal(r.State, 'Pending');
  });

  test('get, get configuration, list with paging', async () => {
    for (const n of ['c', 'a', 'b']) await create(n);
    const g = await lambda.send(new GetFunctionCommand({ FunctionName: 'a' }));
    assert.equal(g.Configuration.FunctionName, 'a');
    assert.equal(g.Configuration.State, 'Active');
    assert.equal(g.Code.RepositoryType, 'S3');
    const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: arn('b') }));
    assert.equal(c.FunctionName, 'b');
    assert.equal(c.LastUpdateStatus, 'Successful');
    const all = await lambda.send(new ListFunctionsCommand({}));
    assert.deepEqual(all.Functions.map((f) => f.FunctionName), ['a', 'b', 'c', 'from-config']);
    const names = [];
    for await (const page of paginateListFunctions({ client: lambda, pageSize: 1 }, {})) {
      assert.ok(page.Functions.length <= 1);
      names.push(...page.Functions.map((f) => f.FunctionName));
    }
    assert.deepEqual(names, ['a', 'b', 'c', 'from-config']);
  });

  test('config file functions', async () => {
    const c = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'from-config' }));
    assert.equal(c.Timeout, 42);
    assert.equal(c.Handler, 'echo');
  });

  test('update and delete', async () => {
    await create('f1');
    await tp.advance(MIN);
    const u = await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'f1', Timeout: 9 }));
    assert.equal(u.Timeout, 9);
    assert.equal(u.LastModified, '2024-01-01T00:01:00.000+0000');
    const d = await lambda.send(new DeleteFunctionCommand({ FunctionName: 'f1' }));
    assert.equal(d.$metadata.httpStatusCode, 204);
    const e = await rejection(lambda.send(new GetFunctionCommand({ FunctionName: 'f1' })));
    assertAwsError(e, 'ResourceNotFoundException', `Function not found: ${arn('f1')}`, 404);
    assert.equal(e.Type, 'User');
  });

  test('errors', async () => {
    await create('f1');
    assertAwsError(await rejection(create('f1')), 'ResourceConflictException',
      'Function already exist: f1', 409);
    const e = await rejection(create('f2', { Handler: 'index.handler' }));
    assert.equal(e.name, 'InvalidParameterValueException');
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.match(e.message, /'index\.handler'/);
    assertAwsError(await rejection(create('f3', { Timeout: 901 })), 'ValidationException',
      "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: "
      + 'Member must have value less than or equal to 900');
  });
});

describe('concurrency', () => {
  test('put, get, delete and the unreserved floor', async () => {
    await create('f1');
    const p = await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'f1', ReservedConcurrentExecutions: 7 }));
    assert.equal(p.ReservedConcurrentExecutions, 7);
    const g = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'f1' }));
    assert.equal(g.ReservedConcurrentExecutions, 7);
    const s = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(s.AccountLimit.ConcurrentExecutions, 1000);
    assert.equal(s.AccountLimit.UnreservedConcurrentExecutions, 993);
    assertAwsError(
      await rejection(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'f1', ReservedConcurrentExecutions: 901 }))),
      'InvalidParameterValueException',
      "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].");
    const d = await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'f1' }));
    assert.equal(d.$metadata.httpStatusCode, 204);
    const g2 = await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'f1' }));
    assert.equal(g2.ReservedConcurrentExecutions, undefined);
  });
});

describe('invoke', () => {
  test('RequestResponse returns the echo', async () => {
    await create('f1');
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'f1', Payload: JSON.stringify({ a: 1 }) }));
    assert.equal(r.StatusCode, 200);
    assert.equal(r.ExecutedVersion, '$LATEST');
    assert.equal(r.FunctionError, undefined);
    assert.deepEqual(JSON.parse(decode(r.Payload)), { a: 1 });
  });

  test('a function error is Unhandled with the error payload', async () => {
    await create('f1');
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'f1', Payload: JSON.stringify({ fail: true, message: 'nope' }) }));
    assert.equal(r.StatusCode, 200);
    assert.equal(r.FunctionError, 'Unhandled');
    assert.deepEqual(JSON.parse(decode(r.Payload)), { errorMessage: 'nope', errorType: 'EchoError' });
  });

  test('LogType Tail', async () => {
    await create('f1');
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'f1', Payload: '{}', LogType: 'Tail' }));
    assert.match(Buffer.from(r.LogResult, 'base64').toString(), /echo: 2 bytes/);
  });

  test('Event answers 202', async () => {
    await create('f1');
    const r = await lambda.send(new InvokeCommand({ FunctionName: 'f1', InvocationType: 'Event', Payload: '{"n":1}' }));
    assert.equal(r.StatusCode, 202);
    await tp.advance(1000);
    const inv = await tp.controlOk('GET', 'invocations?function=f1');
    assert.equal(inv.invocations.length, 1);
    assert.equal(inv.invocations[0].outcome, 'success');
  });

  test('unknown function', async () => {
    assertAwsError(await rejection(lambda.send(new InvokeCommand({ FunctionName: 'nope', Payload: '{}' }))),
      'ResourceNotFoundException', `Function not found: ${arn('nope')}`, 404);
  });
});
