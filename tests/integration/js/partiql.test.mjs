// partiql.test.mjs — PartiQL through the AWS SDK for JavaScript v3: the
// low-level ExecuteStatementCommand (SELECT / INSERT / UPDATE / DELETE,
// NextToken paging, DuplicateItemException), BatchExecuteStatementCommand's
// per-statement errors, ExecuteTransactionCommand's cancellation reasons,
// and the DocumentClient's ExecuteStatementCommand with native parameters.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  BatchExecuteStatementCommand, CreateTableCommand, DuplicateItemException,
  ExecuteStatementCommand, ExecuteTransactionCommand, GetItemCommand,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { ExecuteStatementCommand as DocExecuteStatementCommand } from '@aws-sdk/lib-dynamodb';

import { Tidepool, rejection, assertAwsError, stopChecked } from './tidepool.mjs';

const DUPLICATE = 'Duplicate primary key exists in table';

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
    TableName: 'orders',
    AttributeDefinitions: [{ AttributeName: 'customer', AttributeType: 'S' },
      { AttributeName: 'order', AttributeType: 'N' }],
    KeySchema: [{ AttributeName: 'customer', KeyType: 'HASH' },
      { AttributeName: 'order', KeyType: 'RANGE' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
});

const run = (Statement, Parameters, extra = {}) =>
  ddb.send(new ExecuteStatementCommand({ Statement, Parameters, ...extra }));

describe('ExecuteStatementCommand', () => {
  test('insert, query with a sort-key condition, update, delete', async () => {
    for (let i = 1; i <= 5; i++) {
      await run('INSERT INTO "orders" VALUE {\'customer\': ?, \'order\': ?, \'total\': ?}',
        [{ S: 'c1' }, { N: String(i) }, { N: String(i * 10) }]);
    }
    const q = await run('SELECT "order", total FROM orders WHERE customer = ? AND "order" > 2',
      [{ S: 'c1' }]);
    assert.deepEqual(q.Items.map((i) => i.order.N), ['3', '4', '5']);
    const u = await run('UPDATE orders SET total = total + 1 WHERE customer = \'c1\' AND "order" = 3 '
      + 'RETURNING MODIFIED NEW *');
    assert.deepEqual(u.Items, [{ total: { N: '31' } }]);
    const d = await run('DELETE FROM orders WHERE customer = \'c1\' AND "order" = 3');
    assert.deepEqual(d.Items, []);
    const gone = await ddb.send(new GetItemCommand({
      TableName: 'orders', Key: { customer: { S: 'c1' }, order: { N: '3' } },
    }));
    assert.equal(gone.Item, undefined);
  });

  test('pages with Limit and NextToken', async () => {
    for (let i = 1; i <= 5; i++) {
      await run(`INSERT INTO orders VALUE {'customer': 'c', 'order': ${i}}`);
    }
    const orders = [];
    let NextToken;
    let pages = 0;
    do {
      const r = await run('SELECT * FROM orders WHERE customer = \'c\'', undefined,
        { Limit: 2, NextToken });
      orders.push(...r.Items.map((i) => Number(i.order.N)));
      NextToken = r.NextToken;
      pages++;
    } while (NextToken);
    assert.deepEqual(orders, [1, 2, 3, 4, 5]);
    assert.equal(pages, 3);
  });

  test('INSERT of an existing item is DuplicateItemException', async () => {
    await run('INSERT INTO orders VALUE {\'customer\': \'c\', \'order\': 1}');
    const e = await rejection(run('INSERT INTO orders VALUE {\'customer\': \'c\', \'order\': 1}'));
    assert.ok(e instanceof DuplicateItemException);
    assertAwsError(e, 'DuplicateItemException', DUPLICATE);
  });

  test('malformed statements and writes without the whole key', async () => {
    assertAwsError(await rejection(run('DROP TABLE orders')), 'ValidationException',
      'Statement wasn\'t well formed, can\'t be processed: Expected data manipulation');
    assertAwsError(await rejection(run('DELETE FROM orders WHERE customer = \'c\'')),
      'ValidationException',
      'Where clause does not contain a mandatory equality on all key attributes');
  });

  test('DocumentClient parameters are native values', async () => {
    await doc.send(new DocExecuteStatementCommand({
      Statement: 'INSERT INTO orders VALUE {\'customer\': ?, \'order\': ?, \'tags\': ?}',
      Parameters: ['d', 7, ['x', 'y']],
    }));
    const r = await doc.send(new DocExecuteStatementCommand({
      Statement: 'SELECT * FROM orders WHERE customer = ?', Parameters: ['d'],
    }));
    assert.deepEqual(r.Items, [{ customer: 'd', order: 7, tags: ['x', 'y'] }]);
  });
});

describe('BatchExecuteStatementCommand and ExecuteTransactionCommand', () => {
  test('a batch reports each statement', async () => {
    await run('INSERT INTO orders VALUE {\'customer\': \'c\', \'order\': 1}');
    const r = await ddb.send(new BatchExecuteStatementCommand({
      Statements: [
        { Statement: 'INSERT INTO orders VALUE {\'customer\': \'c\', \'order\': 2}' },
        { Statement: 'INSERT INTO orders VALUE {\'customer\': \'c\', \'order\': 1}' },
      ],
    }));
    assert.equal(r.Responses[0].Error, undefined);
    assert.deepEqual(r.Responses[1].Error, { Code: 'DuplicateItem', Message: DUPLICATE });
  });

  test('a transaction is cancelled as a whole', async () => {
    await run('INSERT INTO orders VALUE {\'customer\': \'c\', \'order\': 1}');
    const e = await rejection(ddb.send(new ExecuteTransactionCommand({
      TransactStatements: [
        { Statement: 'INSERT INTO orders VALUE {\'customer\': \'c\', \'order\': 2}' },
        { Statement: 'UPDATE orders SET x = 1 WHERE customer = \'c\' AND "order" = 9' },
      ],
    })));
    assert.ok(e instanceof TransactionCanceledException);
    assert.deepEqual(e.CancellationReasons.map((c) => c.Code), ['None', 'ConditionalCheckFailed']);
    const r = await run('SELECT * FROM orders WHERE customer = \'c\'');
    assert.equal(r.Items.length, 1);
  });
});
