// Durable Objects for the local runner, hosted the way workerd hosts them.
//
// A `[[durable_objects.bindings]]` entry becomes a `DurableObjectNamespace` in `env`
// (`--durable-object BINDING=Class`): `idFromName(name)` derives the same id for the same name
// every time, `get(id)` / `getByName(name)` give a stub, and `stub.fetch(request)` reaches the
// one instance for that id. The JS class names are workerd's (`DurableObjectNamespace`,
// `DurableObjectState`, `DurableObjectStorage`, `SqlStorage`, ...) because the Python SDK
// picks its wrappers by them (`workers._EnvWrapper`, `DurableObjectContext`), so the Worker's
// Python code takes the same paths as on Cloudflare.
//
// Per object (one id): the Python instance, built lazily as `Class(ctx, env)`; its storage;
// the WebSockets it accepted with the Hibernation API (websockets.mjs). `hibernate()` drops the
// instance but keeps storage and sockets: the next message or request builds a new instance,
// which must find everything it needs in `ctx.storage` and the sockets' attachments —
// exactly what eviction of an idle object does on Cloudflare.
//
// Storage is SQLite through npm better-sqlite3, the engine SQLite-backed Durable Objects use:
// `ctx.storage.sql.exec(query, ...bindings)` returns a cursor (`toArray()`, `one()`, `raw()`,
// iteration, `columnNames`, `rowsRead`, `rowsWritten`), and the KV API (`get`/`put`/`delete`/
// `list`/`deleteAll`) keeps V8-serialized values in a `_cf_KV` table of the same database, as
// workerd does. One in-memory database per object, kept for the life of the runner (wrangler
// dev persists to disk; a restarted runner here starts empty). Not implemented: alarms,
// point-in-time recovery, `transaction()`/`sync()` beyond running the callback, RPC methods
// on stubs (only `fetch`), and input/output gates (the runner is one event loop, and the
// SQL API is synchronous, as on Cloudflare).
//
// A binding to a class of another Worker (`script_name` in wrangler.toml) is
// `--durable-object BINDING=Class@http://host:port`: the stub forwards each request to that
// Worker's runner (`/__runner/durable-objects/<Class>/<id>`), which hosts the object. A
// WebSocket cannot cross that hop (a 101 needs the socket in the same process), so an upgrade
// through such a binding fails with a TypeError saying so.

import { createHash, randomBytes } from "node:crypto";
import { serialize, deserialize } from "node:v8";

import Database from "better-sqlite3";

export const INTERNAL_PREFIX = "/__runner/durable-objects/";
const URL_HEADER = "x-runner-do-url";
const NAME_HEADER = "x-runner-do-name";

export class DurableObjectId {
  #hex;

  constructor(hex, name) {
    this.#hex = hex;
    this.name = name; // set for ids from idFromName, as in workerd
  }

  toString() {
    return this.#hex;
  }

  equals(other) {
    return other instanceof DurableObjectId && other.toString() === this.#hex;
  }
}

/** `env.BINDING`: ids and stubs; `transport(id, request)` is the object's fetch, local or remote. */
export class DurableObjectNamespace {
  #className;
  #transport;

  constructor(className, transport) {
    this.#className = className;
    this.#transport = transport;
  }

  idFromName(name) {
    // 64 hex digits like workerd's ids; derived from the class too, so two classes never share one.
    const hex = createHash("sha256").update(`${this.#className}\n${String(name)}`).digest("hex");
    return new DurableObjectId(hex, String(name));
  }

  idFromString(hex) {
    if (!/^[0-9a-f]{64}$/.test(String(hex))) throw new TypeError("Invalid Durable Object ID: must be 64 hex digits");
    return new DurableObjectId(String(hex), undefined);
  }

  newUniqueId() {
    return new DurableObjectId(randomBytes(32).toString("hex"), undefined);
  }

  get(id) {
    if (!(id instanceof DurableObjectId)) throw new TypeError("get() takes a DurableObjectId (from idFromName/idFromString)");
    return new DurableObjectStub(id, this.#transport);
  }

  getByName(name) {
    return this.get(this.idFromName(name));
  }
}

/** A stub (workerd's class is named DurableObject): `fetch` only. */
class DurableObjectStub {
  #transport;

