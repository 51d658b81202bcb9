// tables.test.mjs — the JS SDK v3 on the rest of the table control plane:
// UpdateTable, DescribeLimits, DescribeEndpoints, tags and TTL settings,
// with AWS's wording on the error paths.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import {
  CreateTableCommand, DescribeEndpointsCommand, DescribeLimitsCommand, DescribeTableCommand,
  DescribeTimeToLiveCommand, ListTagsOfResourceCommand, TagResourceCommand,
  UntagResourceCommand, UpdateTableCommand, UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

import { Tidepool, rejection, stopChecked } from './tidepool.mjs';

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

async function provisioned(name) {
  const out = await ddb.send(new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
  }));
  return out.TableDescription;
}

test('UpdateTable changes throughput, billing mode and streams', async () => {
  await provisioned('orders');
  await ddb.send(new UpdateTableCommand({
    TableName: 'orders', ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 20 },
  }));
  let t = (await ddb.send(new DescribeTableCommand({ TableName: 'orders' }))).Table;
  assert.equal(t.ProvisionedThroughput.ReadCapacityUnits, 10);
  assert.equal(t.ProvisionedThroughput.WriteCapacityUnits, 20);
  assert.equal(t.TableStatus, 'ACTIVE');

  await ddb.send(new UpdateTableCommand({
    TableName: 'orders', StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
  }));
  t = (await ddb.send(new DescribeTableCommand({ TableName: 'orders' }))).Table;
  assert.deepEqual(t.StreamSpecification, { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' });
  assert.match(t.LatestStreamArn,
    /^arn:aws:dynamodb:us-east-1:\d{12}:table\/orders\/stream\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
  assert.equal(t.LatestStreamArn.endsWith(t.LatestStreamLabel), true);

  await ddb.send(new UpdateTableCommand({ TableName: 'orders', BillingMode: 'PAY_PER_REQUEST' }));
  t = (await ddb.send(new DescribeTableCommand({ TableName: 'orders' }))).Table;
  assert.equal(t.BillingModeSummary.BillingMode, 'PAY_PER_REQUEST');

  const e = await rejection(ddb.send(new UpdateTableCommand({ TableName: 'missing' ,
    ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } })));
  assert.equal(e.name, 'ResourceNotFoundException');
  assert.equal(e.message, 'Requested resource not found: Table: missing not found');
});

test('DescribeLimits and DescribeEndpoints answer with AWS defaults', async () => {
  const limits = await ddb.send(new DescribeLimitsCommand({}));
  assert.equal(limits.AccountMaxReadCapacityUnits, 80000);
  assert.equal(limits.TableMaxWriteCapacityUnits, 40000);
  const ep = await ddb.send(new DescribeEndpointsCommand({}));
  assert.equal(ep.Endpoints[0].Address, 'dynamodb.us-east-1.amazonaws.com');
  assert.equal(ep.Endpoints[0].CachePeriodInMinutes, 1440);
});

test('tags: add, list, remove, and a missing table', async () => {
  const arn = (await provisioned('tagged')).TableArn;
  await ddb.send(new TagResourceCommand({
    ResourceArn: arn, Tags: [{ Key: 'team', Value: 'pay' }, { Key: 'env', Value: 'ci' }],
  }));
  let tags = (await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags;
  assert.deepEqual(tags.map((x) => x.Key).sort(), ['env', 'team']);
  await ddb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['env'] }));
  tags = (await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags;
  assert.deepEqual(tags, [{ Key: 'team', Value: 'pay' }]);

  const missing = arn.replace('table/tagged', 'table/nothere');
  const e = await rejection(ddb.send(new ListTagsOfResourceCommand({ ResourceArn: missing })));
  assert.equal(e.name, 'ResourceNotFoundException');
  assert.equal(e.message, `Requested resource not found: ResourceArn: ${missing} not found`);
});

test('time to live settings', async () => {
  await provisioned('expiring');
  let d = await ddb.send(new DescribeTimeToLiveCommand({ TableName: 'expiring' }));
  assert.deepEqual(d.TimeToLiveDescription, { TimeToLiveStatus: 'DISABLED' });
  const u = await ddb.send(new UpdateTimeToLiveCommand({
    TableName: 'expiring', TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' },
  }));
  assert.deepEqual(u.TimeToLiveSpecification, { Enabled: true, AttributeName: 'expires' });
  d = await ddb.send(new DescribeTimeToLiveCommand({ TableName: 'expiring' }));
  assert.equal(d.TimeToLiveDescription.AttributeName, 'expires');
  assert.equal(d.TimeToLiveDescription.TimeToLiveStatus, 'ENABLED');
  const e = await rejection(ddb.send(new UpdateTimeToLiveCommand({
    TableName: 'expiring', TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' },
  })));
  assert.equal(e.name, 'ValidationException');
  assert.equal(e.message, 'TimeToLive is already enabled');
});
