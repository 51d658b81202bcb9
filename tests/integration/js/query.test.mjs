// query.test.mjs — Query and Scan through the AWS SDK for JavaScript v3:
// QueryCommand / ScanCommand on the low-level client, the DocumentClient's
// QueryCommand and ScanCommand, paginateQuery / paginateScan walking
// LastEvaluatedKey, a GSI query, parallel Scan segments, and AWS's error
// wording for key conditions.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import { CreateTableCommand, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  QueryCommand as DocQueryCommand, ScanCommand as DocScanCommand, paginateQuery, paginateScan,
} from '@aws-sdk/lib-dynamodb';

import { Tidepool, rejection, stopChecked } from './tidepool.mjs';

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
    TableName: 'events',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'N' },
      { AttributeName: 'kind', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
    GlobalSecondaryIndexes: [{
      IndexName: 'byKind', KeySchema: [{ AttributeName: 'kind', KeyType: 'HASH' }],
      Projection: { ProjectionType: 'ALL' },
    }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  // 20 items: pk u0..u3, sk -10..9 (numbers sort numerically), kind only on even sk.
  for (let i = 0; i < 20; i++) {
    const item = { pk: { S: `u${i % 4}` }, sk: { N: String(i - 10) }, n: { N: String(i) } };
    if (i % 2 === 0) item.kind = { S: 'even' };
    await ddb.send(new PutItemCommand({ TableName: 'events', Item: item }));
  }
});

describe('QueryCommand', () => {
  test('partition in sort-key order, reversed, with a range condition', async () => {
    // u0 holds i = 0, 4, 8, 12, 16 -> sk -10, -6, -2, 2, 6
    const out = await ddb.send(new QueryCommand({
      TableName: 'events', KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': { S: 'u0' } },
    }));
    assert.deepEqual(out.Items.map((i) => i.sk.N), ['-10', '-6', '-2', '2', '6']);
    assert.equal(out.Count, 5);
    assert.equal(out.ScannedCount, 5);
    const rev = await ddb.send(new QueryCommand({
      TableName: 'events', KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
      ExpressionAttributeValues: { ':p': { S: 'u0' }, ':a': { N: '-6' }, ':b': { N: '2' } },
      ScanIndexForward: false,
    }));
    assert.deepEqual(rev.Items.map((i) => i.sk.N), ['2', '-2', '-6']);
  });

  test('DocumentClient QueryCommand with a filter and a GSI', async () => {
    const out = await doc.send(new DocQueryCommand({
      TableName: 'events', KeyConditionExpression: 'pk = :p AND sk > :z',
      FilterExpression: 'n > :n', ExpressionAttributeValues: { ':p': 'u1', ':z': -100, ':n': 10 },
    }));
    // u1 holds i = 1, 5, 9, 13, 17; n > 10 keeps 13 and 17.
    assert.deepEqual(out.Items.map((i) => i.n), [13, 17]);
    assert.equal(out.ScannedCount, 5);
    const gsi = await doc.send(new DocQueryCommand({
      TableName: 'events', IndexName: 'byKind', KeyConditionExpression: 'kind = :k',
      ExpressionAttributeValues: { ':k': 'even' }, Select: 'COUNT',
    }));
    assert.equal(gsi.Count, 10);
    assert.equal(gsi.Items, undefined);
  });

  test('paginateQuery walks LastEvaluatedKey', async () => {
    const seen = [];
    let pages = 0;
    for await (const page of paginateQuery({ client: doc, pageSize: 2 }, {
      TableName: 'events', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': 'u2' },
    })) {
      pages++;
      seen.push(...page.Items.map((i) => i.sk));
    }
    assert.deepEqual(seen, [-8, -4, 0, 4, 8]);
    assert.equal(pages, 3);
  });

  test('key condition errors', async () => {
    const cases = [
      [{ KeyConditionExpression: 'sk = :v', ExpressionAttributeValues: { ':v': { N: '1' } } },
        'Query condition missed key schema element: pk'],
      [{ KeyConditionExpression: 'pk = :v OR sk = :v', ExpressionAttributeValues: { ':v': { N: '1' } } },
        'Invalid operator used in KeyConditionExpression: OR'],
      [{ KeyConditionExpression: 'pk = :p AND sk = :v', ExpressionAttributeValues: { ':p': { S: 'a' }, ':v': { S: '1' } } },
        'One or more parameter values were invalid: Condition parameter type does not match schema type'],
      [{ KeyConditionExpression: 'pk = :p', FilterExpression: 'sk > :v',
        ExpressionAttributeValues: { ':p': { S: 'a' }, ':v': { N: '1' } } },
        'Filter Expression can only contain non-primary key attributes: Primary key attribute: sk'],
      [{ KeyConditionExpression: 'kind = :p', IndexName: 'byKind', ConsistentRead: true,
        ExpressionAttributeValues: { ':p': { S: 'a' } } },
        'Consistent reads are not supported on global secondary indexes'],
    ];
    for (const [input, message] of cases) {
      const e = await rejection(ddb.send(new QueryCommand({ TableName: 'events', ...input })));
      assert.equal(e.name, 'ValidationException');
      assert.equal(e.message, message);
      assert.equal(e.$metadata?.httpStatusCode, 400);
    }
  });
});

describe('ScanCommand', () => {
  test('paginateScan sees every item once', async () => {
    const keys = new Set();
    for await (const page of paginateScan({ client: doc, pageSize: 6 }, { TableName: 'events' })) {
      for (const i of page.Items) keys.add(`${i.pk}/${i.sk}`);
    }
    assert.equal(keys.size, 20);
  });

  test('parallel segments are disjoint and complete', async () => {
    const seen = new Map();
    for (let seg = 0; seg < 3; seg++) {
      const out = await ddb.send(new ScanCommand({ TableName: 'events', Segment: seg, TotalSegments: 3 }));
      for (const i of out.Items) {
        const k = `${i.pk.S}/${i.sk.N}`;
        assert.ok(!seen.has(k), `${k} in two segments`);
        seen.set(k, seg);
      }
    }
    assert.equal(seen.size, 20);
    const segOf = new Map();
    for (const [k, seg] of seen) {
      const pk = k.split('/')[0];
      if (segOf.has(pk)) assert.equal(segOf.get(pk), seg, `partition ${pk} split across segments`);
      segOf.set(pk, seg);
    }
  });

  test('DocumentClient ScanCommand filter on a key attribute; segment error', async () => {
    const out = await doc.send(new DocScanCommand({
      TableName: 'events', FilterExpression: 'sk >= :s', ExpressionAttributeValues: { ':s': 8 },
    }));
    assert.deepEqual(out.Items.map((i) => i.sk).sort((a, b) => a - b), [8, 9]);
    const e = await rejection(ddb.send(new ScanCommand({ TableName: 'events', Segment: 2, TotalSegments: 2 })));
    assert.equal(e.name, 'ValidationException');
    assert.equal(e.message, 'The Segment parameter is zero-based and must be less than parameter '
      + 'TotalSegments: Segment: 2 is not less than TotalSegments: 2');
  });
});
