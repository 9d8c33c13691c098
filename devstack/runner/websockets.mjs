// WebSockets the way workerd gives them to a Worker: `WebSocketPair`, the `101` Response that
// carries the client end, and the bridge from a real socket (npm `ws`) to that client end.
//
// On Cloudflare a Worker (or Durable Object) answering an upgrade creates a pair, keeps the
// server end and returns `new Response(null, {status: 101, webSocket: client})`; the runtime
// then connects the client end to the visitor's socket. Here the same happens: serve.mjs takes
// Node's `upgrade` event, calls the Worker, and when it answers 101 with a client end, `ws`
// completes the handshake and `attachTransport` joins the real socket to that end.
//
// The server end supports both ways workerd offers to use it:
// * `accept()` + `addEventListener("message" | "close" | "error")` (a normal, in-memory socket);
// * the Hibernation API: `ctx.acceptWebSocket(ws)` in a Durable Object (durable_objects.mjs),
//   after which every message, close and error is delivered to the object's
//   `webSocketMessage(ws, message)` / `webSocketClose(ws, code, reason, wasClean)` /
//   `webSocketError(ws, error)` — rebuilding the object first if it was hibernated — and
//   `serializeAttachment(value)` / `deserializeAttachment()` keep per-socket state across that.
// Frames sent before the 101 reached the visitor (e.g. a replay) are queued, as in workerd.
//
// Not implemented: a client end used by the Worker itself (outbound `fetch` upgrades),
// `ctx.setWebSocketAutoResponse`, hibernatable-socket tags beyond `getWebSockets(tag)`.

import { serialize } from "node:v8";
import { WebSocketServer } from "ws";

const NodeResponse = globalThis.Response;
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
// workerd refuses attachments over 2,048 bytes once serialized (Cloudflare's DO WebSocket docs).
const MAX_ATTACHMENT_BYTES = 2048;

/** The Response that is an `instanceof` check for everything a Worker may return (fetch's too). */
export { NodeResponse };

/** One end of a `WebSocketPair`; named `WebSocket` like workerd's, for the SDK's type checks. */
class PairedWebSocket extends EventTarget {
  #peer = null;
  #transport = null; // the real socket (client end only), once the 101 was sent
  #queued = []; // what to hand the transport when it arrives: ["send", data] / ["close", code, reason]
  #attachment = undefined;
  #hibernation = null; // { deliver(method, ws, ...args) } once a Durable Object accepted it
  #accepted = false;

  constructor() {
    super();
    this.readyState = CONNECTING;
  }

  static pair() {
    const client = new PairedWebSocket();
    const server = new PairedWebSocket();
    client.#peer = server;
    server.#peer = client;
    client.readyState = OPEN;
    return [client, server];
  }

  get CONNECTING() { return CONNECTING; }
  get OPEN() { return OPEN; }
  get CLOSING() { return CLOSING; }
  get CLOSED() { return CLOSED; }

