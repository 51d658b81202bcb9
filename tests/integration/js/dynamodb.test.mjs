// dynamodb.test.mjs — the AWS SDK for JavaScript v3 against tidepool:
// table lifecycle, items, projections, the DocumentClient, AWS's error
// wording and per-access-key isolation. Run with `node --test` here.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  CreateTableCommand, DeleteItemCommand, DeleteTableCommand, DescribeTableCommand,
  GetItemCommand, ListTablesCommand, PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

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

async function createTable(client, name, withSortKey = false) {
  const attrs = [{ AttributeName: 'pk', AttributeType: 'S' }];
  const keys = [{ AttributeName: 'pk', KeyType: 'HASH' }];
  if (withSortKey) {
    attrs.push({ AttributeName: 'sk', AttributeType: 'N' });
    keys.push({ AttributeName: 'sk', KeyType: 'RANGE' });
  }
  return client.send(new CreateTableCommand({
    TableName: name, AttributeDefinitions: attrs, KeySchema: keys, BillingMode: 'PAY_PER_REQUEST',
  }));
}

describe('tables', () => {
  test('CreateTable, DescribeTable, ListTables, DeleteTable', async () => {
    const created = await createTable(ddb, 'orders', true);
    const td = created.TableDescription;
    assert.equal(td.TableName, 'orders');
    assert.ok(['CREATING', 'ACTIVE'].includes(td.TableStatus), td.TableStatus);
    assert.deepEqual(td.KeySchema, [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    assert.match(td.TableArn, /^arn:aws:dynamodb:us-east-1:\d{12}:table\/orders$/);
    assert.equal(td.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    assert.ok(td.CreationDateTime instanceof Date);

    const described = (await ddb.send(new DescribeTableCommand({ TableName: 'orders' }))).Table;
    assert.equal(described.TableName, 'orders');
    assert.equal(described.TableStatus, 'ACTIVE');
    assert.equal(described.TableArn, td.TableArn);
    assert.equal(described.ItemCount, 0);

    await createTable(ddb, 'alpha');
    const listed = await ddb.send(new ListTablesCommand({}));
    assert.deepEqual(listed.TableNames, ['alpha', 'orders']);

    const deleted = await ddb.send(new DeleteTableCommand({ TableName: 'orders' }));
    assert.equal(deleted.TableDescription.TableName, 'orders');
    assert.equal(deleted.TableDescription.TableStatus, 'DELETING');
    assert.deepEqual((await ddb.send(new ListTablesCommand({}))).TableNames, ['alpha']);

    const e = await rejection(ddb.send(new DescribeTableCommand({ TableName: 'orders' })));
    assertAwsError(e, 'ResourceNotFoundException', 'Requested resource not found: Table: orders not found');
  });

  test('ListTables pages with Limit and ExclusiveStartTableName', async () => {
    for (const n of ['t-c', 't-a', 't-b']) await createTable(ddb, n);
    const first = await ddb.send(new ListTablesCommand({ Limit: 2 }));
    assert.deepEqual(first.TableNames, ['t-a', 't-b']);
    assert.equal(first.LastEvaluatedTableName, 't-b');
    const rest = await ddb.send(new ListTablesCommand({ ExclusiveStartTableName: first.LastEvaluatedTableName }));
    assert.deepEqual(rest.TableNames, ['t-c']);
    assert.equal(rest.LastEvaluatedTableName, undefined);
  });

  test('creating an existing table is ResourceInUseException', async () => {
    await createTable(ddb, 'dup');
    const e = await rejection(createTable(ddb, 'dup'));
    assert.equal(e.name, 'ResourceInUseException');
    assert.equal(e.$metadata.httpStatusCode, 400);
  });
});

describe('items', () => {
  beforeEach(async () => {
    await createTable(ddb, 'items');
  });

  test('PutItem, GetItem, DeleteItem with ReturnValues ALL_OLD', async () => {
    const item = {
      pk: { S: 'user#1' },
      name: { S: 'Ada' },
      age: { N: '36' },
      tags: { SS: ['a', 'b'] },
      blob: { B: new Uint8Array([0, 1, 2, 255]) },
      nested: { M: { ok: { BOOL: true }, none: { NULL: true }, list: { L: [{ N: '1' }, { S: 'x' }] } } },
    };
    const put = await ddb.send(new PutItemCommand({ TableName: 'items', Item: item }));
    assert.equal(put.Attributes, undefined);

    const got = await ddb.send(new GetItemCommand({ TableName: 'items', Key: { pk: { S: 'user#1' } } }));
    assert.deepEqual(got.Item, item);

    const replaced = await ddb.send(new PutItemCommand({
      TableName: 'items', Item: { pk: { S: 'user#1' }, name: { S: 'Grace' } }, ReturnValues: 'ALL_OLD',
    }));
    assert.deepEqual(replaced.Attributes, item);

    const removed = await ddb.send(new DeleteItemCommand({
      TableName: 'items', Key: { pk: { S: 'user#1' } }, ReturnValues: 'ALL_OLD',
    }));
    assert.deepEqual(removed.Attributes, { pk: { S: 'user#1' }, name: { S: 'Grace' } });

    const gone = await ddb.send(new GetItemCommand({ TableName: 'items', Key: { pk: { S: 'user#1' } } }));
    assert.equal(gone.Item, undefined);

    const again = await ddb.send(new DeleteItemCommand({
      TableName: 'items', Key: { pk: { S: 'user#1' } }, ReturnValues: 'ALL_OLD',
    }));
    assert.equal(again.Attributes, undefined);
  });

  test('ProjectionExpression returns only the named paths', async () => {
    await ddb.send(new PutItemCommand({
      TableName: 'items',
      Item: {
        pk: { S: 'p' }, a: { S: 'A' }, b: { N: '2' }, c: { S: 'C' },
        m: { M: { x: { N: '1' }, y: { N: '2' } } }, l: { L: [{ S: 'l0' }, { S: 'l1' }, { S: 'l2' }] },
      },
    }));
    const out = await ddb.send(new GetItemCommand({
      TableName: 'items', Key: { pk: { S: 'p' } },
      ProjectionExpression: 'a, #b, m.y, l[1]',
      ExpressionAttributeNames: { '#b': 'b' },
    }));
    assert.deepEqual(out.Item, {
      a: { S: 'A' }, b: { N: '2' }, m: { M: { y: { N: '2' } } }, l: { L: [{ S: 'l1' }] },
    });
  });

  test('DocumentClient put and get with native JS values', async () => {
    const doc = tp.docClient({ maxAttempts: 1 });
    const item = {
      pk: 'doc#1', n: 42, f: 1.5, s: 'text', yes: true, nothing: null,
      list: [1, 'two', { three: 3 }], map: { deep: { deeper: 'x' } },
      set: new Set(['x', 'y']),
    };
    await doc.send(new PutCommand({ TableName: 'items', Item: item }));
    const got = await doc.send(new GetCommand({ TableName: 'items', Key: { pk: 'doc#1' } }));
    assert.deepEqual(got.Item, item);

    const raw = await ddb.send(new GetItemCommand({ TableName: 'items', Key: { pk: { S: 'doc#1' } } }));
    assert.deepEqual(raw.Item.n, { N: '42' });
    assert.deepEqual(raw.Item.set.SS.slice().sort(), ['x', 'y']);
    assert.deepEqual(raw.Item.nothing, { NULL: true });
  });
});

describe('data survives byte for byte', () => {
  test('U+0000, control characters and non-BMP text round-trip in keys, values and names', async () => {
    await ddb.send(new CreateTableCommand({
      TableName: 'texts', BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }));
    const values = ['a\u0000b', '\u0000', 'ctl\u0001\u001f\u007f', '\u{1F600}\u0000\u00e9'];
    for (const v of values) {
      const item = { pk: { S: v }, v: { S: v }, ['n\u0000' + v]: { SS: [v, v + '\u0000'] },
        m: { M: { [v]: { L: [{ S: v }] } } } };
      await ddb.send(new PutItemCommand({ TableName: 'texts', Item: item }));
      const got = await ddb.send(new GetItemCommand({
        TableName: 'texts', Key: { pk: { S: v } }, ConsistentRead: true,
      }));
      assert.equal(got.Item.v.S, v);
      assert.deepEqual([...got.Item['n\u0000' + v].SS].sort(), [v, v + '\u0000'].sort());
      assert.deepEqual(got.Item.m, item.m);
    }
    // DocumentClient: native strings with NULs.
    const doc = tp.docClient({ maxAttempts: 1 });
    await doc.send(new PutCommand({ TableName: 'texts', Item: { pk: 'doc\u0000', s: 'x\u0000y' } }));
    const d = await doc.send(new GetCommand({ TableName: 'texts', Key: { pk: 'doc\u0000' } }));
    assert.equal(d.Item.s, 'x\u0000y');
  });
});

describe('errors', () => {
  test('GetItem on a missing table is ResourceNotFoundException', async () => {
    const e = await rejection(ddb.send(new GetItemCommand({ TableName: 'nope', Key: { pk: { S: 'x' } } })));
    assertAwsError(e, 'ResourceNotFoundException', 'Requested resource not found');
  });

  test('PutItem without the key attribute is ValidationException', async () => {
    await createTable(ddb, 'keyed');
    const e = await rejection(ddb.send(new PutItemCommand({ TableName: 'keyed', Item: { other: { S: 'v' } } })));
    assertAwsError(e, 'ValidationException', 'One or more parameter values were invalid: Missing the key pk in the item');
  });

  test('a too-short table name is refused before the other constraints', async () => {
    const e = await rejection(createTable(ddb, 'ab'));
    assertAwsError(e, 'ValidationException',
      'TableName must be at least 3 characters long and at most 255 characters long');
  });

  test('an item action words a short table name as a collected constraint', async () => {
    const e = await rejection(ddb.send(new GetItemCommand({ TableName: 'ab', Key: { pk: { S: 'x' } } })));
    assertAwsError(e, 'ValidationException',
      "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: "
      + 'Member must have length greater than or equal to 3');
  });

  test('errors carry a request id', async () => {
    const e = await rejection(ddb.send(new GetItemCommand({ TableName: 'nope', Key: { pk: { S: 'x' } } })));
    assert.ok(e.$metadata.requestId, 'x-amzn-RequestId is set');
  });
});

describe('isolation', () => {
  test('a table created with one access key is not listed for another', async () => {
    const a = tp.client({ accessKeyId: 'AKIDALICE', maxAttempts: 1 });
    const b = tp.client({ accessKeyId: 'AKIDBOB', maxAttempts: 1 });
    try {
      await createTable(a, 'private');
      assert.deepEqual((await a.send(new ListTablesCommand({}))).TableNames, ['private']);
      assert.deepEqual((await b.send(new ListTablesCommand({}))).TableNames, []);
      const e = await rejection(b.send(new DescribeTableCommand({ TableName: 'private' })));
      assert.equal(e.name, 'ResourceNotFoundException');
      // The same name is free for the other key.
      await createTable(b, 'private');
      assert.deepEqual((await b.send(new ListTablesCommand({}))).TableNames, ['private']);
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  test('the region is part of the scope too', async () => {
    const east = tp.client({ region: 'us-east-1', maxAttempts: 1 });
    const west = tp.client({ region: 'eu-west-1', maxAttempts: 1 });
    try {
      await createTable(east, 'regional');
      assert.deepEqual((await west.send(new ListTablesCommand({}))).TableNames, []);
    } finally {
      east.destroy();
      west.destroy();
    }
  });
});
