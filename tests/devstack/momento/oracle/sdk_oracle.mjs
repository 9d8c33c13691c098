// The official Momento clients against the stand-in: the oracle (driven by ../test_oracle.py).
//
// usage: node sdk_oracle.mjs '<json config>'
//   {"cacheEndpoint": "http://127.0.0.1:PORT/us-east-1", "token": "...", "cache": "edgecache",
//    "scenario": "contract" | "capture",
//    "faultEndpoint": "http://127.0.0.1:PORT/eu-central-1"   (contract: a region with faults set),
//    "frozenNow": 1800000000000                               (optional, see below)}
//
// Prints one JSON object: {"results": [{"step", "type", ...}]}, one entry per step, in order.
// The pytest side asserts on it (contract) or on the requests the stand-in recorded (capture).
// One Node run per scenario: starting Node and loading the SDK is most of the cost.
//
// Clients:
// - @gomomento/sdk-web's CacheClient, what a browser app uses (grpc-web-text only);
// - the generated ScsClient of @gomomento/generated-types-webtext (the SDK's own dependency,
//   same pinned version) for what the SDK no longer sends: the deprecated SetIfNotExists RPC
//   (the SDK's setIfNotExists sends SetIf) and binary mode (application/grpc-web+proto).
//
// How the SDK runs under Node (momento.md §3): `xhr2` is the global XMLHttpRequest,
// `navigator.userAgent` exists, and the credentials are a v1-style key (base64 of
// {"api_key", "endpoint"}) with endpointOverrides whose cacheEndpoint starts with http://,
// which the SDK then uses as given, path prefix included.
//
// frozenNow: grpc-web turns the SDK's deadline (Date.now() + 5000) into `grpc-timeout` as
// ceil(deadline - new Date().getTime()) at send time, so the header is 5000m or 4999m by
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
const { ScsClient } = require('@gomomento/generated-types-webtext/dist/CacheclientServiceClientPb');
const pb = require('@gomomento/generated-types-webtext/dist/cacheclient_pb');

function client(token, endpoint = config.cacheEndpoint) {
  const apiKey = Buffer.from(JSON.stringify({ api_key: token, endpoint: 'cell-standin.example' })).toString('base64');
  const credentialProvider = CredentialProvider.fromString({
    apiKey,
    endpointOverrides: { cacheEndpoint: endpoint, controlEndpoint: endpoint, tokenEndpoint: endpoint },
  });
  return new CacheClient({
    configuration: Configurations.Laptop.v1(),
    credentialProvider,
    defaultTtlSeconds: 60,
  });
}

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
    if (typeof resp.results === 'function') {  // GetBatch / SetBatch: one answer per item
      out.items = resp.results().map(r => (typeof r.valueString === 'function' ? r.valueString() : r.type));
    }
    if (typeof resp.valueNumber === 'function') out.value = resp.valueNumber();
  }
  return out;
}

const results = [];
async function step(name, call, extra = () => ({})) {
  const started = Date.now();
  try {
    const resp = await call();
    results.push({ ...describe(name, resp), ...extra(Date.now() - started) });
  } catch (err) {
    results.push({ step: name, type: 'Thrown', message: String(err) });
  }
}

