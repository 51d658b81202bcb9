// transact.test.mjs — TransactWriteItems through the AWS SDK for JavaScript
// v3: the low-level TransactWriteItemsCommand and the DocumentClient's
// TransactWriteCommand, CancellationReasons read from the SDK's
// TransactionCanceledException, ClientRequestToken idempotency.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  CreateTableCommand, GetItemCommand, IdempotentParameterMismatchException,
  TransactionCanceledException, TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';

import { Tidepool, rejection, stopChecked } from './tidepool.mjs';

const CANCELLED = 'Transaction cancelled, please refer cancellation reasons for specific reasons';

const tp = new Tidepool();
let ddb;
let doc;

before(async () => {
  await tp.start();
  ddb = tp.client({ maxAttempts: 1 });
  doc = tp.docClient({ maxAttempts: 1 });
});

after(async () => {
  ddb?.destroy();
  doc?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
  await ddb.send(new CreateTableCommand({
    TableName: 'hash',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
});

async function getItem(pk) {
  return (await ddb.send(new GetItemCommand({
    TableName: 'hash', Key: { pk: { S: pk } }, ConsistentRead: true,
  }))).Item;
}

describe('TransactWriteItemsCommand', () => {
  test('runs all four action kinds', async () => {
    await ddb.send(new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: 'hash', Item: { pk: { S: 'c' }, n: { N: '1' } } } },
        { Put: { TableName: 'hash', Item: { pk: { S: 'd' } } } },
      ],
    }));
    const out = await ddb.send(new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: 'hash', Item: { pk: { S: 'a' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
        {
          Update: {
            TableName: 'hash', Key: { pk: { S: 'c' } }, UpdateExpression: 'SET n = n + :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          },
        },
        { Delete: { TableName: 'hash', Key: { pk: { S: 'd' } } } },
        { ConditionCheck: { TableName: 'hash', Key: { pk: { S: 'z' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
      ],
      ReturnConsumedCapacity: 'TOTAL',
    }));
    assert.deepEqual(out.ConsumedCapacity, [{ TableName: 'hash', CapacityUnits: 8, WriteCapacityUnits: 8 }]);
    assert.deepEqual(await getItem('a'), { pk: { S: 'a' } });
    assert.deepEqual(await getItem('c'), { pk: { S: 'c' }, n: { N: '2' } });
    assert.equal(await getItem('d'), undefined);
    assert.equal(await getItem('z'), undefined);
  });

  test('TransactionCanceledException carries CancellationReasons in order', async () => {
    await ddb.send(new TransactWriteItemsCommand({
      TransactItems: [{ Put: { TableName: 'hash', Item: { pk: { S: 'x' }, v: { S: 'old' } } } }],
    }));
    const e = await rejection(ddb.send(new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: 'hash', Item: { pk: { S: 'new' } } } },
        {
          Put: {
            TableName: 'hash', Item: { pk: { S: 'x' } }, ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
    })));
    assert.ok(e instanceof TransactionCanceledException, e.name);
    assert.equal(e.message, `${CANCELLED} [None, ConditionalCheckFailed]`);
    assert.equal(e.$metadata.httpStatusCode, 400);
    assert.deepEqual(e.CancellationReasons, [
      { Code: 'None' },
      {
        Code: 'ConditionalCheckFailed', Message: 'The conditional request failed',
        Item: { pk: { S: 'x' }, v: { S: 'old' } },
      },
    ]);
    assert.equal(await getItem('new'), undefined);
  });

  test('ClientRequestToken: replay writes once, other parameters mismatch', async () => {
    const inc = {
      TransactItems: [{
        Update: {
          TableName: 'hash', Key: { pk: { S: 'c' } }, UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': { N: '1' } },
        },
      }],
      ClientRequestToken: 'js-token',
    };
    await ddb.send(new TransactWriteItemsCommand(inc));
    await ddb.send(new TransactWriteItemsCommand(inc));
    assert.deepEqual(await getItem('c'), { pk: { S: 'c' }, n: { N: '1' } });
    const e = await rejection(ddb.send(new TransactWriteItemsCommand({
      TransactItems: [{ Put: { TableName: 'hash', Item: { pk: { S: 'other' } } } }],
      ClientRequestToken: 'js-token',
    })));
    assert.ok(e instanceof IdempotentParameterMismatchException, e.name);
    await tp.advance(600001);
    await ddb.send(new TransactWriteItemsCommand(inc));
    assert.deepEqual(await getItem('c'), { pk: { S: 'c' }, n: { N: '2' } });
  });
});

describe('DocumentClient TransactWriteCommand', () => {
  test('writes native values', async () => {
    await doc.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: 'hash', Item: { pk: 'p', tags: new Set(['a', 'b']), n: 3 } } },
        {
          Update: {
            TableName: 'hash', Key: { pk: 'q' }, UpdateExpression: 'SET m = :m',
            ExpressionAttributeValues: { ':m': { deep: [1, 'two'] } },
          },
        },
      ],
    }));
    const p = (await doc.send(new GetCommand({ TableName: 'hash', Key: { pk: 'p' } }))).Item;
    assert.deepEqual(p, { pk: 'p', tags: new Set(['a', 'b']), n: 3 });
    const q = (await doc.send(new GetCommand({ TableName: 'hash', Key: { pk: 'q' } }))).Item;
    assert.deepEqual(q, { pk: 'q', m: { deep: [1, 'two'] } });
  });

  test('a failed condition cancels everything', async () => {
    const e = await rejection(doc.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: 'hash', Item: { pk: 'p' } } },
        { ConditionCheck: { TableName: 'hash', Key: { pk: 'q' }, ConditionExpression: 'attribute_exists(pk)' } },
      ],
    })));
    assert.ok(e instanceof TransactionCanceledException, e.name);
    assert.equal(e.message, `${CANCELLED} [None, ConditionalCheckFailed]`);
    assert.deepEqual(e.CancellationReasons.map((r) => r.Code), ['None', 'ConditionalCheckFailed']);
    assert.equal(await getItem('p'), undefined);
  });

  test('two operations on one item', async () => {
    const e = await rejection(doc.send(new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: 'hash', Item: { pk: 'p' } } },
        { Delete: { TableName: 'hash', Key: { pk: 'p' } } },
      ],
    })));
    assert.equal(e.name, 'ValidationException');
    assert.equal(e.message, 'Transaction request cannot include multiple operations on one item');
  });
});
