// Pyodide set up the way workerd sets it up for a Python Worker, and the two calls the HTTP
// side needs: `fetch(request)` and `scheduled(controller)`.
//
// What production provides and this file reproduces (see shared reference python-workers.md and
// workerd's src/pyodide/python-entrypoint-helper.ts):
// * Pyodide 0.28.2 (Python 3.13), the version workerd uses from compatibility date 2025-09-29;
// * the Worker's bundle at /session/metadata (read-only; workerd mounts it there too), and the
//   vendored `workers` SDK (what `pywrangler sync` puts in python_modules/) on sys.path;
// * two modules workerd injects and the SDK imports: `_cloudflare_compat_flags` and
//   `_pyodide_entrypoint_helper`;
// * `Default(ctx, env)` constructed per event, then `fetch`/`scheduled` called through the same
//   conversions as workerd's introspection.wrapper_func (runner_shim.py).
// Nothing from the host Python is visible, so a module Pyodide lacks fails as in production.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { loadPyodide } from "pyodide";

import { describeError, exceptionSummary } from "./context.mjs";
import { NodeResponse } from "./websockets.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUNDLE_ROOT = "/session/metadata";
const SITE_ROOT = "/session/python_modules";

// Flags the SDK reads (module `__getattr__` answers False for any other, as workerd does for
// flags that are off). `python_request_headers_preserve_commas` is on from compatibility date
// 2026-02-17, which this project uses: request headers keep comma-joined values intact.
const COMPAT_FLAGS = {
  python_request_headers_preserve_commas: true,
  python_workflows_implicit_dependencies: false,
};

export class StartupError extends Error {}

/** Load Pyodide, mount the bundle and SDK, import the entry module. Throws StartupError. */
export async function startWorker({ config, env, activity, log }) {
  if (!existsSync(path.join(config.siteDir, "workers", "__init__.py"))) {
    throw new StartupError(
      `the workers SDK is not installed in ${config.siteDir}; run: bash devstack/runner/install_sdk.sh`,
    );
  }
  const py = await loadPyodide({
    env: { HOME: "/session", PYTHONDONTWRITEBYTECODE: "1" },
    stdout: () => {},
    stderr: () => {},
  });
  // Line-buffered so each print() becomes one prefixed log line.
  py.setStdout({ batched: (line) => log.info(line) });
  py.setStderr({ batched: (line) => log.warn(line) });

  mountReadOnly(py, config.src, BUNDLE_ROOT);
  mountReadOnly(py, config.siteDir, SITE_ROOT);
  py.FS.chdir(BUNDLE_ROOT);

  py.registerJsModule("_cloudflare_compat_flags", makeCompatFlags());
  py.registerJsModule("_pyodide_entrypoint_helper", makeEntrypointHelper({ env, activity, siteDir: config.siteDir }));

  const shim = py.runPython("from types import ModuleType; ModuleType('_edgecache_runner_shim')");
  py.runPython(readFileSync(path.join(HERE, "runner_shim.py"), "utf8"), {
    globals: shim.__dict__,
    filename: "runner_shim.py",
  });
  shim.setup_search_path(BUNDLE_ROOT, SITE_ROOT);

  // Both failures end the process before it listens, as a deploy with them would fail: the
  // module runs at import time on Cloudflare too (when the isolate starts or is snapshotted).
  const shown = path.relative(process.cwd(), config.entry);
  let main;
  try {
    main = shim.import_main(config.moduleName);
  } catch (err) {
    throw new StartupError(
      `could not import ${shown}:\n${describeError(err)}\n` +
        `startup failed: ${exceptionSummary(err)} (importing ${shown}; Cloudflare would refuse this Worker too)`,
    );
  }
  let entryClass;
  try {
    entryClass = shim.entry_class(main);
  } catch (err) {
    throw new StartupError(
      `startup failed: ${exceptionSummary(err)} (${shown} must define ` +
        "`class Default(WorkerEntrypoint)`, the class workerd calls for a Python Worker)",
    );
  }

  const countryPoints = loadCountryPoints(py, shim, config, log);

  /** Construct Default(ctx, env) for one event, as workerd does per request. */
  function instantiate(ctx) {
    return entryClass(ctx, env);
  }

  return {
    countryPoints,
    pyodideVersion: py.version,
    durableObjects: durableObjectCalls(shim, main, shown),

    /** Run fetch(request); returns the JS Response (throws the Worker's exception). */
    async fetch(request, ctx) {
      const inst = instantiate(ctx);
      try {
        // undefined env/ctx args, as workerd passes them to class-based handlers; relaxed_call drops them.
        const result = await shim.call_method(true, inst, "fetch", request, undefined, undefined);
        if (!(result instanceof NodeResponse)) {
          throw new TypeError(`fetch() must return a workers.Response; got ${describeValue(result)}`);
        }
        return result;
      } finally {
        inst.destroy();
      }
    },

    /** Run scheduled(controller, None, None): workerd calls it strictly with all three. */
    async scheduled(controller, ctx) {
      const inst = instantiate(ctx);
      try {
        if (!shim.has_method(inst, "scheduled")) {
          throw new TypeError("Handler does not export a scheduled() function");
        }
        await shim.call_method(false, inst, "scheduled", controller, undefined, undefined);
      } finally {
        inst.destroy();
      }
    },
  };
}