// A raw generated-client call: {"step", "grpcStatus", "message", ...what `read` extracts}.
async function rawStep(name, call, read) {
  try {
    const resp = await call();
    results.push({ step: name, grpcStatus: 0, ...read(resp) });
  } catch (err) {
    results.push({ step: name, grpcStatus: err.code ?? null, message: String(err.message ?? err) });
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The calls the capture oracle compares with edgecache's MomentoClient, one request each.
async function capture(c, cache) {
  await step('sortedSetPutElement', () => c.sortedSetPutElement(cache, 'q', 'w1', 42.5));
  await step('sortedSetPutElements', () =>
    c.sortedSetPutElements(cache, 'queue', [['a', 1.5], ['b', -2], ['c', 1700000000123]]));
  await step('sortedSetFetchByScore', () => c.sortedSetFetchByScore(cache, 'queue'));
  await step('sortedSetFetchByScore-page', () =>
    c.sortedSetFetchByScore(cache, 'queue', { minScore: -10, offset: 1, count: 1 }));
  await step('sortedSetFetchByScore-bounds', () =>
    c.sortedSetFetchByScore(cache, 'queue', { minScore: 0, maxScore: 10.5, offset: 1, count: 20, order: SortedSetOrder.Descending }));
  await step('sortedSetRemoveElements', () => c.sortedSetRemoveElements(cache, 'queue', ['a', 'c']));
  await step('sortedSetLength', () => c.sortedSetLength(cache, 'queue'));
  await step('setIfAbsent', () => c.setIfAbsent(cache, 'lease', 'holder-1', { ttl: 30 }));
  await step('setIfAbsent-again', () => c.setIfAbsent(cache, 'lease', 'holder-2', { ttl: 30 }));
  await step('increment', () => c.increment(cache, 'counter', 5, { ttl: 60 }));
  await step('increment-negative', () => c.increment(cache, 'counter', -7, { ttl: 60 }));
  await step('updateTtl', () => c.updateTtl(cache, 'queue', 86400000));
  await step('setBatch', () => c.setBatch(cache, [{ key: 'b1', value: 'v1' }, { key: 'b2', value: 'v2', ttl: 5 }], { ttl: 60 }));
  await step('getBatch', () => c.getBatch(cache, ['b1', 'absent', 'b2']));
  await step('set', () => c.set(cache, 'k', 'v', { ttl: 300 }));
  await step('get', () => c.get(cache, 'k'));
  await step('delete', () => c.delete(cache, 'k'));
}

// Binary mode and the deprecated RPC, through the generated client (see the header).
async function generated(cache, format) {
  const scs = new ScsClient(config.cacheEndpoint, null, { format });
  const md = { authorization: config.token, cache };
  const tag = `${format}-`;
  const put = new pb._SortedSetPutRequest();
  put.setSetName(encoder.encode('bq'));
  for (const [value, score] of [['x', 2], ['y', 1]]) {
    const e = new pb._SortedSetElement();
    e.setValue(encoder.encode(value));
    e.setScore(score);
    put.addElements(e);
  }
  put.setTtlMilliseconds(60000);
  put.setRefreshTtl(true);
  await rawStep(tag + 'SortedSetPut', () => scs.sortedSetPut(put, md), () => ({}));

  const fetch = new pb._SortedSetFetchRequest();
  fetch.setSetName(encoder.encode('bq'));
  fetch.setWithScores(true);
  await rawStep(tag + 'SortedSetFetch', () => scs.sortedSetFetch(fetch, md), r => ({
    elements: r.getFound().getValuesWithScores().getElementsList().map(e => [decoder.decode(e.getValue()), e.getScore()]),
  }));

  const len = new pb._SortedSetLengthRequest();
  len.setSetName(encoder.encode('bq'));
  await rawStep(tag + 'SortedSetLength', () => scs.sortedSetLength(len, md), r => ({ length: r.getFound().getLength() }));

  const sine = name => {
    const r = new pb._SetIfNotExistsRequest();
    r.setCacheKey(encoder.encode(tag + 'old-lease'));
    r.setCacheBody(encoder.encode(name));
    r.setTtlMilliseconds(30000);
    return r;
  };
  const stored = r => ({ result: r.getResultCase() === pb._SetIfNotExistsResponse.ResultCase.STORED ? 'stored' : 'not_stored' });
  await rawStep(tag + 'SetIfNotExists-1', () => scs.setIfNotExists(sine('a'), md), stored);
  await rawStep(tag + 'SetIfNotExists-2', () => scs.setIfNotExists(sine('b'), md), stored);

  const inc = new pb._IncrementRequest();
  inc.setCacheKey(encoder.encode(tag + 'ctr'));
  inc.setAmount(3);
  inc.setTtlMilliseconds(60000);
  await rawStep(tag + 'Increment', () => scs.increment(inc, md), r => ({ value: r.getValue() }));

  // The 5 MB item limit (key + value). Not through CacheClient: sdk-web base64-encodes a
  // string value with String.fromCharCode(...bytes), which overflows the stack at this size.
  const item = size => {
    const r = new pb._SetRequest();
    r.setCacheKey(encoder.encode('big'));
    r.setCacheBody(new Uint8Array(size - 3));
    r.setTtlMilliseconds(60000);
    return r;
  };
  // Once, over the limit only: xhr2 takes ~0.4 s to send 5 MB (the contract suite checks
  // the exact boundary in both modes).
  if (format === 'binary') {
    await rawStep(tag + 'Set-5MB-plus-1', () => scs.set(item(5 * 1024 * 1024 + 1), md), () => ({}));
  }

  const get = new pb._GetRequest();
  get.setCacheKey(encoder.encode(tag + 'old-lease'));
  await rawStep(tag + 'Get', () => scs.get(get, md), r => ({ value: decoder.decode(r.getCacheBody()) }));
  await rawStep(tag + 'Get-unknown-cache', () => scs.get(get, { ...md, cache: 'no-such-cache' }), () => ({}));
  await rawStep(tag + 'Get-bad-token', () => scs.get(get, { ...md, authorization: 'wrong-token' }), () => ({}));
}

async function contract(c, cache) {
  await step('set', () => c.set(cache, 'k1', 'v1'));
  await step('get-hit', () => c.get(cache, 'k1'));
  await step('get-miss', () => c.get(cache, 'absent'));
  await step('delete', () => c.delete(cache, 'k1'));
  await step('get-after-delete', () => c.get(cache, 'k1'));
  await step('delete-absent', () => c.delete(cache, 'k1'));

  await step('ss-put-element', () => c.sortedSetPutElement(cache, 'q', 'w1', 42.5));
  await step('ss-put-elements', () => c.sortedSetPutElements(cache, 'q', { w2: 1, w3: 100, w0: -5 }));
  await step('ss-fetch-all', () => c.sortedSetFetchByScore(cache, 'q'));
  await step('ss-fetch-range', () => c.sortedSetFetchByScore(cache, 'q', { minScore: 0, maxScore: 50 }));
  await step('ss-fetch-asc-page', () => c.sortedSetFetchByScore(cache, 'q', { offset: 1, count: 2 }));
  await step('ss-fetch-desc-page', () =>
    c.sortedSetFetchByScore(cache, 'q', { order: SortedSetOrder.Descending, offset: 1, count: 2 }));
  await step('ss-fetch-by-rank', () => c.sortedSetFetchByRank(cache, 'q', { startRank: 1, endRank: 3 }));
  await step('ss-put-rescore', () => c.sortedSetPutElement(cache, 'q', 'w0', 200));
  await step('ss-fetch-after-rescore', () => c.sortedSetFetchByScore(cache, 'q'));
  await step('ss-length', () => c.sortedSetLength(cache, 'q'));
  await step('ss-remove-element', () => c.sortedSetRemoveElement(cache, 'q', 'w0'));
  await step('ss-remove-elements', () => c.sortedSetRemoveElements(cache, 'q', ['w2', 'w3', 'never-there']));
  await step('ss-length-after', () => c.sortedSetLength(cache, 'q'));
  await step('ss-remove-last', () => c.sortedSetRemoveElement(cache, 'q', 'w1'));
  await step('ss-fetch-emptied', () => c.sortedSetFetchByScore(cache, 'q'));
  await step('ss-fetch-missing', () => c.sortedSetFetchByScore(cache, 'nope'));
  await step('ss-length-missing', () => c.sortedSetLength(cache, 'nope'));

  await step('set-if-absent-1', () => c.setIfAbsent(cache, 'lease', 'holder-a'));
  await step('set-if-absent-2', () => c.setIfAbsent(cache, 'lease', 'holder-b'));
  await step('get-lease', () => c.get(cache, 'lease'));
  await step('set-if-not-exists', () => c.setIfNotExists(cache, 'lease', 'holder-c'));

  await step('increment-new', () => c.increment(cache, 'ctr', 5));
  await step('increment-again', () => c.increment(cache, 'ctr'));
  await step('increment-negative', () => c.increment(cache, 'ctr', -10));
  await step('get-ctr', () => c.get(cache, 'ctr'));
  await step('set-not-a-number', () => c.set(cache, 'word', 'abc'));
  await step('increment-not-a-number', () => c.increment(cache, 'word', 1));

  await step('set-batch', () => c.setBatch(cache, new Map([['m1', 'one'], ['m2', 'two']])));
  await step('get-batch', () => c.getBatch(cache, ['m2', 'never', 'm1']));
  await step('get-batch-one', () => c.getBatch(cache, ['m1']));

  await step('update-ttl-hit', () => c.updateTtl(cache, 'ctr', 120000));
  await step('update-ttl-miss', () => c.updateTtl(cache, 'absent', 120000));

  await step('unknown-cache', () => c.get('no-such-cache', 'k'));
  await step('bad-token', () => client('wrong-token').get(cache, 'k'));

  await generated(cache, 'text');
  await generated(cache, 'binary');

  if (config.faultEndpoint) {
    // The pytest side queued faults for this region, matched on grpc.Get, each used once, in
    // this order. sdk-web has no retry strategy, so each fault reaches the caller as is.
    const f = client(config.token, config.faultEndpoint);
    await step('fault-grpc-unavailable', () => f.get(cache, 'k'));
    await step('fault-grpc-resource-exhausted', () => f.get(cache, 'k'));
    await step('fault-http-429', () => f.get(cache, 'k'));
    await step('fault-http-503', () => f.get(cache, 'k'));
    await step('fault-delay', () => f.get(cache, 'k'), elapsedMs => ({ elapsedMs }));
    await step('fault-cleared', () => f.get(cache, 'k'));
  }
}

const c = client(config.token);
if (config.scenario === 'capture') await capture(c, config.cache);
else await contract(c, config.cache);
process.stdout.write(JSON.stringify({ results }) + '\n');
process.exit(0);
