// A Lambda function in Node.js with its own runtime loop over the Lambda
// Runtime API (node's http module), as tests/integration/test_runtime_api.py
// runs it in tidepool: "command": "node index.js". Its DynamoDB calls use
// the AWS SDK for JavaScript v3 (NODE_PATH), which finds tidepool through
// AWS_ENDPOINT_URL and signs with the function's credentials.
//
//   {"Records": [...]}  a DynamoDB stream batch: each NewImage is put into
//                       the table named by OUT_TABLE
//   anything else       {"echo": event, "pid", "items": <OUT_TABLE's count>}
'use strict';
const http = require('http');
const { DynamoDBClient, PutItemCommand, ScanCommand } = require('@aws-sdk/client-dynamodb');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const ddb = new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL, maxAttempts: 1 });

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: '/2018-06-01/runtime' + path }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

async function handle(event) {
  const table = process.env.OUT_TABLE;
  if (event && Array.isArray(event.Records)) {
    for (const r of event.Records) {
      if (r.dynamodb && r.dynamodb.NewImage)
        await ddb.send(new PutItemCommand({ TableName: table, Item: r.dynamodb.NewImage }));
    }
    return { written: event.Records.length };
  }
  const scan = await ddb.send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
  return { echo: event, pid: process.pid, items: scan.Count };
}

async function main() {
  console.log('init: node runtime starting');
  for (;;) {
    const next = await request('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    try {
      const out = await handle(JSON.parse(next.body));
      console.log('handled ' + id);
      await request('POST', `/invocation/${id}/response`, out);
    } catch (e) {
      console.error('failed: ' + e.message);
      await request('POST', `/invocation/${id}/error`,
                    { errorMessage: e.message, errorType: e.name || 'Error' });
    }
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
