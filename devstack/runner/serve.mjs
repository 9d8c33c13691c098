#!/usr/bin/env node
// Serve one Python Worker over HTTP inside Pyodide, like `wrangler dev` would, offline.
//
// Why this exists: `wrangler dev` for a Python Worker downloads workerd's Pyodide bundle at
// start, so it cannot run without internet (shared reference python-workers.md). This runner
// uses npm `pyodide@0.28.2`, the same Pyodide version workerd uses for this project's
// compatibility date, with the real `workers` SDK, and calls the Worker the way workerd does.
// It is a development stand-in, not a sandbox: no CPU/memory/subrequest limits are enforced.
//
// Usage: node devstack/runner/serve.mjs --help

import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { USAGE, UsageError, parseCommandLine } from "./args.mjs";
import { baseCf, overrideAllowed, requestCf } from "./cf.mjs";
import { Activity, ExecutionContext, ScheduledController, describeError, exceptionSummary } from "./context.mjs";
import { inColo, installColoCaches } from "./colo_cache.mjs";
import { armCrons, nextFire } from "./cron.mjs";
import { DurableObjectHost, INTERNAL_PREFIX, remoteNamespace, serveForwarded } from "./durable_objects.mjs";
import { readBody, sendJson, sendRawResponse, sendResponse, sendText, toRequest } from "./http_bridge.mjs";
import { installWebSocketGlobals, makeUpgrader, upgradeSocketOf } from "./websockets.mjs";
import { StartupError, startWorker } from "./worker_runtime.mjs";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const t0 = performance.now();

// The local URLs wrangler uses to fire a Worker's scheduled() handler. wrangler 4.86 (miniflare
// 4.20260426) answers /cdn-cgi/handler/scheduled?cron=&time= on every `wrangler dev`, still
// accepts the deprecated /cdn-cgi/mf/scheduled, and older `--test-scheduled` used /__scheduled.
const SCHEDULED_PATHS = new Set(["/cdn-cgi/handler/scheduled", "/cdn-cgi/mf/scheduled", "/__scheduled"]);
const IDLE_PATH = "/__runner/idle";
const HEALTH_PATH = "/__runner/health";
const OBJECTS_PATH = "/__runner/durable-objects";
const HIBERNATE_PATH = "/__runner/hibernate";

function makeLog(name) {
  const write = (stream, text) => {
    const lines = String(text).split("\n");
    stream.write(lines.map((line) => `[${name}] ${line}`).join("\n") + "\n");
  };
  return {
    info: (text) => write(process.stdout, text),
    warn: (text) => write(process.stderr, text),
    error: (text) => write(process.stderr, text),
  };
}

/** console.* from the Worker (Python's js.console or JS helpers) gets the Worker's prefix too. */
function prefixConsole(log) {
  const format = (args) => args.map((a) => (typeof a === "string" ? a : describeOrInspect(a))).join(" ");
  console.log = console.info = console.debug = (...args) => log.info(format(args));
  console.warn = console.error = (...args) => log.warn(format(args));
}

/**
 * Pyodide's fatal error handler (e.g. "Maximum call stack size exceeded" deep in the
 * interpreter) prints "Pyodide has suffered a fatal error" through console.error and leaves
 * an interpreter that can no longer be used: every later request would fail or hang. Exit
 * instead (status 70, EX_SOFTWARE) once the cause has been printed, so that `make dev`'s
 * supervisor restarts the Worker; workerd likewise discards a broken isolate.
 */
function exitOnPyodideFatal(log) {
  const error = console.error;
  let exiting = false;
  console.error = (...args) => {
    error(...args);
    if (exiting || !args.some((a) => typeof a === "string" && a.includes("Pyodide has suffered a fatal error"))) return;
    exiting = true;
    setTimeout(() => {
      log.error("Pyodide suffered a fatal error (see above); this runner can no longer serve, exiting with status 70");
      process.exit(70);
    }, 50);
  };
}

/**
 * The supervisor kills its children on exit, and on Linux the kernel does when it is SIGKILLed
 * (PR_SET_PDEATHSIG); elsewhere, or when started by hand from a shell that goes away, this
 * notices the parent changing (re-parented to init or a subreaper) and exits.
 */
function exitWithParent(log) {
  const parent = process.ppid;
  if (parent <= 1) return;
  setInterval(() => {
    if (process.ppid === parent) return;
    log.error(`parent process ${parent} is gone; exiting`);
    process.exit(1);
  }, 1000).unref();
}

