// `caches.default` (the Workers Cache API) for the local runner, one store per simulated colo.
//
// On Cloudflare every colo (data centre) has its own cache and nothing replicates between
// them; the edge's colo tier (route option l1_ttl) relies on exactly that. Here a request's
// colo is its cf.colo plus cf.country (an X-Edge-Country override simulates a visitor served
// elsewhere), carried through the Worker's async work by AsyncLocalStorage, so waitUntil
// work stores into the colo of the request that started it.
//
// Implemented: match / put / delete with string or Request keys, expiry from the stored
// response's Cache-Control max-age (or s-maxage), as the Cache API honours it. Not
// implemented: caches.open, ignoreMethod/ignoreSearch options, Vary.

import { AsyncLocalStorage } from "node:async_hooks";

const currentColo = new AsyncLocalStorage();
const stores = new Map(); // colo -> Map(url -> { expires, status, headers, body })

function urlOf(key) {
  return typeof key === "string" ? key : key.url;
}

function storeFor() {
  const colo = currentColo.getStore() ?? "default";
  if (!stores.has(colo)) stores.set(colo, new Map());
  return stores.get(colo);
}

function maxAge(headers) {
  const value = headers.get("cache-control") ?? "";
  const found = /(?:^|,)\s*(?:s-maxage|max-age)=(\d+)/i.exec(value);
  return found ? Number(found[1]) : 0;
}

class ColoCache {
  async match(key) {
    const store = storeFor();
    const entry = store.get(urlOf(key));
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) {
      store.delete(urlOf(key));
      return undefined;
    }
    return new Response(entry.body.slice(0), { status: entry.status, headers: entry.headers });
  }

  async put(key, response) {
    const seconds = maxAge(response.headers);
    const body = await response.arrayBuffer();
    if (seconds <= 0) return; // the Cache API does not store what may not be cached
    storeFor().set(urlOf(key), {
      expires: Date.now() + seconds * 1000,
      status: response.status,
      headers: [...response.headers],
      body,
    });
  }

  async delete(key) {
    return storeFor().delete(urlOf(key));
  }
}

/** Install `caches.default` on the global object (once, at startup). */
export function installColoCaches(target = globalThis) {
  target.caches = { default: new ColoCache() };
}

/** Run `work` (one request and everything it starts) in the colo the request's cf names. */
export function inColo(cf, work) {
  return currentColo.run(`${cf?.colo ?? ""}/${cf?.country ?? ""}`, work);
}