  /** Non-hibernating use: events are dispatched to this object's listeners. */
  accept() {
    if (this.#hibernation) throw new TypeError("this WebSocket was accepted with ctx.acceptWebSocket(); do not call accept()");
    this.#accepted = true;
    this.readyState = OPEN;
  }

  /** Called by durable_objects.mjs for `ctx.acceptWebSocket(ws)`. */
  acceptHibernatable(delivery) {
    if (this.#accepted) throw new TypeError("this WebSocket was already accept()ed");
    if (this.#hibernation) throw new TypeError("this WebSocket was already accepted by a Durable Object");
    this.#hibernation = delivery;
    this.readyState = OPEN;
  }

  send(data) {
    if (this.readyState !== OPEN) throw new TypeError("WebSocket send() after close()");
    const frame = typeof data === "string" ? data : Buffer.from(toBytes(data));
    this.#peer.#outbound(["send", frame]);
  }

  close(code, reason) {
    if (this.readyState === CLOSED || this.readyState === CLOSING) return;
    this.readyState = CLOSING;
    this.#peer.#outbound(["close", code ?? 1000, reason ?? ""]);
  }

  serializeAttachment(value) {
    const size = serialize(value).length;
    if (size > MAX_ATTACHMENT_BYTES) {
      throw new RangeError(`serializeAttachment: ${size} bytes is over the ${MAX_ATTACHMENT_BYTES}-byte limit`);
    }
    this.#attachment = structuredClone(value);
  }

  deserializeAttachment() {
    return this.#attachment === undefined ? null : structuredClone(this.#attachment);
  }

  // -- the client end's side: frames to and from the real socket ---------------------------

  #outbound(item) {
    if (this.#transport) this.#write(item);
    else this.#queued.push(item);
  }

  #write([kind, a, b]) {
    if (kind === "send") this.#transport.send(a);
    else this.#transport.close(a, b);
  }

  /** Join the real socket to this (client) end: queued frames go out, its events come in. */
  attach(transport) {
    this.#transport = transport;
    for (const item of this.#queued.splice(0)) this.#write(item);
    const server = this.#peer;
    transport.on("message", (data, isBinary) => server.#receive(isBinary ? toArrayBuffer(data) : data.toString()));
    transport.on("close", (code, reason) => server.#closed(code, reason.toString()));
    transport.on("error", (err) => server.#failed(err));
  }

  #receive(message) {
    if (this.readyState !== OPEN) return;
    if (this.#hibernation) this.#hibernation.deliver("webSocketMessage", this, message);
    else if (this.#accepted) this.dispatchEvent(Object.assign(new Event("message"), { data: message }));
  }

  #closed(code, reason) {
    const wasClean = code !== 1006;
    const closedHere = this.readyState === CLOSING; // our close() was answered: nothing to report
    this.readyState = CLOSED;
    this.#peer.readyState = CLOSED;
    if (closedHere) return;
    if (this.#hibernation) this.#hibernation.deliver("webSocketClose", this, code, reason, wasClean);
    else if (this.#accepted) this.dispatchEvent(Object.assign(new Event("close"), { code, reason, wasClean }));
  }

  #failed(err) {
    if (this.#hibernation) this.#hibernation.deliver("webSocketError", this, err);
    else if (this.#accepted) this.dispatchEvent(Object.assign(new Event("error"), { error: err }));
  }
}
Object.defineProperty(PairedWebSocket, "name", { value: "WebSocket" });

/** `new WebSocketPair()`: `{0: client, 1: server}`, also iterable (`client, server = pair`). */
class WebSocketPair {
  constructor() {
    const [client, server] = PairedWebSocket.pair();
    this[0] = client;
    this[1] = server;
  }

  *[Symbol.iterator]() {
    yield this[0];
    yield this[1];
  }
}

/**
 * workerd's Response: status 101 is allowed when it carries a `webSocket` (Node's Response only
 * takes 200-599), and every Response has a `webSocket` property (null when it has none).
 */
class Response extends NodeResponse {
  constructor(body, init) {
    const upgrade = init?.status === 101;
    const socket = init?.webSocket ?? null;
    if (upgrade && !(socket instanceof PairedWebSocket)) {
      throw new RangeError("a Response with status 101 needs the client end of a WebSocketPair as webSocket");
    }
    if (socket && !upgrade) throw new RangeError("a Response with a webSocket must have status 101");
    super(body, upgrade ? { ...init, status: 200, webSocket: undefined } : init);
    if (upgrade) upgrades.set(this, socket);
  }

  get status() {
    return upgrades.has(this) ? 101 : super.status;
  }

  get ok() {
    return upgrades.has(this) ? false : super.ok;
  }

  get webSocket() {
    return upgrades.get(this) ?? null;
  }
}
// Not private fields: Node's Response constructor reads `status` before a subclass's fields exist.
const upgrades = new WeakMap();

/** Install WebSocketPair and the 101-capable Response as globals (once, before the Worker runs). */
export function installWebSocketGlobals(target = globalThis) {
  target.WebSocketPair = WebSocketPair;
  target.Response = Response;
}

/** The client end a Worker's response carries, or null. */
export function upgradeSocketOf(response) {
  const socket = response?.webSocket;
  return response?.status === 101 && socket instanceof PairedWebSocket ? socket : null;
}

/** Completes WebSocket handshakes (RFC 6455 §4.2.2) for sockets the Worker accepted. */
export function makeUpgrader() {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  return (req, socket, head, clientEnd) =>
    new Promise((resolve) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        clientEnd.attach(ws);
        resolve();
      });
    });
}

function toBytes(data) {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("WebSocket send() takes a string, an ArrayBuffer or a typed array");
}

function toArrayBuffer(data) {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}
