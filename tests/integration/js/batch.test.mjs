// batch.test.mjs — BatchWriteItem / BatchGetItem through the AWS SDK for
// JavaScript v3: the low-level commands and the DocumentClient's
// BatchWriteCommand / BatchGetCommand, TransactGetItems, with AWS's error
// wording.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  BatchGetItemCommand, BatchWriteItemCommand, CreateTableCommand, DescribeTableCommand,
  GetItemCommand, TransactGetItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, TransactGetCommand } from '@aws-sdk/lib-dynamodb';

import { Tidepool, rejection, assertAwsError, stopChecked } from './tidepool.mjs';

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
  for (const [name, withSortKey] of [['hash', false], ['range', true]]) {
    const attrs = [{ AttributeName: 'pk', AttributeType: 'S' }];
    const keys = [{ AttributeName: 'pk', KeyType: 'HASH' }];
    if (withSortKey) {
      attrs.push({ AttributeName: 'sk', AttributeType: 'N' });
      keys.push({ AttributeName: 'sk', KeyType: 'RANGE' });
    }
    await ddb.send(new CreateTableCommand({
      TableName: name, AttributeDefinitions: attrs, KeySchema: keys, BillingMode: 'PAY_PER_REQUEST',
    }));
  }
});

async function itemCount(table) {
  return (await ddb.send(new DescribeTableCommand({ TableName: table }))).Table.ItemCount;
}

describe('BatchWriteItemCommand', () => {
  test('puts and deletes across tables, UnprocessedItems {}', async () => {
    const out = await ddb.send(new BatchWriteItemCommand({
      RequestItems: {
        hash: [
          { PutRequest: { Item: { pk: { S: 'a' }, n: { N: '01.50' } } } },
          { PutRequest: { Item: { pk: { S: 'b' } } } },
        ],
        range: [{ PutRequest: { Item: { pk: { S: 'a' }, sk: { N: '1' } } } }],
      },
      ReturnConsumedCapacity: 'TOTAL',
    }));
    assert.deepEqual(out.UnprocessedItems, {});
    const cc = [...out.ConsumedCapacity].sort((x, y) => x.TableName.localeCompare(y.TableName));
    assert.deepEqual(cc, [
      { TableName: 'hash', CapacityUnits: 2 },
      { TableName: 'range', CapacityUnits: 1 },
    ]);
    const got = await ddb.send(new GetItemCommand({ TableName: 'hash', Key: { pk: { S: 'a' } } }));
    assert.deepEqual(got.Item, { pk: { S: 'a' }, n: { N: '1.5' } });

    await ddb.send(new BatchWriteItemCommand({
      RequestItems: { hash: [{ DeleteRequest: { Key: { pk: { S: 'a' } } } }] },
    }));
    assert.equal(await itemCount('hash'), 1);
  });

  test('errors: too many, duplicates, missing table; nothing written', async () => {
    const puts = (prefix, n) => Array.from({ length: n },
      (_, i) => ({ PutRequest: { Item: { pk: { S: `${prefix}${i}` } } } }));
    let e = await rejection(ddb.send(new BatchWriteItemCommand({
      RequestItems: {
        hash: puts('h', 13),
        range: Array.from({ length: 13 },
          (_, i) => ({ PutRequest: { Item: { pk: { S: 'r' }, sk: { N: String(i) } } } })),
      },
    })));
    assertAwsError(e, 'ValidationException', 'Too many items requested for the BatchWriteItem call');

    e = await rejection(ddb.send(new BatchWriteItemCommand({
      RequestItems: { hash: [...puts('h', 2), { DeleteRequest: { Key: { pk: { S: 'h1' } } } }] },
    })));
    assertAwsError(e, 'ValidationException', 'Provided list of item keys contains duplicates');

    e = await rejection(ddb.send(new BatchWriteItemCommand({
      RequestItems: { hash: puts('h', 2), nope: puts('x', 1) },
    })));
    assertAwsError(e, 'ResourceNotFoundException', 'Requested resource not found');

    e = await rejection(ddb.send(new BatchWriteItemCommand({
      RequestItems: { hash: [...puts('h', 1), { PutRequest: { Item: { pk: { N: '1' } } } }] },
    })));
    assertAwsError(e, 'ValidationException', 'The provided key element does not match the schema');

    assert.equal(await itemCount('hash'), 0);
    assert.equal(await itemCount('range'), 0);
  });
});

