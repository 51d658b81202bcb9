// tidepool.mjs — the JS integration tests' harness: starts the real tidepool
// binary on a free loopback port, waits for /_tidepool/health, stops it, and
// hands out AWS SDK v3 clients pointed at it. Mirrors ../tidepool.py.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const here = path.dirname(fileURLToPath(import.meta.url));

export function sourceDir() {
  return process.env.TIDEPOOL_SOURCE_DIR || path.resolve(here, '..', '..', '..');
}

export function binaryPath() {
  return process.env.TIDEPOOL_BIN || path.join(sourceDir(), 'build', 'tidepool');
}

// A port nobody listens on now (tidepool does not support --port 0).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// One HTTP exchange: { status, headers, body (string) }.
export function request(port, method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined || body === null ? null
      : Buffer.from(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    const req = http.request({
      host: '127.0.0.1', port, method, path: urlPath, agent: false,
      headers: { ...(data ? { 'Content-Length': data.length } : {}), ...headers },
      timeout: 10000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'),
      }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Tidepool {
  // opts: { args: [], clock: 'virtual'|'real'|null, dataDir, config (object) }
  constructor(opts = {}) {
    this.args = opts.args || [];
    this.clock = opts.clock === undefined ? 'virtual' : opts.clock;
    this.dataDir = opts.dataDir || null;
    this.config = opts.config || null;
    this.binary = opts.binary || binaryPath();
    this.proc = null;
    this.port = null;
    this.log = '';
  }

  get running() {
    return !!this.proc && !this.spawnError && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get endpoint() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!fs.existsSync(this.binary)) {
      throw new Error(`no tidepool binary at ${this.binary} (build it, or set TIDEPOOL_BIN)`);
    }
    let configPath = null;
    if (this.config) {
      this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tidepool-js-'));
      configPath = path.join(this.tmp, 'config.json');
      fs.writeFileSync(configPath, JSON.stringify(this.config));
    }
    let lastError;
    // The port can be taken between freePort() and the bind: a few tries.
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freePort();
      const argv = ['serve', '--host', '127.0.0.1', '--port', String(this.port)];
      if (this.dataDir) argv.push('--data-dir', this.dataDir);
      if (configPath) argv.push('--config', configPath);
      if (this.clock) argv.push('--clock', this.clock);
      argv.push(...this.args);
      this.log = '';
      this.spawnError = null;
      this.proc = spawn(this.binary, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.exited = new Promise((resolve) => {
        this.proc.on('exit', (code, sig) => resolve({ code, sig }));
        this.proc.on('error', (e) => {
          this.log += `spawn failed: ${e.message}\n`;
          this.spawnError = e;
          resolve({ code: null, sig: null });
        });
      });
      this.proc.stdout.on('data', (d) => { this.log += d; });
      this.proc.stderr.on('data', (d) => { this.log += d; });
      try {
        await this.waitReady();
        return this;
      } catch (e) {
        lastError = e;
        await this.stop('SIGKILL');
        if (!/in use/i.test(this.log)) break;
      }
    }
    throw lastError;
  }

  // Readiness polling, bounded: the server answers health within 15 s or
  // start() fails with what it printed.
  async waitReady() {
    const deadline = Date.now() + 15000;
    let delay = 5;
    while (Date.now() < deadline) {
      if (this.spawnError || this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`tidepool exited (${this.proc.exitCode ?? this.proc.signalCode}) before answering:\n${this.log}`);
      }
      try {
        const r = await request(this.port, 'GET', '/_tidepool/health');
        if (r.status === 200) return;
      } catch { /* not listening yet */ }
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
    throw new Error(`tidepool did not answer /_tidepool/health within 15 s:\n${this.log}`);
  }

  async stop(signal = 'SIGTERM') {
    if (!this.proc) return null;
    if (!this.spawnError && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill(signal);
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.tmp) {
      fs.rmSync(this.tmp, { recursive: true, force: true });
      this.tmp = null;
    }
    return this.proc.exitCode;
  }

  clientConfig({ accessKeyId = 'AKIDTIDEPOOL', secretAccessKey = 'secret', region = 'us-east-1', maxAttempts } = {}) {
    return {
      endpoint: this.endpoint,
      region,
      credentials: { accessKeyId, secretAccessKey },
      ...(maxAttempts ? { maxAttempts } : {}),
    };
  }

  client(opts) {
    return new DynamoDBClient(this.clientConfig(opts));
  }

  docClient(opts, translateConfig) {
    return DynamoDBDocumentClient.from(this.client(opts), translateConfig);
  }

  streamsClient(opts) {
    return new DynamoDBStreamsClient(this.clientConfig(opts));
  }

  // { status, body (parsed JSON or text) } for a /_tidepool/ endpoint.
  async control(method, p, body) {
    const urlPath = p.startsWith('/') ? p : `/_tidepool/${p}`;
    const headers = body === undefined ? {} : { 'Content-Type': 'application/json' };
    const r = await request(this.port, method, urlPath, body, headers);
    let parsed = r.body;
    try { parsed = JSON.parse(r.body); } catch { /* text */ }
    return { status: r.status, body: parsed };
  }

  async controlOk(method, p, body) {
    const r = await this.control(method, p, body);
    if (r.status !== 200) throw new Error(`${method} ${p} -> ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  reset() { return this.controlOk('POST', 'reset'); }

  advance(ms) { return this.controlOk('POST', 'clock', { advance_ms: ms }); }

  health() { return this.controlOk('GET', 'health'); }
}

// Resolves to the error a promise rejects with; fails if it resolves.
export async function rejection(promise) {
  let out;
  try {
    out = await promise;
  } catch (e) {
    return e;
  }
  assert.fail(`expected an error, got ${JSON.stringify(out)}`);
}

// An SDK error with AWS's exact name, message and HTTP status.
export function assertAwsError(e, name, message, status = 400) {
  assert.equal(e.name, name, `error name (${e.message})`);
  assert.equal(e.message, message);
  assert.equal(e.$metadata?.httpStatusCode, status);
}

// Stops the server; a crash or sanitizer report at shutdown fails the run.
export async function stopChecked(tp) {
  const wasRunning = tp.running;
  const code = await tp.stop();
  if (wasRunning) assert.equal(code, 0, `tidepool exited ${code} on SIGTERM:\n${tp.log}`);
}
