// Node's http messages <-> WHATWG Request/Response, with the edge's own additions.
//
// Inbound, Cloudflare adds headers that a Worker may read (CF-Connecting-IP, CF-IPCountry,
// CF-Ray, X-Forwarded-Proto, X-Real-IP) and replaces any the client sent; hop-by-hop headers
// never reach a Worker. Outbound, the runtime encodes the body according to the
// Content-Encoding the Worker set (workerd's default `encodeBody: "automatic"`): a Response
// passed through from fetch() carries a decoded body and its original gzip/br header.

import { randomBytes } from "node:crypto";
import { STATUS_CODES } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import zlib from "node:zlib";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

/** Read the whole body: local requests are small, and a Request needs a fixed body anyway. */
export async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Build the Worker's Request (with `cf`) from a Node request and its body. An upgrade request
 * keeps its `Upgrade` header, as workerd shows it to the Worker (that is how a Worker knows
 * to answer with a WebSocket).
 */
export function toRequest(req, body, { defaultHost, cf, upgrade = false }) {
  const host = req.headers.host ?? defaultHost;
  const url = /^https?:\/\//i.test(req.url) ? req.url : `http://${host}${req.url}`;
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    const lower = name.toLowerCase();
    if (!HOP_BY_HOP.has(lower) || (upgrade && lower === "upgrade")) headers.append(name, req.rawHeaders[i + 1]);
  }
  const client = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  headers.set("cf-connecting-ip", client);
  headers.set("x-real-ip", client);
  headers.set("x-forwarded-proto", "http");
  if (cf.country) headers.set("cf-ipcountry", cf.country);
  headers.set("cf-ray", `${randomBytes(8).toString("hex")}-${cf.colo ?? "LCL"}`);

  const method = req.method.toUpperCase();
  const request = new Request(url, {
    method,
    headers,
    body: method === "GET" || method === "HEAD" || body.length === 0 ? null : body,
    redirect: "manual",
  });
  Object.defineProperty(request, "cf", { value: cf, enumerable: true });
  return request;
}

/** Write a WHATWG Response to a Node ServerResponse. */
export async function sendResponse(res, response, { head }) {
  const headers = {};
  for (const [name, value] of response.headers) {
    if (name === "set-cookie" || HOP_BY_HOP.has(name)) continue;
    headers[name] = value;
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length) headers["set-cookie"] = cookies;

  const encoder = encoderFor(headers["content-encoding"]);
  if (encoder) delete headers["content-length"];
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (head || response.body === null || response.status === 204 || response.status === 304) {
    res.end();
    await response.body?.cancel().catch(() => {});
    return;
  }
  const source = Readable.fromWeb(response.body);
  if (encoder) await pipeline(source, encoder, res);
  else await pipeline(source, res);
}

/**
 * Answer an upgrade request that the Worker did not upgrade (a 401 before the handshake, say):
 * Node hands over the raw socket for those, so the response is written by hand and the
 * connection closed (RFC 6455 §4.2.2: any non-101 status refuses the handshake).
 */
export async function sendRawResponse(socket, response) {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ""}`];
  for (const [name, value] of response.headers) {
    if (!HOP_BY_HOP.has(name) && name !== "content-length") lines.push(`${name}: ${value}`);
  }
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  socket.end(Buffer.concat([Buffer.from(lines.join("\r\n")), body]));
}

function encoderFor(contentEncoding) {
  const coding = (contentEncoding ?? "").trim().toLowerCase();
  if (coding === "gzip" || coding === "x-gzip") return zlib.createGzip();
  if (coding === "br") return zlib.createBrotliCompress();
  if (coding === "deflate") return zlib.createDeflate();
  return null;
}

/** A plain-text answer from the runner itself. */
export function sendText(res, status, text, extraHeaders = {}) {
  const body = Buffer.from(text);
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": body.length, ...extraHeaders });
  res.end(body);
}

export function sendJson(res, status, value) {
  const body = Buffer.from(`${JSON.stringify(value)}\n`);
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}