describe('DocumentClient', () => {
  test('BatchWriteCommand then BatchGetCommand with a projection', async () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ pk: 'p', sk: i, tags: new Set(['x', `t${i}`]) }));
    const out = await doc.send(new BatchWriteCommand({
      RequestItems: {
        range: items.map((Item) => ({ PutRequest: { Item } })),
        hash: [{ PutRequest: { Item: { pk: 'solo', nested: { a: [1, 2] } } } }],
      },
    }));
    assert.deepEqual(out.UnprocessedItems, {});

    const got = await doc.send(new BatchGetCommand({
      RequestItems: {
        range: { Keys: [{ pk: 'p', sk: 3 }, { pk: 'p', sk: 99 }], ProjectionExpression: 'sk, #t',
          ExpressionAttributeNames: { '#t': 'tags' }, ConsistentRead: true },
        hash: { Keys: [{ pk: 'solo' }] },
      },
      ReturnConsumedCapacity: 'INDEXES',
    }));
    assert.deepEqual(got.UnprocessedKeys, {});
    assert.deepEqual(got.Responses.range, [{ sk: 3, tags: new Set(['x', 't3']) }]);
    assert.deepEqual(got.Responses.hash, [{ pk: 'solo', nested: { a: [1, 2] } }]);
    const cc = [...got.ConsumedCapacity].sort((x, y) => x.TableName.localeCompare(y.TableName));
    assert.deepEqual(cc, [
      { TableName: 'hash', CapacityUnits: 0.5, Table: { CapacityUnits: 0.5 } },
      { TableName: 'range', CapacityUnits: 2, Table: { CapacityUnits: 2 } },
    ]);
  });

  test('BatchGetCommand errors', async () => {
    let e = await rejection(doc.send(new BatchGetCommand({
      RequestItems: { hash: { Keys: [{ pk: 'a' }, { pk: 'a' }] } },
    })));
    assertAwsError(e, 'ValidationException', 'Provided list of item keys contains duplicates');

    const keys = Array.from({ length: 100 }, (_, i) => ({ pk: String(i) }));
    e = await rejection(doc.send(new BatchGetCommand({
      RequestItems: { hash: { Keys: keys }, range: { Keys: [{ pk: 'a', sk: 1 }] } },
    })));
    assertAwsError(e, 'ValidationException', 'Too many items requested for the BatchGetItem call');

    e = await rejection(ddb.send(new BatchGetItemCommand({
      RequestItems: { nope: { Keys: [{ pk: { S: 'a' } }] } },
    })));
    assertAwsError(e, 'ResourceNotFoundException', 'Requested resource not found');
  });
});

describe('TransactGetItems', () => {
  test('TransactGetCommand returns items in order, {} for a missing one', async () => {
    await doc.send(new BatchWriteCommand({
      RequestItems: { hash: [{ PutRequest: { Item: { pk: 'a', v: 1, w: 'x' } } }] },
    }));
    const out = await doc.send(new TransactGetCommand({
      TransactItems: [
        { Get: { TableName: 'hash', Key: { pk: 'zz' } } },
        { Get: { TableName: 'hash', Key: { pk: 'a' }, ProjectionExpression: 'v' } },
      ],
    }));
    assert.deepEqual(out.Responses, [{}, { Item: { v: 1 } }]);
  });

  test('TransactGetItemsCommand errors', async () => {
    let e = await rejection(ddb.send(new TransactGetItemsCommand({
      TransactItems: [
        { Get: { TableName: 'hash', Key: { pk: { S: 'a' } } } },
        { Get: { TableName: 'hash', Key: { pk: { S: 'a' } } } },
      ],
    })));
    assertAwsError(e, 'ValidationException',
      'Transaction request cannot include multiple operations on one item');
    e = await rejection(ddb.send(new TransactGetItemsCommand({
      TransactItems: [{ Get: { TableName: 'nope', Key: { pk: { S: 'a' } } } }],
    })));
    assertAwsError(e, 'ResourceNotFoundException', 'Requested resource not found');
  });
});
