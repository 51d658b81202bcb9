// streams.test.mjs — the DynamoDB Streams API through the AWS SDK for
// JavaScript v3 (@aws-sdk/client-dynamodb-streams): writes made with the
// DynamoDB client read back through ListStreams -> DescribeStream ->
// GetShardIterator -> GetRecords, per view type; LATEST vs TRIM_HORIZON,
// AT/AFTER_SEQUENCE_NUMBER, iterator expiry and shard rollover on the
// virtual clock; AWS's error names and wording.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';

import {
  CreateTableCommand, DeleteItemCommand, PutItemCommand, UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';

import { Tidepool, rejection, assertAwsError, stopChecked } from './tidepool.mjs';

const MIN = 60 * 1000;
const HOUR = 60 * MIN;

const tp = new Tidepool();
let ddb;
let streams;

before(async () => {
  await tp.start();
  ddb = tp.client({ maxAttempts: 1 });
  streams = tp.streamsClient({ maxAttempts: 1 });
});

after(async () => {
  ddb?.destroy();
  streams?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
});

async function createTable(view, name = 'orders') {
  const out = await ddb.send(new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamEnabled: true, StreamViewType: view },
  }));
  return out.TableDescription.LatestStreamArn;
}

const put = (pk, extra = {}) => ddb.send(new PutItemCommand({
  TableName: 'orders', Item: { pk: { S: pk }, ...extra },
}));

