// Golden bytes for edgecache's Momento codec, made by Momento's own generated protobuf code.
//
// The Python encoders in src/edgecache/momento/messages/ must produce exactly what
// google-protobuf JS produces from @gomomento/generated-types-webtext (the package the
// official browser SDK uses), and decode it back. This script serialises one representative
// message per case and writes {case: {message, hex}} as JSON. The cases here and CASES in
// tests/momento/test_messages.py must name the same messages with the same values.
//
// usage: node tests/momento/golden/make_golden.mjs [OUT]   (default: golden.json beside it)

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const pb = require('@gomomento/generated-types-webtext/dist/cacheclient_pb.js');
const common = require('@gomomento/generated-types-webtext/dist/common_pb.js');
const { version } = require('@gomomento/generated-types-webtext/package.json');

// Bytes setters take a Uint8Array (a string would be read as base64).
const b = (text) => new Uint8Array(Buffer.from(text, 'utf8'));
const raw = (hex) => new Uint8Array(Buffer.from(hex, 'hex'));

const element = (value, score) => new pb._SortedSetElement().setValue(value).setScore(score);
const score = (value, exclusive) =>
  new pb._SortedSetFetchRequest._ByScore._Score().setScore(value).setExclusive(exclusive);
const byScore = ({ min, max, offset = 0, count = -1 }) => {
  const m = new pb._SortedSetFetchRequest._ByScore();
  if (min === undefined) m.setUnboundedMin(new common._Unbounded());
  else m.setMinScore(score(min[0], min[1]));
  if (max === undefined) m.setUnboundedMax(new common._Unbounded());
  else m.setMaxScore(score(max[0], max[1]));
  return m.setOffset(offset).setCount(count);
};
const byIndex = (start, end) => {
  const m = new pb._SortedSetFetchRequest._ByIndex();
  if (start === undefined) m.setUnboundedStart(new common._Unbounded());
  else m.setInclusiveStartIndex(start);
  if (end === undefined) m.setUnboundedEnd(new common._Unbounded());
  else m.setExclusiveEndIndex(end);
  return m;
};
const fetchRequest = (setName, { order = 0, withScores = true, range }) => {
  const m = new pb._SortedSetFetchRequest().setSetName(b(setName)).setOrder(order).setWithScores(withScores);
  if (range instanceof pb._SortedSetFetchRequest._ByScore) m.setByScore(range);
  else m.setByIndex(range);
  return m;
};
const setIf = (condition, valueToCheck) => {
  const m = new pb._SetIfRequest().setCacheKey(b('lease')).setCacheBody(b('holder-1')).setTtlMilliseconds(30000);
  const withValue = (c) => (valueToCheck === undefined ? c : c.setValueToCheck(b(valueToCheck)));
  switch (condition) {
    case 'present': return m.setPresent(new common.Present());
    case 'present_and_not_equal': return m.setPresentAndNotEqual(withValue(new common.PresentAndNotEqual()));
    case 'absent': return m.setAbsent(new common.Absent());
    case 'equal': return m.setEqual(withValue(new common.Equal()));
    case 'absent_or_equal': return m.setAbsentOrEqual(withValue(new common.AbsentOrEqual()));
    case 'not_equal': return m.setNotEqual(withValue(new common.NotEqual()));
  }
  throw new Error(condition);
};
const fetchFound = (inner) => new pb._SortedSetFetchResponse().setFound(inner);
const found = pb._SortedSetFetchResponse._Found;
const lengthFound = (n) =>
  new pb._SortedSetLengthResponse().setFound(new pb._SortedSetLengthResponse._Found().setLength(n));

