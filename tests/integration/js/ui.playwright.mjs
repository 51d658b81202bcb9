// ui.playwright.mjs — the pictures, in a real browser: Playwright
// (playwright-core) drives Debian's chromium, headless.
//
// The live view (/_tidepool/ui): it lists a table created through boto3
// (Debian's /usr/bin/python3), shows its items, shows a mapping's
// invocations after a stream write, and moves the virtual clock from its
// button. The report (`tidepool run fixtures/quote-fanout.json --report`):
// it opens without console errors and its charts carry the series the run's
// trace says (read from the page's data, not from pixels).
//
// Without a browser (no chromium and none installable) the tests skip and
// say why.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Tidepool, binaryPath, sourceDir, stopChecked } from './tidepool.mjs';

const BROWSERS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const browserPath = process.env.TIDEPOOL_CHROMIUM || BROWSERS.find((p) => fs.existsSync(p));
let playwright = null;
try {
  playwright = await import('playwright-core');
} catch { /* reported below */ }
const skip = !browserPath ? 'no chromium found (run .ci/install-deps.sh, or set TIDEPOOL_CHROMIUM)'
  : !playwright ? 'playwright-core is not installed (npm ci in tests/integration/js)' : false;
if (skip) console.log(`# skipping the browser tests: ${skip}`);

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// boto3 against the running tidepool: the table the live view must list.
function boto3(port, script) {
  const prelude = `
import boto3, json, sys
kw = dict(endpoint_url="http://127.0.0.1:${port}", region_name="us-east-1",
          aws_access_key_id="AKIDTIDEPOOL", aws_secret_access_key="secret")
ddb = boto3.client("dynamodb", **kw)
lam = boto3.client("lambda", **kw)
`;
  const r = spawnSync(PYTHON, ['-c', prelude + script], { encoding: 'utf8' });
  assert.equal(r.status, 0, `boto3 script failed:\n${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : null;
}

let browser;
const tp = new Tidepool();

before(async () => {
  if (skip) return;
  browser = await playwright.chromium.launch({ executablePath: browserPath, headless: true,
    args: ['--no-sandbox', '--disable-gpu'] });
  await tp.start();
});

after(async () => {
  if (browser) await browser.close();
  if (tp.proc) await stopChecked(tp);
});

async function openPage(url) {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

describe('live view /_tidepool/ui', { skip }, () => {
  test('lists a table made with boto3, pages its items, shows a mapping\'s invocations, moves the clock', async () => {
    const stream = boto3(tp.port, `
t = ddb.create_table(TableName="ui-orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
for i in range(30):
    ddb.put_item(TableName="ui-orders", Item={"id": {"S": "order-%02d" % i}, "qty": {"N": str(i)}})
print(json.dumps(t["TableDescription"]["LatestStreamArn"]))
`);
    const { page, errors } = await openPage(`${tp.endpoint}/_tidepool/ui`);
    await page.waitForFunction(() => window.tpLive && window.tpLive.refreshed >= 1);
    assert.ok(await page.locator('#tables tr[data-table="ui-orders"]').count() === 1, 'the table is listed');

    // items, paged 25 at a time
    await page.locator('#tables tr[data-table="ui-orders"] a').click();
    await page.waitForSelector('#items-box:not([hidden])');
    await page.waitForFunction(() => document.querySelectorAll('#items tr').length === 26);
    assert.match(await page.locator('#items').innerText(), /order-\d\d/);
    await page.locator('#items-next').click();
    await page.waitForFunction(() => document.querySelectorAll('#items tr').length === 6);
    const shown = await page.locator('#items').innerText();
    assert.match(shown, /qty/);

    // a mapping on the stream; a write reaches the function once the clock moves
    const mapping = boto3(tp.port, `
lam.create_function(FunctionName="ui-consumer", Runtime="provided.al2023",
    Role="arn:aws:iam::123456789012:role/r", Handler="echo", Code={"ZipFile": b"PK\\x05\\x06" + b"\\x00" * 18})
m = lam.create_event_source_mapping(FunctionName="ui-consumer", EventSourceArn=${JSON.stringify(stream)},
    StartingPosition="LATEST", BatchSize=10)
print(json.dumps(m["UUID"]))
`);
    const before = await page.evaluate(() => window.tpLive.clock.now_ms);
    await page.locator('#idle').click();   // the mapping turns Enabled
    boto3(tp.port, 'ddb.put_item(TableName="ui-orders", Item={"id": {"S": "late"}, "qty": {"N": "1"}})');
    await page.locator('#idle').click();   // the poller delivers the write
    await page.waitForFunction(() => window.tpLive.invocations.some((v) => v.function === 'ui-consumer' && v.outcome === 'success'));
    await page.waitForFunction((u) => {
      const row = document.querySelector(`#mappings tr[data-uuid="${u}"]`);
      return row && Number(row.cells[5].textContent) >= 1;
    }, mapping);
    const fnRow = page.locator('#functions tr[data-function="ui-consumer"]');
    assert.match(await fnRow.innerText(), /success/);
    const row = page.locator(`#mappings tr[data-uuid="${mapping}"]`);
    assert.match(await row.innerText(), /ui-consumer/);
    assert.match(await page.locator('#invocations').innerText(), /ui-consumer\s+\S+\s+\d+\s+\d+ ms\s+success/);

    // the clock button: +1 min of virtual time, as the control API reports it
    const mid = (await tp.controlOk('GET', 'clock')).now_ms;
    assert.ok(mid > before, 'running until idle moved the clock');
    await page.locator('button.advance[data-ms="60000"]').click();
    await page.waitForFunction((t) => window.tpLive.clock.now_ms === t + 60000, mid);
    assert.equal((await tp.controlOk('GET', 'clock')).now_ms, mid + 60000);
    assert.equal(await page.locator('#clock-ms').innerText(), String(mid + 60000));

    // the trace tail shows the write's stream record
    await page.waitForFunction(() => /"type":"stream_record"/.test(document.getElementById('trace').textContent));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('adds and removes a fault rule', async () => {
    const { page, errors } = await openPage(`${tp.endpoint}/_tidepool/ui`);
    await page.waitForFunction(() => window.tpLive && window.tpLive.refreshed >= 1);
    await page.locator('#fault-add').click();
    await page.waitForFunction(() => document.querySelectorAll('#faults tr').length === 2);
    assert.equal((await tp.controlOk('GET', 'faults')).rules.length, 1);
    await page.locator('#faults button').click();
    await page.waitForFunction(() => document.querySelectorAll('#faults tr').length === 1);
    assert.equal((await tp.controlOk('GET', 'faults')).rules.length, 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});

describe('tidepool run --report', { skip }, () => {
  test('the quote-fanout report opens cleanly and its charts carry the run\'s series', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidepool-report-'));
    const out = path.join(dir, 'quote-fanout.html');
    const text = execFileSync(binaryPath(), ['run', path.join(sourceDir(), 'fixtures/quote-fanout.json'),
      '--report', out], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const { page, errors } = await openPage(`file://${out}`);
    await page.waitForFunction(() => window.tpReport && window.tpReport.charts.length > 0);
    const r = await page.evaluate(() => ({
      charts: window.tpReport.charts,
      summary: Object.fromEntries(window.tpReport.data.summary),
      bin: window.tpReport.data.bin_ms,
      svgs: document.querySelectorAll('.chart svg').length,
      rows: document.querySelectorAll('.result-table td').length / 2,
      timeline: window.tpReport.timeline,
    }));
    const chart = (title) => {
      const c = r.charts.find((x) => x.title === title);
      assert.ok(c, `a chart "${title}" (have: ${r.charts.map((x) => x.title).join(' | ')})`);
      return Object.fromEntries(c.series.map((s) => [s.name, s.values]));
    };
    const sum = (a) => a.reduce((x, y) => x + y, 0);

    // positions: 70 WCU provisioned, consumed capped near it, the throttles marked
    const w = chart('positions — write');
    assert.ok(w['provisioned WCU/s'].every((v) => v === 70));
    assert.equal(sum(w['throttled requests']), r.summary.throttles);
    const peak = Math.max(...w['consumed WCU/s']);
    assert.ok(peak > 70, `the burst lets a second go past 70 WCU (peak ${peak})`);
    const credit = w['burst credit left (WCU·300 s, modelled)'];
    assert.ok(Math.min(...credit) < credit[0], 'the burst credit is drawn down');

    // quote-fanout: what the summary counts, by outcome
    const inv = chart('quote-fanout — invocations by outcome');
    assert.equal(sum(inv.success), r.summary['invocations.success']);
    assert.equal(sum(inv['function error']), r.summary['invocations.error']);
    assert.equal(sum(inv.timeout), r.summary['invocations.timeout']);
    assert.equal(sum(inv.success) + sum(inv['function error']) + sum(inv.timeout), r.summary.invocations);
    assert.ok(r.summary.invocations >= 2 && r.summary['invocations.timeout'] >= 1);
    assert.ok(Math.max(...chart('quote-fanout — concurrency')['concurrent invocations']) >= 1);
    assert.equal(sum(chart('quote-fanout — latency histogram').invocations), r.summary.invocations);

    // the mapping's batches: every redelivery of the one batch of two records
    const m = r.charts.find((x) => /^mapping .* → quote-fanout — batches$/.test(x.title));
    assert.ok(m, 'a mapping chart');
    const ms = Object.fromEntries(m.series.map((s) => [s.name, s.values]));
    assert.equal(sum(ms['records out']), 2 * r.summary.batches);
    assert.equal(sum(ms.retries), r.summary.batch_retries);

    // the stream: the two quotes written
    const st = r.charts.find((x) => /^stream quotes stream .* — records in$/.test(x.title));
    assert.equal(sum(st.series[0].values), r.summary.stream_records);

    assert.equal(r.svgs, r.charts.length + 1);   // + the timeline
    assert.equal(r.rows, Object.keys(r.summary).length);
    assert.ok(r.rows > 10);
    assert.ok(r.timeline.types.includes('invoke_end') && r.timeline.types.includes('batch'));
    // the timeline zooms: the first invocation's span holds fewer events than the whole run
    const zoomed = await page.evaluate(() => {
      const inv = window.tpReport.data.invocations[0];
      window.tpReport.zoom(inv[0], inv[1]);
      return document.getElementById('tl-range').textContent;
    });
    assert.match(zoomed, /events/);
    assert.match(text, /quote-fanout/);
    assert.deepEqual(errors, []);
    await page.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