async function shards(arn) {
  return (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription.Shards;
}

async function iterator(arn, shardId, type = 'TRIM_HORIZON', seq) {
  const out = await streams.send(new GetShardIteratorCommand({
    StreamArn: arn, ShardId: shardId, ShardIteratorType: type, ...(seq ? { SequenceNumber: seq } : {}),
  }));
  return out.ShardIterator;
}

const keys = (records) => records.map((r) => r.dynamodb.Keys.pk.S);

describe('reading records', () => {
  for (const view of ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES']) {
    test(`INSERT, MODIFY and REMOVE with ${view}`, async () => {
      const arn = await createTable(view);
      await put('a', { x: { N: '1' } });
      await ddb.send(new UpdateItemCommand({
        TableName: 'orders', Key: { pk: { S: 'a' } }, UpdateExpression: 'SET x = :v',
        ExpressionAttributeValues: { ':v': { N: '2' } },
      }));
      await ddb.send(new DeleteItemCommand({ TableName: 'orders', Key: { pk: { S: 'a' } } }));

      const listed = await streams.send(new ListStreamsCommand({ TableName: 'orders' }));
      assert.deepEqual(listed.Streams.map((s) => s.StreamArn), [arn]);
      const desc = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription;
      assert.equal(desc.StreamStatus, 'ENABLED');
      assert.equal(desc.StreamViewType, view);
      assert.ok(desc.CreationRequestDateTime instanceof Date);
      const it = await iterator(arn, desc.Shards[0].ShardId);
      const out = await streams.send(new GetRecordsCommand({ ShardIterator: it }));
      assert.ok(out.NextShardIterator);
      assert.deepEqual(out.Records.map((r) => r.eventName), ['INSERT', 'MODIFY', 'REMOVE']);
      const one = { pk: { S: 'a' }, x: { N: '1' } };
      const two = { pk: { S: 'a' }, x: { N: '2' } };
      const wantNew = [one, two, undefined];
      const wantOld = [undefined, one, two];
      let prev = 0n;
      out.Records.forEach((r, i) => {
        assert.match(r.eventID, /^[0-9a-f]{32}$/);
        assert.equal(r.eventVersion, '1.1');
        assert.equal(r.eventSource, 'aws:dynamodb');
        assert.equal(r.awsRegion, 'us-east-1');
        assert.equal(r.eventSourceARN, undefined);
        const d = r.dynamodb;
        assert.ok(d.ApproximateCreationDateTime instanceof Date);
        assert.deepEqual(d.Keys, { pk: { S: 'a' } });
        assert.equal(d.StreamViewType, view);
        assert.ok(d.SizeBytes > 0);
        assert.match(d.SequenceNumber, /^[0-9]{21,40}$/);
        assert.ok(BigInt(d.SequenceNumber) > prev);
        prev = BigInt(d.SequenceNumber);
        const hasNew = view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES';
        const hasOld = view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES';
        assert.deepEqual(d.NewImage, hasNew ? wantNew[i] : undefined);
        assert.deepEqual(d.OldImage, hasOld ? wantOld[i] : undefined);
      });
    });
  }
});

describe('iterators', () => {
  test('LATEST, TRIM_HORIZON, AT and AFTER_SEQUENCE_NUMBER', async () => {
    const arn = await createTable('KEYS_ONLY');
    const [shard] = await shards(arn);
    await put('a');
    const latest = await iterator(arn, shard.ShardId, 'LATEST');
    await put('b');
    await put('c');
    const fromLatest = await streams.send(new GetRecordsCommand({ ShardIterator: latest }));
    assert.deepEqual(keys(fromLatest.Records), ['b', 'c']);
    const all = await streams.send(new GetRecordsCommand({
      ShardIterator: await iterator(arn, shard.ShardId), Limit: 2,
    }));
    assert.deepEqual(keys(all.Records), ['a', 'b']);
    const rest = await streams.send(new GetRecordsCommand({ ShardIterator: all.NextShardIterator }));
    assert.deepEqual(keys(rest.Records), ['c']);
    const seqB = all.Records[1].dynamodb.SequenceNumber;
    const at = await iterator(arn, shard.ShardId, 'AT_SEQUENCE_NUMBER', seqB);
    const afterB = await iterator(arn, shard.ShardId, 'AFTER_SEQUENCE_NUMBER', seqB);
    assert.deepEqual(keys((await streams.send(new GetRecordsCommand({ ShardIterator: at }))).Records), ['b', 'c']);
    assert.deepEqual(keys((await streams.send(new GetRecordsCommand({ ShardIterator: afterB }))).Records), ['c']);
  });

  test('an iterator expires after 15 minutes of tidepool time', async () => {
    const arn = await createTable('KEYS_ONLY');
    const [shard] = await shards(arn);
    const it = await iterator(arn, shard.ShardId);
    await tp.advance(15 * MIN + 1);
    const e = await rejection(streams.send(new GetRecordsCommand({ ShardIterator: it })));
    assert.equal(e.name, 'ExpiredIteratorException');
    assert.match(e.message, /^Iterator expired\. The iterator was created at time .* UTC \d{4} while right now it is .* UTC \d{4} which is further in the future than the tolerated delay of 900000 milliseconds\.$/);
  });
});

describe('shard rollover', () => {
  test('a closed parent read to its end has no NextShardIterator; the child follows', async () => {
    const arn = await createTable('NEW_IMAGE');
    await put('p');
    await tp.advance(4 * HOUR);
    await put('c');
    const [parent, child] = await shards(arn);
    assert.ok(parent.SequenceNumberRange.EndingSequenceNumber);
    assert.equal(child.ParentShardId, parent.ShardId);
    assert.equal(child.SequenceNumberRange.EndingSequenceNumber, undefined);
    const p = await streams.send(new GetRecordsCommand({ ShardIterator: await iterator(arn, parent.ShardId) }));
    assert.deepEqual(keys(p.Records), ['p']);
    assert.equal(p.NextShardIterator, undefined);
    const c = await streams.send(new GetRecordsCommand({ ShardIterator: await iterator(arn, child.ShardId) }));
    assert.deepEqual(keys(c.Records), ['c']);
    assert.ok(c.NextShardIterator);
  });
});

describe('errors', () => {
  test('bad ARNs, missing streams and shards, bad iterators', async () => {
    const arn = await createTable('KEYS_ONLY');
    const [shard] = await shards(arn);
    assertAwsError(await rejection(streams.send(new DescribeStreamCommand({
      StreamArn: 'sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf',
    }))), 'ValidationException', 'Invalid StreamArn');
    const missing = arn.replace('table/orders/', 'table/gone/');
    assertAwsError(await rejection(streams.send(new DescribeStreamCommand({ StreamArn: missing }))),
      'ResourceNotFoundException', `Requested resource not found: Stream: ${missing} not found`);
    assertAwsError(await rejection(streams.send(new GetShardIteratorCommand({
      StreamArn: arn, ShardId: 'shardId-00000000000000000000-00000000', ShardIteratorType: 'LATEST',
    }))), 'ResourceNotFoundException', 'Requested resource not found: Shard does not exist');
    assertAwsError(await rejection(streams.send(new GetRecordsCommand({
      ShardIterator: 'sdfsdfsgagaddafgagasgasgasdfasdfasdfasdfasdgasdasdgasdg',
    }))), 'ValidationException', 'Invalid ShardIterator');
    const it = await iterator(arn, shard.ShardId);
    assertAwsError(await rejection(streams.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1001 }))),
      'ValidationException',
      'One or more parameter values were invalid: Limit should be less than or equal to 1000');
  });
});