const cases = {
  // -- requests -------------------------------------------------------------------------
  // momento.md §3: sortedSetPutElement('c1','q','w1',42.5) with the SDK's default 60 s TTL
  sorted_set_put_momento_md: new pb._SortedSetPutRequest()
    .setSetName(b('q')).setElementsList([element(b('w1'), 42.5)]).setTtlMilliseconds(60000).setRefreshTtl(true),
  sorted_set_put_many: new pb._SortedSetPutRequest()
    .setSetName(b('queue'))
    .setElementsList([element(b('a'), 0), element(b('b'), -1.5), element(b(''), 1e300), element(raw('00ff'), 1700000000123)])
    .setTtlMilliseconds(86400000).setRefreshTtl(false),
  sorted_set_put_empty: new pb._SortedSetPutRequest(),
  sorted_set_fetch_sdk_default: fetchRequest('queue', { range: byScore({}) }),
  sorted_set_fetch_bounds_desc: fetchRequest('queue', {
    order: 1, range: byScore({ min: [0, false], max: [10.5, true], offset: 3, count: 20 }),
  }),
  sorted_set_fetch_negative_min: fetchRequest('queue', { range: byScore({ min: [-5.25, true], count: 1 }) }),
  sorted_set_fetch_by_index_values_only: fetchRequest('queue', { withScores: false, range: byIndex(0, -1) }),
  sorted_set_fetch_by_index_unbounded: fetchRequest('queue', { range: byIndex(undefined, undefined) }),
  sorted_set_fetch_by_index_extremes: fetchRequest('queue', { range: byIndex(-2147483648, 2147483647) }),
  sorted_set_remove_some: new pb._SortedSetRemoveRequest()
    .setSetName(b('queue')).setSome(new pb._SortedSetRemoveRequest._Some().setValuesList([b('a'), raw('00ff')])),
  sorted_set_remove_some_empty: new pb._SortedSetRemoveRequest()
    .setSetName(b('queue')).setSome(new pb._SortedSetRemoveRequest._Some()),
  sorted_set_remove_all: new pb._SortedSetRemoveRequest()
    .setSetName(b('queue')).setAll(new pb._SortedSetRemoveRequest._All()),
  sorted_set_length_request: new pb._SortedSetLengthRequest().setSetName(b('queue')),
  set_if_not_exists_request: new pb._SetIfNotExistsRequest()
    .setCacheKey(b('lease')).setCacheBody(b('holder-1')).setTtlMilliseconds(30000),
  set_if_present: setIf('present'),
  set_if_present_and_not_equal: setIf('present_and_not_equal', 'old'),
  set_if_absent: setIf('absent'),
  set_if_equal: setIf('equal', 'old'),
  set_if_equal_empty_value: setIf('equal'),
  set_if_absent_or_equal: setIf('absent_or_equal', 'old'),
  set_if_not_equal: setIf('not_equal', 'old'),
  increment_one: new pb._IncrementRequest().setCacheKey(b('counter')).setAmount(1).setTtlMilliseconds(60000),
  increment_negative: new pb._IncrementRequest().setCacheKey(b('counter')).setAmount(-5).setTtlMilliseconds(60000),
  increment_min_safe: new pb._IncrementRequest().setCacheKey(b('counter')).setAmount(-9007199254740991),
  increment_max_safe: new pb._IncrementRequest().setCacheKey(b('counter')).setAmount(9007199254740991),
  increment_zero: new pb._IncrementRequest().setCacheKey(b('counter')).setAmount(0).setTtlMilliseconds(1),
  update_ttl_overwrite: new pb._UpdateTtlRequest().setCacheKey(b('queue')).setOverwriteToMilliseconds(86400000),
  update_ttl_overwrite_zero: new pb._UpdateTtlRequest().setCacheKey(b('queue')).setOverwriteToMilliseconds(0),
  update_ttl_increase: new pb._UpdateTtlRequest().setCacheKey(b('queue')).setIncreaseToMilliseconds(5000),
  update_ttl_decrease: new pb._UpdateTtlRequest().setCacheKey(b('queue')).setDecreaseToMilliseconds(1000),
  get_request: new pb._GetRequest().setCacheKey(b('page:/api/items?id=1')),
  get_request_binary: new pb._GetRequest().setCacheKey(raw('00ff10')),
  set_request: new pb._SetRequest().setCacheKey(b('k')).setCacheBody(b('v')).setTtlMilliseconds(300000),
  set_request_no_ttl: new pb._SetRequest().setCacheKey(b('k')).setCacheBody(b('')),
  delete_request: new pb._DeleteRequest().setCacheKey(b('k')),
  // sdk-web sendGetBatch / sendSetBatch: the unary item messages, repeated in field 1
  get_batch_request: new pb._GetBatchRequest().setItemsList([
    new pb._GetRequest().setCacheKey(b('write:w1')), new pb._GetRequest().setCacheKey(raw('00ff')),
  ]),
  get_batch_request_empty: new pb._GetBatchRequest(),
  set_batch_request: new pb._SetBatchRequest().setItemsList([
    new pb._SetRequest().setCacheKey(b('write:w1')).setCacheBody(b('{"id":"w1"}')).setTtlMilliseconds(86400000),
    new pb._SetRequest().setCacheKey(b('k')).setCacheBody(b('')).setTtlMilliseconds(1000),
  ]),

  // -- responses (what a stand-in server sends) -----------------------------------------
  sorted_set_put_response: new pb._SortedSetPutResponse(),
  sorted_set_remove_response: new pb._SortedSetRemoveResponse(),
  set_response: new pb._SetResponse(),
  set_response_ok: new pb._SetResponse().setResult(pb.ECacheResult.OK),
  set_response_error: new pb._SetResponse().setResult(pb.ECacheResult.INVALID).setMessage('too big'),
  delete_response: new pb._DeleteResponse(),
  sorted_set_fetch_found_scores: fetchFound(new found().setValuesWithScores(
    new found._ValuesWithScores().setElementsList([element(b('w1'), 1700000000123), element(b('w2'), 0), element(b('w3'), -2.5)]))),
  sorted_set_fetch_found_values: fetchFound(new found().setValues(
    new found._Values().setValuesList([b('w1'), raw('00ff')]))),
  sorted_set_fetch_found_empty: fetchFound(new found().setValuesWithScores(new found._ValuesWithScores())),
  sorted_set_fetch_missing: new pb._SortedSetFetchResponse().setMissing(new pb._SortedSetFetchResponse._Missing()),
  sorted_set_length_found: lengthFound(42),
  sorted_set_length_found_zero: lengthFound(0),
  sorted_set_length_missing: new pb._SortedSetLengthResponse().setMissing(new pb._SortedSetLengthResponse._Missing()),
  set_if_stored: new pb._SetIfResponse().setStored(new pb._SetIfResponse._Stored()),
  set_if_not_stored: new pb._SetIfResponse().setNotStored(new pb._SetIfResponse._NotStored()),
  set_if_not_exists_stored: new pb._SetIfNotExistsResponse().setStored(new pb._SetIfNotExistsResponse._Stored()),
  set_if_not_exists_not_stored: new pb._SetIfNotExistsResponse().setNotStored(new pb._SetIfNotExistsResponse._NotStored()),
  increment_response: new pb._IncrementResponse().setValue(7),
  increment_response_negative: new pb._IncrementResponse().setValue(-3),
  increment_response_zero: new pb._IncrementResponse().setValue(0),
  update_ttl_set: new pb._UpdateTtlResponse().setSet(new pb._UpdateTtlResponse._Set()),
  update_ttl_not_set: new pb._UpdateTtlResponse().setNotSet(new pb._UpdateTtlResponse._NotSet()),
  update_ttl_missing: new pb._UpdateTtlResponse().setMissing(new pb._UpdateTtlResponse._Missing()),
  get_hit: new pb._GetResponse().setResult(pb.ECacheResult.HIT).setCacheBody(b('{"ok":true}')),
  get_hit_empty_body: new pb._GetResponse().setResult(pb.ECacheResult.HIT),
  get_miss: new pb._GetResponse().setResult(pb.ECacheResult.MISS).setMessage('not here'),
};

const out = {
  generator: 'tests/momento/golden/make_golden.mjs',
  source: `@gomomento/generated-types-webtext ${version}`,
  cases: {},
};
for (const name of Object.keys(cases).sort()) {
  const message = cases[name];
  out.cases[name] = {
    message: protoName(message),
    hex: Buffer.from(message.serializeBinary()).toString('hex'),
  };
}

function protoName(message) {
  // The generated constructors are anonymous; find the message's name by identity.
  const search = (ns, prefix) => {
    for (const [key, value] of Object.entries(ns)) {
      if (typeof value !== 'function' || !/^_?[A-Z]/.test(key)) continue;
      if (message instanceof value && message.constructor === value) return prefix + key;
      const inner = search(value, `${prefix}${key}.`);
      if (inner) return inner;
    }
    return null;
  };
  return search(pb, '') ?? '?';
}

const here = path.dirname(fileURLToPath(import.meta.url));
const target = process.argv[2] ?? path.join(here, 'golden.json');
writeFileSync(target, JSON.stringify(out, null, 2) + '\n');
