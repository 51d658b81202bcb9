// kinesis.test.mjs — Kinesis Data Streams through the AWS SDK for
// JavaScript v3 (@aws-sdk/client-kinesis, JSON 1.1): streams addressed by
// name and by ARN, records routed onto shards and read back with every
// iterator type, PutRecords, resharding lineage, consumers, iterator expiry
// on the virtual clock, shard limits, and AWS's modeled exceptions.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, test } from 'node:test';

import {
  CreateStreamCommand, DeleteStreamCommand, DescribeStreamCommand, DescribeStreamSummaryCommand,
  GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, ListStreamsCommand,
  MergeShardsCommand, PutRecordCommand, PutRecordsCommand, RegisterStreamConsumerCommand,
  DescribeStreamConsumerCommand, SplitShardCommand, UpdateShardCountCommand, AddTagsToStreamCommand,
  ListTagsForStreamCommand, ResourceNotFoundException, ResourceInUseException,
  InvalidArgumentException, ExpiredIteratorException, ProvisionedThroughputExceededException,
} from '@aws-sdk/client-kinesis';

import { NodeHttpHandler } from '@smithy/node-http-handler';

import { Tidepool, rejection, assertAwsError, stopChecked } from './tidepool.mjs';

const tp = new Tidepool();
let k;

before(async () => {
  await tp.start();
  // The Kinesis client speaks HTTP/2 by default (for SubscribeToShard);
  // tidepool serves HTTP/1.1, so the test hands it the HTTP/1.1 handler.
  k = new KinesisClient({ ...tp.clientConfig({ maxAttempts: 1 }), requestHandler: new NodeHttpHandler() });
});

after(async () => {
  k?.destroy();
  await stopChecked(tp);
});

beforeEach(async () => {
  await tp.reset();
});

const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

async function readAll(StreamName, ShardId, type = 'TRIM_HORIZON', extra = {}) {
  let it = (await k.send(new GetShardIteratorCommand({
    StreamName, ShardId, ShardIteratorType: type, ...extra,
  }))).ShardIterator;
  const out = [];
  let page;
  while (it) {
    page = await k.send(new GetRecordsCommand({ ShardIterator: it }));
    out.push(...page.Records);
    if (!page.Records.length) break;
    it = page.NextShardIterator;
  }
  return { records: out, last: page };
}

test('create, describe by name and ARN, list, tags, delete', async () => {
  await k.send(new CreateStreamCommand({ StreamName: 'js', ShardCount: 2 }));
  const sum = (await k.send(new DescribeStreamSummaryCommand({ StreamName: 'js' }))).StreamDescriptionSummary;
  assert.equal(sum.StreamStatus, 'ACTIVE');
  assert.equal(sum.OpenShardCount, 2);
  assert.ok(sum.StreamCreationTimestamp instanceof Date);
  const byArn = (await k.send(new DescribeStreamCommand({ StreamARN: sum.StreamARN }))).StreamDescription;
  assert.equal(byArn.StreamName, 'js');
  assert.equal(byArn.Shards[1].HashKeyRange.StartingHashKey, (2n ** 127n).toString());
  const list = await k.send(new ListStreamsCommand({}));
  assert.deepEqual(list.StreamNames, ['js']);
  assert.equal(list.StreamSummaries[0].StreamARN, sum.StreamARN);
  await k.send(new AddTagsToStreamCommand({ StreamName: 'js', Tags: { a: '1' } }));
  assert.deepEqual((await k.send(new ListTagsForStreamCommand({ StreamName: 'js' }))).Tags, [{ Key: 'a', Value: '1' }]);
  const e = await rejection(k.send(new CreateStreamCommand({ StreamName: 'js', ShardCount: 1 })));
  assert.ok(e instanceof ResourceInUseException);
  await k.send(new DeleteStreamCommand({ StreamName: 'js' }));
  const gone = await rejection(k.send(new DescribeStreamCommand({ StreamName: 'js' })));
  assert.ok(gone instanceof ResourceNotFoundException);
  assert.match(gone.message, /^Stream js under account \d{12} not found\.$/);
});

