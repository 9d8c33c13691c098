// The official Momento browser SDK (@gomomento/sdk-web) against the stand-in: the oracle.
//
// usage: node sdk_oracle.mjs '<json config>'
//   {"cacheEndpoint": "http://127.0.0.1:PORT/us-east-1", "token": "...", "cache": "edgecache",
//    "scenario": "contract" | "capture", "frozenNow": 1800000000000 (optional)}
//
// Prints one JSON object: {"results": [{"step", "type", ...}]}. The pytest side asserts on
// it (contract) or on the requests the stand-in recorded (capture).
//
// How the SDK runs under Node (momento.md §3): `xhr2` is the global XMLHttpRequest,
// `navigator.userAgent` exists, and the credentials are a v1-style key (base64 of
// {"api_key", "endpoint"}) with endpointOverrides whose cacheEndpoint starts with http://,
// which the SDK then uses as given, path prefix included.
//
// frozenNow: grpc-web turns the SDK's deadline (Date.now() + 5000) into `grpc-timeout`
// by subtracting `new Date().getTime()` at send time, so the header is 5000m, 4999m… by
// luck. With the clock frozen it is exactly the configured timeout, and can be compared
// byte for byte with what edgecache's MomentoClient sends for the same timeout.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const config = JSON.parse(process.argv[2]);

if (config.frozenNow !== undefined) {
  const RealDate = Date;
  const fixed = config.frozenNow;
  class FrozenDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(fixed);
      else super(...args);
    }
    static now() {
      return fixed;
    }
  }
  globalThis.Date = FrozenDate;
}

globalThis.XMLHttpRequest = require('xhr2');
globalThis.navigator = { userAgent: 'node' };

const sdk = require('@gomomento/sdk-web');
const { CacheClient, Configurations, CredentialProvider, SortedSetOrder } = sdk;

function client(token) {
  const apiKey = Buffer.from(JSON.stringify({ api_key: token, endpoint: 'cell-standin.example' })).toString('base64');
  const credentialProvider = CredentialProvider.fromString({
    apiKey,
    endpointOverrides: {
      cacheEndpoint: config.cacheEndpoint,
      controlEndpoint: config.cacheEndpoint,
      tokenEndpoint: config.cacheEndpoint,
    },
  });
  return new CacheClient({
    configuration: Configurations.Laptop.v1(),
    credentialProvider,
    defaultTtlSeconds: 60,
  });
}

const decoder = new TextDecoder();

// A response as plain JSON: its kind, plus whatever value it carries.
function describe(step, resp) {
  const out = { step, type: resp.type ?? resp.constructor.name };
  if (typeof resp.errorCode === 'function') {
    out.errorCode = resp.errorCode();
    out.message = resp.message();
  }
  if (out.type === 'Hit' || out.type === 'Success') {
    if (typeof resp.valueString === 'function') out.value = resp.valueString();
    if (typeof resp.valueArrayStringElements === 'function') {
      out.elements = resp.valueArrayStringElements().map(e => [e.value, e.score]);
    }
    if (typeof resp.length === 'function') out.length = resp.length();
    if (typeof resp.valueNumber === 'function') out.value = resp.valueNumber();
  }
  return out;
}

const results = [];
async function step(name, call) {
  try {
    results.push(describe(name, await call()));
  } catch (err) {
    results.push({ step: name, type: 'Thrown', message: String(err) });
  }
}