  constructor(id, transport) {
    this.id = id;
    this.name = id.name;
    this.#transport = transport;
  }

  async fetch(input, init) {
    return this.#transport(this.id, new Request(input, init));
  }
}
Object.defineProperty(DurableObjectStub, "name", { value: "DurableObject" });

/**
 * The objects of one class hosted by this runner. `python` constructs and calls the Python
 * class (worker_runtime.mjs); `track(kind)` counts an event for /__runner/idle.
 */
export class DurableObjectHost {
  #objects = new Map(); // id hex -> { id, db, sockets: Set, instance: Promise | null }

  constructor({ className, env, python, beginEvent, log }) {
    this.className = className;
    this.env = env;
    this.python = python;
    this.beginEvent = beginEvent;
    this.log = log;
  }

  namespace() {
    return new DurableObjectNamespace(this.className, (id, request) => this.fetch(id, request));
  }

  /** A request to the object `id` (through a stub, or forwarded from another runner). */
  async fetch(id, request) {
    const end = this.beginEvent("durableObjectRequests");
    const slot = this.#slot(id);
    slot.busy += 1;
    try {
      const instance = await this.#instance(slot);
      return await this.python.fetch(instance, request);
    } finally {
      slot.busy -= 1;
      end();
    }
  }

  /**
   * Drop the idle instances (all, or the one `idHex`); storage and sockets stay. Returns how
   * many. An object handling an event is left alone: Cloudflare evicts only idle objects.
   */
  hibernate(idHex = null) {
    let dropped = 0;
    for (const [hex, slot] of this.#objects) {
      if (idHex !== null && hex !== idHex) continue;
      if (slot.instance === null || slot.busy > 0) continue;
      const instance = slot.instance;
      slot.instance = null;
      instance.then((inst) => this.python.destroy(inst), () => {});
      dropped += 1;
    }
    return dropped;
  }

  snapshot() {
    return [...this.#objects.values()].map((slot) => ({
      class: this.className,
      id: slot.id.toString(),
      name: slot.id.name ?? null,
      instance: slot.instance !== null,
      webSockets: [...slot.sockets].filter((ws) => ws.readyState !== 3).length,
    }));
  }

  #slot(id) {
    const hex = id.toString();
    let slot = this.#objects.get(hex);
    if (!slot) {
      slot = { id, db: new Database(":memory:"), sockets: new Set(), instance: null, busy: 0 };
      this.#objects.set(hex, slot);
    }
    if (slot.id.name === undefined && id.name !== undefined) slot.id = id;
    return slot;
  }

  /** The object's Python instance, built as `Class(ctx, env)` with a fresh ctx over its slot. */
  #instance(slot) {
    if (slot.instance === null) {
      const state = new DurableObjectState(slot, (ws, tags) => this.#accept(slot, ws, tags));
      const building = Promise.resolve().then(() => this.python.construct(this.className, state, this.env));
      slot.instance = building;
      building.catch(() => {
        if (slot.instance === building) slot.instance = null; // a constructor that threw is retried by the next event
      });
    }
    return slot.instance;
  }

  #accept(slot, ws, tags) {
    if (typeof ws?.acceptHibernatable !== "function") {
      throw new TypeError("acceptWebSocket() takes the server end of a WebSocketPair");
    }
    ws.acceptHibernatable({ deliver: (method, socket, ...args) => this.#deliver(slot, method, socket, args) });
    ws.tags = [...(tags ?? [])].map(String);
    slot.sockets.add(ws);
  }

  /** A socket event for the object: rebuilt first if it hibernated, then its handler runs. */
  #deliver(slot, method, ws, args) {
    const end = this.beginEvent("webSocketEvents");
    if (method === "webSocketClose" || method === "webSocketError") slot.sockets.delete(ws);
    slot.busy += 1;
    (async () => {
      const instance = await this.#instance(slot);
      await this.python.call(instance, method, [ws, ...args]);
    })()
      .catch((err) => this.log.error(`${this.className}.${method} failed: ${err?.message ?? err}`))
      .finally(() => {
        slot.busy -= 1;
        end();
      });
  }
}