test('records: MD5 routing, order, iterator types, PutRecords', async () => {
  await k.send(new CreateStreamCommand({ StreamName: 'd', ShardCount: 3 }));
  const shards = (await k.send(new ListShardsCommand({ StreamName: 'd' }))).Shards;
  const seqs = [];
  for (let i = 0; i < 6; i++) {
    const key = `k${i}`;
    const out = await k.send(new PutRecordCommand({ StreamName: 'd', Data: enc(`v${i}`), PartitionKey: key }));
    const h = BigInt('0x' + createHash('md5').update(key).digest('hex'));
    const sh = shards.find((s) => s.ShardId === out.ShardId);
    assert.ok(BigInt(sh.HashKeyRange.StartingHashKey) <= h && h <= BigInt(sh.HashKeyRange.EndingHashKey));
    assert.match(out.SequenceNumber, /^\d{56}$/);
    seqs.push(out);
  }
  const first = seqs[0];
  const { records } = await readAll('d', first.ShardId);
  const mine = seqs.filter((s) => s.ShardId === first.ShardId).map((s) => s.SequenceNumber);
  assert.deepEqual(records.map((r) => r.SequenceNumber), mine);
  assert.equal(dec(records[0].Data), 'v0');
  assert.ok(records[0].ApproximateArrivalTimestamp instanceof Date);
  const after1 = await readAll('d', first.ShardId, 'AFTER_SEQUENCE_NUMBER', { StartingSequenceNumber: first.SequenceNumber });
  assert.equal(after1.records.length, mine.length - 1);

  const batch = await k.send(new PutRecordsCommand({
    StreamName: 'd',
    Records: Array.from({ length: 100 }, (_, i) => ({ Data: enc(`b${i}`), PartitionKey: `p${i}` })),
  }));
  assert.equal(batch.FailedRecordCount, 0);
  assert.equal(batch.Records.length, 100);
  assert.ok(batch.Records.every((r) => r.SequenceNumber && r.ShardId));
});

test('resharding and ChildShards', async () => {
  await k.send(new CreateStreamCommand({ StreamName: 'r', ShardCount: 2 }));
  await k.send(new PutRecordCommand({ StreamName: 'r', Data: enc('x'), PartitionKey: 'p', ExplicitHashKey: '0' }));
  await k.send(new SplitShardCommand({ StreamName: 'r', ShardToSplit: 'shardId-000000000000', NewStartingHashKey: (2n ** 126n).toString() }));
  const { records, last } = await readAll('r', 'shardId-000000000000');
  assert.equal(records.length, 1);
  assert.equal(last.NextShardIterator, undefined);
  assert.deepEqual(last.ChildShards.map((c) => c.ShardId).sort(), ['shardId-000000000002', 'shardId-000000000003']);
  await k.send(new MergeShardsCommand({ StreamName: 'r', ShardToMerge: 'shardId-000000000002', AdjacentShardToMerge: 'shardId-000000000003' }));
  const shards = (await k.send(new ListShardsCommand({ StreamName: 'r', ShardFilter: { Type: 'AT_LATEST' } }))).Shards;
  assert.deepEqual(shards.map((s) => s.ShardId), ['shardId-000000000001', 'shardId-000000000004']);
  const up = await k.send(new UpdateShardCountCommand({ StreamName: 'r', TargetShardCount: 4, ScalingType: 'UNIFORM_SCALING' }));
  assert.equal(up.CurrentShardCount, 2);
  const bad = await rejection(k.send(new SplitShardCommand({ StreamName: 'r', ShardToSplit: 'shardId-000000000005', NewStartingHashKey: '1' })));
  assert.ok(bad instanceof InvalidArgumentException);
});