/**
 * How durable_objects.mjs builds and calls a Durable Object class of the main module, the way
 * workerd's python-entrypoint-helper does: the constructor strictly as `Class(ctx, env)`;
 * `fetch` through the same conversions as the Worker's (a JS Request becomes
 * `workers.Request`, relaxed call); `webSocketMessage`/`webSocketClose`/`webSocketError`
 * (and `alarm`) with the raw JS arguments, relaxed (SPECIAL_DO_HANDLER_NAMES there).
 */
function durableObjectCalls(shim, main, shown) {
  const classes = new Map();
  return {
    /** Throws a StartupError when the main module has no such DurableObject subclass. */
    check(className) {
      try {
        classes.set(className, shim.object_class(main, className));
      } catch (err) {
        throw new StartupError(`startup failed: ${exceptionSummary(err)} (a Durable Object binding names ${className}; ${shown} must define it)`);
      }
    },
    construct(className, state, env) {
      return classes.get(className)(state, env);
    },
    async fetch(inst, request) {
      const result = await shim.call_method(true, inst, "fetch", request, undefined, undefined);
      if (!(result instanceof NodeResponse)) {
        throw new TypeError(`a Durable Object's fetch() must return a workers.Response; got ${describeValue(result)}`);
      }
      return result;
    },
    async call(inst, method, args) {
      if (!shim.has_method(inst, method)) throw new TypeError(`Method ${method} does not exist`);
      await shim.call_handler(inst, method, ...args);
    },
    destroy(inst) {
      inst.destroy();
    },
  };
}

/**
 * NODEFS mount that refuses writes with EROFS: the Worker's bundle is immutable on Cloudflare,
 * and Python must not drop __pycache__ folders into the developer's src/.
 */
function mountReadOnly(py, hostPath, mountPoint) {
  const NODEFS = py.FS.filesystems.NODEFS;
  if (!NODEFS.__readOnlyPatched) {
    const refuse = (node) => {
      if (node?.mount?.opts?.readOnly) throw new py.FS.ErrnoError(py.ERRNO_CODES.EROFS);
    };
    const guard = (ops, name, pick) => {
      const original = ops[name];
      ops[name] = function (...args) {
        refuse(pick(...args));
        return original.apply(this, args);
      };
    };
    for (const op of ["mknod", "unlink", "rmdir", "symlink"]) guard(NODEFS.node_ops, op, (parent) => parent);
    guard(NODEFS.node_ops, "rename", (oldNode) => oldNode);
    guard(NODEFS.node_ops, "setattr", (node) => node);
    guard(NODEFS.stream_ops, "write", (stream) => stream.node);
    guard(NODEFS.stream_ops, "open", (stream) => ((stream.flags & 3) !== 0 ? stream.node : null)); // O_WRONLY | O_RDWR
    NODEFS.__readOnlyPatched = true;
  }
  py.FS.mkdirTree(mountPoint);
  py.FS.mount(NODEFS, { root: hostPath, readOnly: true }, mountPoint);
}

function makeCompatFlags() {
  // A Proxy so that any flag the SDK asks about and we do not list reads as off.
  return new Proxy(COMPAT_FLAGS, {
    get: (target, prop) => (typeof prop === "string" && !(prop in target) && prop !== "then" ? false : target[prop]),
    has: () => true,
  });
}

