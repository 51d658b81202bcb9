// screenshot.mjs — a PNG of a page as chromium draws it (the README's
// picture of a report): node screenshot.mjs PAGE.html OUT.png [WIDTH HEIGHT]
import path from 'node:path';

import { chromium } from 'playwright-core';

const [page, out, width = '1280', height = '1500'] = process.argv.slice(2);
if (!page || !out) {
  console.error('usage: node screenshot.mjs PAGE.html OUT.png [WIDTH HEIGHT]');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: process.env.TIDEPOOL_CHROMIUM || '/usr/bin/chromium',
  headless: true, args: ['--no-sandbox', '--disable-gpu'] });
const p = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
await p.goto(/^[a-z]+:/.test(page) ? page : `file://${path.resolve(page)}`);
await p.screenshot({ path: out });
await browser.close();