test('iterators expire after five minutes of tidepool time', async () => {
  await k.send(new CreateStreamCommand({ StreamName: 'e', ShardCount: 1 }));
  const it = (await k.send(new GetShardIteratorCommand({ StreamName: 'e', ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' }))).ShardIterator;
  await tp.advance(300001);
  const e = await rejection(k.send(new GetRecordsCommand({ ShardIterator: it })));
  assert.ok(e instanceof ExpiredIteratorException);
  assert.match(e.message, /^Iterator expired\. The iterator was created at time .* UTC \d{4} while right now it is .* which is further in the future than the tolerated delay of 300000 milliseconds\.$/);
  assertAwsError(await rejection(k.send(new GetRecordsCommand({ ShardIterator: 'bm9wZQ==' }))),
    'InvalidArgumentException', 'Invalid ShardIterator.');
});

test('consumers', async () => {
  await k.send(new CreateStreamCommand({ StreamName: 'c', ShardCount: 1 }));
  const arn = (await k.send(new DescribeStreamSummaryCommand({ StreamName: 'c' }))).StreamDescriptionSummary.StreamARN;
  const c = (await k.send(new RegisterStreamConsumerCommand({ StreamARN: arn, ConsumerName: 'app' }))).Consumer;
  assert.equal(c.ConsumerStatus, 'CREATING');
  const d = (await k.send(new DescribeStreamConsumerCommand({ ConsumerARN: c.ConsumerARN }))).ConsumerDescription;
  assert.equal(d.ConsumerStatus, 'ACTIVE');
  assert.equal(d.StreamARN, arn);
});

test('shard limits: 1,000 records/s in and 5 GetRecords calls/s out, in virtual time', async () => {
  await k.send(new CreateStreamCommand({ StreamName: 'lim', ShardCount: 1 }));
  const arn = (await k.send(new DescribeStreamSummaryCommand({ StreamName: 'lim' }))).StreamDescriptionSummary.StreamARN;
  const account = arn.split(':')[4];
  const batch = (n) => ({ StreamName: 'lim', Records: Array.from({ length: n }, (_, i) => ({ Data: enc(`r${i}`), PartitionKey: 'p' })) });
  assert.equal((await k.send(new PutRecordsCommand(batch(500)))).FailedRecordCount, 0);
  assert.equal((await k.send(new PutRecordsCommand(batch(499)))).FailedRecordCount, 0);
  const out = await k.send(new PutRecordsCommand(batch(3)));
  assert.equal(out.FailedRecordCount, 2);
  assert.equal(out.Records[0].ShardId, 'shardId-000000000000');
  assert.equal(out.Records[2].ErrorCode, 'ProvisionedThroughputExceededException');
  assert.equal(out.Records[2].ErrorMessage, `Rate exceeded for shard shardId-000000000000 in stream lim under account ${account}.`);
  const put = await rejection(k.send(new PutRecordCommand({ StreamName: 'lim', Data: enc('x'), PartitionKey: 'p' })));
  assert.ok(put instanceof ProvisionedThroughputExceededException);
  await tp.advance(1000);
  await k.send(new PutRecordCommand({ StreamName: 'lim', Data: enc('x'), PartitionKey: 'p' }));
  const it = (await k.send(new GetShardIteratorCommand({ StreamName: 'lim', ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' }))).ShardIterator;
  for (let i = 0; i < 5; i++) await k.send(new GetRecordsCommand({ ShardIterator: it }));
  const get = await rejection(k.send(new GetRecordsCommand({ ShardIterator: it })));
  assert.ok(get instanceof ProvisionedThroughputExceededException);
  assertAwsError(get, 'ProvisionedThroughputExceededException', `Rate exceeded for Shard - ${account}/lim/shardId-000000000000`);
  await tp.advance(200);
  await k.send(new GetRecordsCommand({ ShardIterator: it }));
});