/**
 * `_pyodide_entrypoint_helper`: the JS functions the SDK calls into (see the SDK's
 * _pyodide_entrypoint_helper.pyi). Kept minimal; each answers what workerd's does.
 */
function makeEntrypointHelper({ env, activity, siteDir }) {
  const cloudflareWorkersModule = {
    env,
    // `workers.wait_until`: no event to attach to here, so it counts as runner-wide work.
    waitUntil: (p) => void activity.track(retained(p), "workers.wait_until"),
    WorkerEntrypoint: class WorkerEntrypoint {},
    DurableObject: class DurableObject {},
    WorkflowEntrypoint: class WorkflowEntrypoint {},
  };
  const cloudflareSocketsModule = {
    connect() {
      throw new Error("cloudflare:sockets connect() is not available in the local runner");
    },
  };
  return {
    cloudflareWorkersModule,
    cloudflareSocketsModule,
    patchWaitUntil,
    // The SDK imports its own JS helpers by their path inside the bundle (python_modules/...).
    async doAnImport(name) {
      if (name === "cloudflare:workers") return cloudflareWorkersModule;
      if (name === "cloudflare:sockets") return cloudflareSocketsModule;
      const prefix = "python_modules/";
      if (name.startsWith(prefix)) return import(pathToFileURL(path.join(siteDir, name.slice(prefix.length))).href);
      throw new Error(`import_from_javascript(${JSON.stringify(name)}): the local runner has no such JS module`);
    },
    // `workers.patch_env(...)`: set env keys for the duration of a `with` block, then restore.
    *patch_env_helper(patch) {
      const entries = patch instanceof Map ? [...patch.entries()] : Object.entries(patch ?? {});
      const saved = entries.map(([k]) => [k, Object.prototype.hasOwnProperty.call(env, k), env[k]]);
      for (const [k, v] of entries) env[k] = v;
      try {
        yield;
      } finally {
        for (const [k, had, v] of saved) {
          if (had) env[k] = v;
          else delete env[k];
        }
      }
    },
  };
}

const patched = new WeakSet();

/**
 * Make `ctx.waitUntil` accept a Python awaitable. Python passes a *borrowed* proxy that
 * Pyodide destroys when the call returns, so it must be copied before returning, awaited, then
 * released (this is what workerd's patchWaitUntil does).
 */
function patchWaitUntil(ctx) {
  if (Object.prototype.toString.call(ctx) !== "[object ExecutionContext]" || patched.has(ctx)) return;
  const original = ctx.waitUntil.bind(ctx);
  ctx.waitUntil = (p) => original(retained(p));
  patched.add(ctx);
}

function retained(p) {
  const owned = p && typeof p.copy === "function" ? p.copy() : p;
  return (async () => {
    try {
      return await owned;
    } finally {
      if (owned && typeof owned.destroy === "function") owned.destroy();
    }
  })();
}

/** COUNTRY_POINTS from the region data file, or null (then the override sets only country). */
function loadCountryPoints(py, shim, config, log) {
  const file = config.countryPoints;
  const shown = path.relative(process.cwd(), file);
  if (!existsSync(file)) {
    log.info(`no ${shown}: X-Edge-Country overrides set cf.country only`);
    return null;
  }
  const rel = path.relative(config.src, file);
  const inside = !rel.startsWith("..") && !path.isAbsolute(rel);
  const pyPath = inside ? path.posix.join(BUNDLE_ROOT, ...rel.split(path.sep)) : copyIntoMemfs(py, file);
  const packageModule = inside ? rel.slice(0, -3).split(path.sep).join(".") : "";
  try {
    const [points, note] = shim.load_country_points(pyPath, packageModule);
    if (!points) {
      log.warn(`${shown}: ${note}; X-Edge-Country overrides set cf.country only`);
      return null;
    }
    const js = points.toJs({ dict_converter: Object.fromEntries });
    points.destroy();
    log.info(`country points: ${note} from ${shown}`);
    return js;
  } catch (err) {
    log.warn(`could not read ${shown}; X-Edge-Country overrides set cf.country only:\n${describeError(err)}`);
    return null;
  }
}

function copyIntoMemfs(py, file) {
  const target = `/tmp/_runner_${path.basename(file)}`;
  py.FS.mkdirTree("/tmp");
  py.FS.writeFile(target, readFileSync(file));
  return target;
}

function describeValue(value) {
  if (value === null || value === undefined) return "None";
  return value?.constructor?.name ?? typeof value;
}