/** The `ctx` a Durable Object is constructed with. */
class DurableObjectState {
  #slot;
  #accept;

  constructor(slot, accept) {
    this.#slot = slot;
    this.#accept = accept;
    this.id = slot.id;
    this.storage = new DurableObjectStorage(slot.db);
  }

  acceptWebSocket(ws, tags) {
    this.#accept(ws, tags);
  }

  getWebSockets(tag) {
    return [...this.#slot.sockets].filter((ws) => ws.readyState !== 3 && (tag === undefined || ws.tags.includes(String(tag))));
  }

  getTags(ws) {
    return [...(ws.tags ?? [])];
  }

  waitUntil(promise) {
    Promise.resolve(promise).catch(() => {}); // objects stay alive while work runs; nothing to extend here
  }

  async blockConcurrencyWhile(callback) {
    return await callback();
  }
}

/** `ctx.storage`: the SQL API and the KV API over the object's SQLite database. */
class DurableObjectStorage {
  #db;

  constructor(db) {
    this.#db = db;
    this.sql = new SqlStorage(db);
  }

  #kv() {
    this.#db.exec("CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID");
    return this.#db;
  }

  async get(keys) {
    const db = this.#kv();
    const read = (key) => {
      const row = db.prepare("SELECT value FROM _cf_KV WHERE key = ?").get(String(key));
      return row ? deserialize(row.value) : undefined;
    };
    if (!Array.isArray(keys)) return read(keys);
    const found = new Map();
    for (const key of keys) {
      const value = read(key);
      if (value !== undefined) found.set(String(key), value);
    }
    return found;
  }

  async put(keyOrEntries, value) {
    const db = this.#kv();
    const write = db.prepare("INSERT OR REPLACE INTO _cf_KV (key, value) VALUES (?, ?)");
    const entries = typeof keyOrEntries === "object" && keyOrEntries !== null
      ? Object.entries(keyOrEntries)
      : [[keyOrEntries, value]];
    db.transaction(() => {
      for (const [k, v] of entries) write.run(String(k), serialize(v));
    })();
  }

  async delete(keys) {
    const db = this.#kv();
    const remove = db.prepare("DELETE FROM _cf_KV WHERE key = ?");
    if (!Array.isArray(keys)) return remove.run(String(keys)).changes > 0;
    return keys.reduce((n, key) => n + remove.run(String(key)).changes, 0);
  }

  async list({ prefix = "", start, end, limit, reverse = false } = {}) {
    const rows = this.#kv()
      .prepare(`SELECT key, value FROM _cf_KV ORDER BY key ${reverse ? "DESC" : "ASC"}`)
      .all()
      .filter((row) => row.key.startsWith(prefix) && (start === undefined || row.key >= start) && (end === undefined || row.key < end));
    return new Map(rows.slice(0, limit ?? rows.length).map((row) => [row.key, deserialize(row.value)]));
  }

  async deleteAll() {
    this.#db.exec("DROP TABLE IF EXISTS _cf_KV");
  }

  transactionSync(callback) {
    return this.#db.transaction(callback)();
  }

  async transaction(callback) {
    return await callback(this);
  }

  async sync() {}
}

class SqlStorage {
  #db;

  constructor(db) {
    this.#db = db;
  }

  exec(query, ...bindings) {
    return new SqlStorageCursor(this.#db, String(query), bindings.map(toSqlValue));
  }

  get databaseSize() {
    const { page_count: pages } = this.#db.prepare("PRAGMA page_count").get();
    const { page_size: size } = this.#db.prepare("PRAGMA page_size").get();
    return pages * size;
  }
}

/** The result of `sql.exec`: computed eagerly here (workerd streams it; the results are the same). */
class SqlStorageCursor {
  #rows;
  #next = 0;

  constructor(db, query, bindings) {
    let statement;
    try {
      statement = db.prepare(query);
    } catch (err) {
      // Several statements in one exec are allowed without bindings (workerd runs them all).
      if (bindings.length === 0 && /more than one statement/.test(err.message)) {
        db.exec(query);
        this.#setResult([], [], 0, 0);
        return;
      }
      throw sqlError(err);
    }
    try {
      if (statement.reader) {
        const raw = statement.raw(true).all(...bindings);
        const columns = statement.columns().map((c) => c.name);
        this.#setResult(columns, raw, raw.length, 0);
      } else {
        const { changes } = statement.run(...bindings);
        this.#setResult([], [], 0, changes);
      }
    } catch (err) {
      throw sqlError(err);
    }
  }

