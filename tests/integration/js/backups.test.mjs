// backups.test.mjs — the JS SDK v3 on on-demand backups and point-in-time
// recovery: a backup restored into a new table, and a table put back to the
// moment before a bad write by moving tidepool's clock.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';

import {
  CreateBackupCommand, CreateTableCommand, DeleteItemCommand, DescribeBackupCommand,
  DescribeContinuousBackupsCommand, DescribeTableCommand, ListBackupsCommand, PutItemCommand,
  RestoreTableFromBackupCommand, RestoreTableToPointInTimeCommand, ScanCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';

import { Tidepool, assertAwsError, rejection, stopChecked } from './tidepool.mjs';

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
  await ddb.send(new CreateTableCommand({
    TableName: 'orders',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  for (const id of ['a', 'b']) {
    await ddb.send(new PutItemCommand({ TableName: 'orders', Item: { id: { S: id } } }));
  }
});

async function ids(table) {
  const out = await ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return out.Items.map((i) => i.id.S).sort();
}

async function nowMs() {
  return (await tp.controlOk('GET', 'clock')).now_ms;
}

test('a backup restores into a new table', async () => {
  const { BackupDetails: d } = await ddb.send(new CreateBackupCommand({ TableName: 'orders', BackupName: 'nightly' }));
  assert.match(d.BackupArn, /^arn:aws:dynamodb:us-east-1:\d{12}:table\/orders\/backup\/\d{14}-[0-9a-f]{8}$/);
  assert.equal(d.BackupStatus, 'CREATING');
  assert.ok(d.BackupCreationDateTime instanceof Date);
  await ddb.send(new DeleteItemCommand({ TableName: 'orders', Key: { id: { S: 'a' } } }));

  const desc = (await ddb.send(new DescribeBackupCommand({ BackupArn: d.BackupArn }))).BackupDescription;
  assert.equal(desc.BackupDetails.BackupStatus, 'AVAILABLE');
  assert.equal(desc.SourceTableDetails.BillingMode, 'PAY_PER_REQUEST');
  assert.equal(desc.SourceTableDetails.ItemCount, 2);
  const list = await ddb.send(new ListBackupsCommand({ TableName: 'orders' }));
  assert.deepEqual(list.BackupSummaries.map((b) => b.BackupName), ['nightly']);

  const td = (await ddb.send(new RestoreTableFromBackupCommand({
    TargetTableName: 'orders_copy', BackupArn: d.BackupArn,
  }))).TableDescription;
  assert.equal(td.TableStatus, 'CREATING');
  assert.equal(td.RestoreSummary.SourceBackupArn, d.BackupArn);
  assert.equal(td.RestoreSummary.RestoreInProgress, true);
  assert.deepEqual(await ids('orders_copy'), ['a', 'b']);
  assert.deepEqual(await ids('orders'), ['b']);

  const e = await rejection(ddb.send(new RestoreTableFromBackupCommand({
    TargetTableName: 'orders_copy', BackupArn: d.BackupArn,
  })));
  assertAwsError(e, 'TableAlreadyExistsException', 'Table already exists: orders_copy');
});

test('point-in-time recovery undoes a bad write', async () => {
  let e = await rejection(ddb.send(new RestoreTableToPointInTimeCommand({
    SourceTableName: 'orders', TargetTableName: 'orders_fixed', UseLatestRestorableTime: true,
  })));
  assertAwsError(e, 'PointInTimeRecoveryUnavailableException',
    'Point in time recovery is not enabled for the source table');

  const out = await ddb.send(new UpdateContinuousBackupsCommand({
    TableName: 'orders', PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
  }));
  assert.equal(out.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus, 'ENABLED');
  let now = await nowMs();
  await tp.advance(60000 + (1000 - (now % 1000)) % 1000);   // a whole second: the SDK sends seconds
  const good = await nowMs();
  await tp.advance(1000);
  await ddb.send(new DeleteItemCommand({ TableName: 'orders', Key: { id: { S: 'a' } } }));
  await ddb.send(new PutItemCommand({ TableName: 'orders', Item: { id: { S: 'junk' } } }));

  const cb = (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'orders' })))
    .ContinuousBackupsDescription.PointInTimeRecoveryDescription;
  assert.ok(cb.EarliestRestorableDateTime <= new Date(good));
  const td = (await ddb.send(new RestoreTableToPointInTimeCommand({
    SourceTableName: 'orders', TargetTableName: 'orders_fixed', RestoreDateTime: new Date(good),
  }))).TableDescription;
  assert.equal(td.RestoreSummary.RestoreDateTime.getTime(), good);
  assert.deepEqual(await ids('orders_fixed'), ['a', 'b']);
  const t = (await ddb.send(new DescribeTableCommand({ TableName: 'orders_fixed' }))).Table;
  assert.equal(t.TableStatus, 'ACTIVE');
  assert.equal(t.ItemCount, 2);

  now = await nowMs();
  e = await rejection(ddb.send(new RestoreTableToPointInTimeCommand({
    SourceTableName: 'orders', TargetTableName: 'orders_future', RestoreDateTime: new Date(now + 5000),
  })));
  assertAwsError(e, 'InvalidRestoreTimeException',
    'RestoreDateTime must be within EarliestRestorableDateTime and LatestRestorableDateTime for table orders');
});