// The calls the capture oracle compares with edgecache's MomentoClient, one each.
async function capture(c, cache) {
  await step('sortedSetPutElement', () => c.sortedSetPutElement(cache, 'q', 'w1', 42.5));
  await step('sortedSetPutElements', () =>
    c.sortedSetPutElements(cache, 'queue', [['a', 1.5], ['b', -2], ['c', 1700000000123]], { ttl: undefined }));
  await step('sortedSetFetchByScore', () => c.sortedSetFetchByScore(cache, 'queue'));
  await step('sortedSetFetchByScore-bounds', () =>
    c.sortedSetFetchByScore(cache, 'queue', { minScore: 0, maxScore: 10.5, offset: 1, count: 20, order: SortedSetOrder.Descending }));
  await step('sortedSetRemoveElements', () => c.sortedSetRemoveElements(cache, 'queue', ['a', 'c']));
  await step('sortedSetLength', () => c.sortedSetLength(cache, 'queue'));
  await step('setIfAbsent', () => c.setIfAbsent(cache, 'lease', 'holder-1', { ttl: 30 }));
  await step('increment', () => c.increment(cache, 'counter', 5, { ttl: 60 }));
  await step('increment-negative', () => c.increment(cache, 'counter', -7, { ttl: 60 }));
  await step('updateTtl', () => c.updateTtl(cache, 'queue', 86400000));
  await step('set', () => c.set(cache, 'k', 'v', { ttl: 300 }));
  await step('get', () => c.get(cache, 'k'));
  await step('delete', () => c.delete(cache, 'k'));
}

async function contract(c, cache) {
  await step('set', () => c.set(cache, 'k1', 'v1'));
  await step('get-hit', () => c.get(cache, 'k1'));
  await step('get-miss', () => c.get(cache, 'absent'));
  await step('delete', () => c.delete(cache, 'k1'));
  await step('get-after-delete', () => c.get(cache, 'k1'));

  await step('ss-put-element', () => c.sortedSetPutElement(cache, 'q', 'w1', 42.5));
  await step('ss-put-elements', () => c.sortedSetPutElements(cache, 'q', { w2: 1, w3: 100, w0: -5 }));
  await step('ss-fetch-all', () => c.sortedSetFetchByScore(cache, 'q'));
  await step('ss-fetch-range', () => c.sortedSetFetchByScore(cache, 'q', { minScore: 0, maxScore: 50 }));
  await step('ss-fetch-desc', () =>
    c.sortedSetFetchByScore(cache, 'q', { order: SortedSetOrder.Descending, offset: 1, count: 2 }));
  await step('ss-fetch-by-rank', () => c.sortedSetFetchByRank(cache, 'q', { startRank: 1, endRank: 3 }));
  await step('ss-length', () => c.sortedSetLength(cache, 'q'));
  await step('ss-remove-element', () => c.sortedSetRemoveElement(cache, 'q', 'w0'));
  await step('ss-remove-elements', () => c.sortedSetRemoveElements(cache, 'q', ['w2', 'w3']));
  await step('ss-length-after', () => c.sortedSetLength(cache, 'q'));
  await step('ss-fetch-missing', () => c.sortedSetFetchByScore(cache, 'nope'));
  await step('ss-length-missing', () => c.sortedSetLength(cache, 'nope'));

  await step('set-if-absent-1', () => c.setIfAbsent(cache, 'lease', 'holder-a'));
  await step('set-if-absent-2', () => c.setIfAbsent(cache, 'lease', 'holder-b'));
  await step('get-lease', () => c.get(cache, 'lease'));

  await step('increment-new', () => c.increment(cache, 'ctr', 5));
  await step('increment-again', () => c.increment(cache, 'ctr'));
  await step('increment-negative', () => c.increment(cache, 'ctr', -10));
  await step('get-ctr', () => c.get(cache, 'ctr'));
  await step('set-not-a-number', () => c.set(cache, 'word', 'abc'));
  await step('increment-not-a-number', () => c.increment(cache, 'word', 1));

  await step('update-ttl-hit', () => c.updateTtl(cache, 'q', 120000));
  await step('update-ttl-miss', () => c.updateTtl(cache, 'absent', 120000));

  await step('unknown-cache', () => c.get('no-such-cache', 'k'));
  await step('bad-token', () => client('wrong-token').get(cache, 'k'));
}

const c = client(config.token);
if (config.scenario === 'capture') await capture(c, config.cache);
else await contract(c, config.cache);
process.stdout.write(JSON.stringify({ results }) + '\n');
process.exit(0);