  #setResult(columns, raw, read, written) {
    this.columnNames = columns;
    this.#rows = raw.map((row) => row.map(fromSqlValue));
    this.rowsRead = read;
    this.rowsWritten = written;
  }

  #object(row) {
    return Object.fromEntries(this.columnNames.map((name, i) => [name, row[i]]));
  }

  next() {
    if (this.#next >= this.#rows.length) return { done: true, value: undefined };
    return { done: false, value: this.#object(this.#rows[this.#next++]) };
  }

  [Symbol.iterator]() {
    return this;
  }

  toArray() {
    const rest = this.#rows.slice(this.#next).map((row) => this.#object(row));
    this.#next = this.#rows.length;
    return rest;
  }

  one() {
    const rest = this.toArray();
    if (rest.length !== 1) {
      throw new Error(`Expected exactly one result from SQL query, but got ${rest.length === 0 ? "no results" : "more than one"}.`);
    }
    return rest[0];
  }

  raw() {
    const rows = this.#rows.slice(this.#next);
    this.#next = this.#rows.length;
    return rows[Symbol.iterator]();
  }
}

function toSqlValue(value) {
  if (value === undefined) throw new TypeError("SQL bindings cannot be undefined; pass null");
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return value;
}

function fromSqlValue(value) {
  if (Buffer.isBuffer(value)) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  return value;
}

function sqlError(err) {
  return new Error(`${err.message}: ${err.code ?? "SQLITE_ERROR"}`);
}

/** `BINDING=Class@http://...`: a namespace whose objects live in another Worker's runner. */
export function remoteNamespace(className, baseUrl) {
  return new DurableObjectNamespace(className, async (id, request) => {
    if ((request.headers.get("upgrade") ?? "").toLowerCase() === "websocket") {
      throw new TypeError(
        `${className} is hosted by the runner at ${baseUrl} (script_name binding); a WebSocket cannot ` +
          "cross runners locally: subscribe through the Worker that defines the class",
      );
    }
    const headers = new Headers(request.headers);
    headers.set(URL_HEADER, request.url);
    if (id.name !== undefined) headers.set(NAME_HEADER, encodeURIComponent(id.name));
    const body = request.method === "GET" || request.method === "HEAD" ? null : await request.arrayBuffer();
    return fetch(`${baseUrl}${INTERNAL_PREFIX}${encodeURIComponent(className)}/${id.toString()}`, {
      method: request.method,
      headers,
      body,
      redirect: "manual",
    });
  });
}

/**
 * The runner's side of `remoteNamespace`: `/__runner/durable-objects/<Class>/<id>` → that
 * object's fetch, with the original URL and headers. Returns a Response.
 */
export async function serveForwarded(hosts, pathname, request) {
  const [classPart, hex] = pathname.slice(INTERNAL_PREFIX.length).split("/");
  const host = hosts.get(decodeURIComponent(classPart ?? ""));
  if (!host) {
    return Response.json({ error: `this runner hosts no Durable Object class ${classPart}`, hosted: [...hosts.keys()] }, { status: 404 });
  }
  const namespace = host.namespace();
  let id;
  try {
    const name = request.headers.get(NAME_HEADER);
    id = name === null ? namespace.idFromString(hex) : namespace.idFromName(decodeURIComponent(name));
    if (id.toString() !== hex) throw new TypeError("the id does not match its name");
  } catch (err) {
    return Response.json({ error: `bad Durable Object id: ${err.message}` }, { status: 400 });
  }
  const headers = new Headers(request.headers);
  const url = headers.get(URL_HEADER) ?? request.url;
  headers.delete(URL_HEADER);
  headers.delete(NAME_HEADER);
  const body = request.method === "GET" || request.method === "HEAD" ? null : await request.arrayBuffer();
  return host.fetch(id, new Request(url, { method: request.method, headers, body }));
}