function describeOrInspect(value) {
  if (value instanceof Error) return describeError(value);
  try {
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}

async function main() {
  let config;
  try {
    config = parseCommandLine(process.argv.slice(2), { repoRoot: REPO_ROOT });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`serve.mjs: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (config.printConfig) {
    printConfig(config);
    return;
  }

  const log = makeLog(config.name);
  prefixConsole(log);
  exitOnPyodideFatal(log);
  exitWithParent(log);
  process.on("unhandledRejection", (err) => log.error(`unhandled rejection (still serving):\n${describeError(err)}`));
  process.on("uncaughtException", (err) => log.error(`uncaught exception (still serving):\n${describeError(err)}`));

  // Vars and secrets are strings on Cloudflare; one env object is shared by every event.
  const env = { ...config.vars };
  const activity = new Activity(log);
  installWebSocketGlobals(); // WebSocketPair and the 101-capable Response (websockets.mjs)
  let worker;
  let objectHosts;
  try {
    worker = await startWorker({ config, env, activity, log });
    objectHosts = bindDurableObjects(config.durableObjects, worker, env, activity, log);
  } catch (err) {
    log.error(err instanceof StartupError ? err.message : describeError(err));
    process.exit(1);
  }
  const coldStartMs = performance.now() - t0;

  let port = config.port; // the real one once listening (--port 0 picks a free port)
  const cfBase = baseCf(config.cf);
  installColoCaches(); // caches.default per simulated colo (colo_cache.mjs)
  const allowOverride = overrideAllowed(env);
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      log.error(`runner error on ${req.method} ${req.url}:\n${describeError(err)}`);
      if (!res.headersSent) sendText(res, 500, "runner error\n");
      else res.destroy();
    });
  });
  // Requests with `Upgrade:` arrive here instead (Node hands over the socket); see serveUpgrade.
  const upgradeToWebSocket = makeUpgrader();
  server.on("upgrade", (req, socket, head) => {
    serveUpgrade(req, socket, head).catch((err) => {
      log.error(`runner error on upgrade ${req.url}:\n${describeError(err)}`);
      socket.destroy();
    });
  });

  async function handle(req, res) {
    // An origin-form target is a path even when it starts with "//" (RFC 9112 §3.2.1); as a
    // relative URL "//x" would be read as a host, and "//%2F" throws.
    const url = new URL(req.url.startsWith("/") ? `http://runner.invalid${req.url}` : req.url, "http://runner.invalid");
    if (url.pathname === IDLE_PATH) return idle(res, url);
    if (url.pathname === HEALTH_PATH) {
      return sendJson(res, 200, { name: config.name, entry: config.moduleName, pyodide: worker.pyodideVersion });
    }
    if (SCHEDULED_PATHS.has(url.pathname)) return triggerScheduled(req, res, url);
    if (url.pathname === OBJECTS_PATH) {
      return sendJson(res, 200, { objects: [...objectHosts.values()].flatMap((host) => host.snapshot()) });
    }
    if (url.pathname === HIBERNATE_PATH && req.method === "POST") return hibernate(res, url);
    if (url.pathname.startsWith(INTERNAL_PREFIX)) return serveObjectRequest(req, res, url);
    // Fetch standard §2.2.1: CONNECT, TRACE and TRACK are forbidden methods, so no Request
    // can carry them to the Worker (undici throws); answer as an HTTP server would.
    if (/^(CONNECT|TRACE|TRACK)$/i.test(req.method)) {
      return sendJson(res, 405, { error: `method ${req.method.toUpperCase()} is not supported by a Worker` });
    }
    return serveFetch(req, res, url);
  }

  async function serveFetch(req, res, url) {
    const started = performance.now();
    const end = activity.beginEvent("requests");
    let status = 500;
    let note = "";
    try {
      const body = await readBody(req);
      const cfResult = requestCf(cfBase, new Headers(headerPairs(req)), {
        allowOverride,
        countryPoints: worker.countryPoints,
      });
      if (cfResult.note) note = ` (${cfResult.note})`;
      let request;
      try {
        request = toRequest(req, body, { defaultHost: `${config.host}:${port}`, cf: cfResult.cf });
      } catch (err) {
        // No Request can carry it (a Host that is no host: "Failed to parse URL"). Cloudflare's
        // front end refuses such a request with 400 before any Worker runs (RFC 9112 §3.2).
        status = 400;
        sendJson(res, 400, { error: `the request cannot reach a Worker: ${err.message}` });
        return;
      }
      const ctx = new ExecutionContext((p) => activity.track(p, `${req.method} ${url.pathname}`));
      let response;
      try {
        response = await inColo(cfResult.cf, () => worker.fetch(request, ctx));
      } catch (err) {
        // workerd logs the exception and answers 500; Cloudflare shows error 1101.
        log.error(`Uncaught exception in fetch (${req.method} ${url.pathname}):\n${describeError(err)}`);
        sendText(res, 500, `Worker threw exception: ${exceptionSummary(err)}\n`);
        return;
      }
      status = response.status;
      if (status === 101) {
        // workerd refuses it too: only a request with Upgrade: websocket can be answered so.
        log.error(`fetch (${req.method} ${url.pathname}) answered 101 to a request without Upgrade: websocket`);
        sendText(res, 500, "Worker answered 101 to a request that asked for no upgrade\n");
        return;
      }
      await sendResponse(res, response, { head: req.method === "HEAD" });
    } finally {
      end();
      log.info(`${req.method} ${url.pathname}${url.search} → ${status} ${Math.round(performance.now() - started)}ms${note}`);
    }
  }

  /**
   * `Upgrade: websocket`: the Worker's fetch decides. A 101 carrying a WebSocketPair's client
   * end completes the handshake and joins the real socket to it (websockets.mjs); any other
   * answer refuses the upgrade with that status and body, as workerd does.
   */
  async function serveUpgrade(req, socket, head) {
    const url = new URL(req.url, "http://runner.invalid");
    const started = performance.now();
    const end = activity.beginEvent("requests");
    let status = 500;
    try {
      const cfResult = requestCf(cfBase, new Headers(headerPairs(req)), { allowOverride, countryPoints: worker.countryPoints });
      const request = toRequest(req, Buffer.alloc(0), { defaultHost: `${config.host}:${port}`, cf: cfResult.cf, upgrade: true });
      const ctx = new ExecutionContext((p) => activity.track(p, `${req.method} ${url.pathname}`));
      let response;
      try {
        response = await inColo(cfResult.cf, () => worker.fetch(request, ctx));
      } catch (err) {
        log.error(`Uncaught exception in fetch (upgrade ${url.pathname}):\n${describeError(err)}`);
        await sendRawResponse(socket, new Response(`Worker threw exception: ${exceptionSummary(err)}\n`, { status: 500 }));
        return;
      }
      status = response.status;
      const clientEnd = upgradeSocketOf(response);
      if (clientEnd) await upgradeToWebSocket(req, socket, head, clientEnd);
      else await sendRawResponse(socket, response);
    } finally {
      end();
      log.info(`upgrade ${url.pathname}${url.search} → ${status} ${Math.round(performance.now() - started)}ms`);
    }
  }

  /** A stub fetch forwarded by another runner (a script_name binding to a class hosted here). */
  async function serveObjectRequest(req, res, url) {
    const body = await readBody(req);
    const method = req.method.toUpperCase();
    const request = new Request(`http://${config.host}:${port}${url.pathname}`, {
      method,
      headers: headerPairs(req).filter(([name]) => !["host", "connection", "content-length", "transfer-encoding", "keep-alive"].includes(name.toLowerCase())),
      body: method === "GET" || method === "HEAD" || body.length === 0 ? null : body,
    });
    let response;
    try {
      response = await serveForwarded(objectHosts, url.pathname, request);
    } catch (err) {
      log.error(`Uncaught exception in a Durable Object's fetch (forwarded ${url.pathname}):\n${describeError(err)}`);
      sendText(res, 500, `Durable Object threw exception: ${exceptionSummary(err)}\n`);
      return;
    }
    log.info(`durable object ${method} ${url.pathname.slice(INTERNAL_PREFIX.length)} → ${response.status} (forwarded)`);
    await sendResponse(res, response, { head: method === "HEAD" });
  }

  function hibernate(res, url) {
    const id = url.searchParams.get("id");
    let hibernated = 0;
    for (const host of objectHosts.values()) hibernated += host.hibernate(id);
    log.info(`hibernated ${hibernated} Durable Object instance(s)${id ? ` (id ${id})` : ""}`);
    sendJson(res, 200, { hibernated });
  }

  async function triggerScheduled(req, res, url) {
    const time = url.searchParams.get("time");
    const scheduledTime = time && /^\d+$/.test(time) ? Number(time) : Date.now();
    const outcome = await runScheduled(url.searchParams.get("cron") ?? "", scheduledTime, url.pathname);
    if (url.pathname === "/__scheduled") {
      // The old wrangler middleware answered this text whatever happened in the handler.
      sendText(res, outcome === "ok" ? 200 : 500, outcome === "ok" ? "Ran scheduled event" : outcome);
    } else {
      sendText(res, outcome === "ok" ? 200 : 500, outcome); // miniflare answers the outcome
    }
  }

  /** Fire scheduled(); "ok" only if the handler and all its waitUntil work succeeded. */
  async function runScheduled(cron, scheduledTime, source) {
    const started = performance.now();
    const end = activity.beginEvent("scheduled");
    const controller = new ScheduledController(cron, scheduledTime);
    const ctx = new ExecutionContext((p) => activity.track(p, `scheduled "${cron}"`));
    let outcome = "ok";
    try {
      try {
        await worker.scheduled(controller, ctx);
      } catch (err) {
        log.error(`Uncaught exception in scheduled ("${cron}"):\n${describeError(err)}`);
        outcome = "exception";
      }
      if (!(await ctx.drain())) outcome = "exception";
    } finally {
      end();
      const retry = controller.retryDisabled ? ", noRetry()" : "";
      log.info(`scheduled "${cron}" (${source}) → ${outcome} ${Math.round(performance.now() - started)}ms${retry}`);
    }
    return outcome;
  }

  async function idle(res, url) {
    const timeoutMs = Number(url.searchParams.get("timeout_ms") ?? 30_000);
    const settled = await activity.idle(Number.isFinite(timeoutMs) ? timeoutMs : 30_000);
    sendJson(res, settled ? 200 : 504, activity.snapshot());
  }

  let stopCrons = () => {};
  function scheduleCrons() {
    const announced = new Set();
    stopCrons = armCrons(config.crons, (expr, at) => {
      runScheduled(expr, at, "cron").catch((err) => log.error(describeError(err)));
    }, {
      onArmed: (expr, at) => {
        if (at === null) log.warn(`cron "${expr}" never fires in the next 5 years; not scheduled`);
        else if (!announced.has(expr)) log.info(`cron "${expr}" next fires at ${new Date(at).toISOString()}`);
        announced.add(expr);
      },
    });
  }

  server.on("error", (err) => {
    log.error(`cannot listen on ${config.host}:${config.port}: ${err.message}`);
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    port = server.address().port;
    scheduleCrons();
    log.info(`cold start ${Math.round(coldStartMs)}ms (Pyodide ${worker.pyodideVersion}, entry ${config.moduleName})`);
    process.stdout.write(`${config.name} ready on http://${formatHost(config.host)}:${port}\n`);
  });

  // A stop lets in-flight waitUntil work finish briefly (a launcher stopping the stack right
  // after a test should not cut a sync in half and log a spurious error), then exits.
  let stopping = false;
  const stop = async (signal) => {
    if (stopping) process.exit(0); // a second Ctrl-C means "now"
    stopping = true;
    log.info(`${signal}: stopping`);
    stopCrons();
    server.close();
    server.closeIdleConnections?.();
    const settled = await activity.idle(2_000);
    if (!settled) log.warn(`stopped with work still running: ${JSON.stringify(activity.snapshot())}`);
    process.exit(0);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/**
 * env.BINDING for each --durable-object: a namespace over the objects hosted here (one host
 * per class; the class must be in the main module, or the runner does not start), or over a
 * class another runner hosts. Returns the hosts by class name.
 */
function bindDurableObjects(bindings, worker, env, activity, log) {
  const hosts = new Map();
  for (const { binding, className, remote } of bindings) {
    if (remote) {
      env[binding] = remoteNamespace(className, remote);
      log.info(`env.${binding}: Durable Object class ${className}, hosted by the runner at ${remote}`);
      continue;
    }
    if (!hosts.has(className)) {
      worker.durableObjects.check(className);
      hosts.set(className, new DurableObjectHost({
        className,
        env,
        python: worker.durableObjects,
        beginEvent: (kind) => activity.beginEvent(kind),
        log,
      }));
    }
    env[binding] = hosts.get(className).namespace();
    log.info(`env.${binding}: Durable Object class ${className}, hosted here (SQLite storage in memory)`);
  }
  return hosts;
}

function headerPairs(req) {
  const pairs = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
  return pairs;
}

function formatHost(host) {
  return host.includes(":") ? `[${host}]` : host;
}

function printConfig(config) {
  const now = config.now ?? Date.now();
  const out = {
    entry: config.entry,
    src: config.src,
    module: config.moduleName,
    name: config.name,
    host: config.host,
    port: config.port,
    vars: config.vars,
    cf: baseCf(config.cf),
    crons: config.crons.map((s) => ({
      expr: s.expr,
      next: (() => {
        const fires = [];
        let after = now;
        for (let i = 0; i < 3; i += 1) {
          const at = nextFire(s, after);
          if (at === null) break;
          fires.push(new Date(at).toISOString());
          after = at;
        }
        return fires;
      })(),
    })),
    durableObjects: config.durableObjects,
    countryPoints: config.countryPoints,
    siteDir: config.siteDir,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

await main();
