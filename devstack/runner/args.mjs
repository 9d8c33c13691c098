// Command line and `.dev.vars` parsing for the runner.
//
// The flags mirror what `wrangler dev` takes for one Worker (entry module, vars, crons, port),
// so a Makefile can start either with the same values. Parsing is kept apart from serving so
// `--print-config` can show what a command line means without loading Pyodide.

import { parseArgs } from "node:util";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

import { parseCron } from "./cron.mjs";

export class UsageError extends Error {}

export const USAGE = `usage: node devstack/runner/serve.mjs --entry src/entry.py [options]

Serves one Python Worker (a module defining class Default(WorkerEntrypoint)) over HTTP inside
Pyodide, the way \`wrangler dev\` would, without network access.

  --entry FILE          the Worker's main module (required)
  --src DIR             the module root, mounted read-only as the Worker's bundle
                        (default: the entry's folder)
  --name NAME           Worker name used to prefix every log line (default: entry file stem)
  --host ADDR           address to bind (default 127.0.0.1)
  --port N              port to bind; 0 picks a free one (default 8787)
  --vars FILE           dotenv file (like .dev.vars): every key becomes an env var/secret
  --var NAME=VALUE      one env var; repeatable; wins over --vars
  --crons EXPR          cron schedule (UTC), repeatable or ';'-separated; e.g. "*/5 * * * *"
  --durable-object BINDING=Class
                        a [[durable_objects.bindings]] entry: env.BINDING is a namespace of the
                        entry module's DurableObject subclass Class, hosted here; repeatable
  --durable-object BINDING=Class@http://HOST:PORT
                        the same for a class of another Worker (script_name): its runner at
                        that address hosts the objects, requests are forwarded there
  --cf-country CC       request.cf defaults: --cf-country US --cf-continent NA
  --cf-continent CC       --cf-latitude 39.04 --cf-longitude -77.49 --cf-city Ashburn
  --cf-latitude DEG       --cf-colo IAD --cf-timezone America/New_York
  --cf-longitude DEG
  --cf-city NAME
  --cf-colo CODE
  --cf-timezone TZ
  --country-points FILE Python file defining COUNTRY_POINTS, used by the X-Edge-Country override
                        (default: <src>/edgecache/edge/_region_data.py; missing = country only)
  --site-dir DIR        the pure-Python SDK folder (default .cache/pyodide-site, filled by
                        devstack/runner/install_sdk.sh)
  --print-config        print the parsed configuration as JSON and exit (no Pyodide)
  --now ISO             with --print-config: the time the next cron fires are computed from
  -h, --help            this text

Local URLs besides the Worker's own routes:
  /cdn-cgi/handler/scheduled?cron=EXPR&time=MS   fire scheduled() as wrangler 4 does
  /__scheduled?cron=EXPR, /cdn-cgi/mf/scheduled  older wrangler/miniflare spellings
  /__runner/idle[?timeout_ms=N]                  wait until no request, cron run or waitUntil
                                                 work is pending; answers JSON counts
  /__runner/health                               200 JSON {name, entry, pyodide} once serving
  /__runner/durable-objects                      JSON: every Durable Object hosted here, whether
                                                 its instance is live, its open WebSockets
  POST /__runner/hibernate[?id=HEX]              drop the Durable Object instances (storage and
                                                 WebSockets stay; the next event rebuilds them)
  /__runner/durable-objects/<Class>/<id>         a forwarded stub fetch (--durable-object ...@URL)

On start it prints "<name> ready on http://HOST:PORT" on stdout; a Worker that cannot be
imported (a module Pyodide lacks, no Default class) exits with status 1 and the traceback.
SIGTERM/SIGINT stop it: no new connections, up to 2 s for waitUntil work, then exit 0.
`;

const OPTIONS = {
  entry: { type: "string" },
  src: { type: "string" },
  name: { type: "string" },
  host: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "8787" },
  vars: { type: "string", multiple: true },
  var: { type: "string", multiple: true },
  crons: { type: "string", multiple: true },
  "durable-object": { type: "string", multiple: true },
  "cf-country": { type: "string", default: "US" },
  "cf-continent": { type: "string", default: "NA" },
  "cf-latitude": { type: "string", default: "39.04" },
  "cf-longitude": { type: "string", default: "-77.49" },
  "cf-city": { type: "string", default: "Ashburn" },
  "cf-colo": { type: "string", default: "IAD" },
  "cf-timezone": { type: "string", default: "America/New_York" },
  "country-points": { type: "string" },
  "site-dir": { type: "string" },
  "print-config": { type: "boolean", default: false },
  now: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
};

/** Parse argv (without node and script) into the runner's configuration. Throws UsageError. */
export function parseCommandLine(argv, { cwd = process.cwd(), repoRoot } = {}) {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError(err.message);
  }
  if (values.help) return { help: true };
  if (!values.entry) throw new UsageError("--entry is required");

  const entry = path.resolve(cwd, values.entry);
  const src = path.resolve(cwd, values.src ?? path.dirname(values.entry));
  const rel = path.relative(src, entry);
  if (rel.startsWith("..") || path.isAbsolute(rel)) {
    throw new UsageError(`--entry ${values.entry} is not inside --src ${values.src}`);
  }
  if (!rel.endsWith(".py")) throw new UsageError("--entry must be a .py file (workerd requires it)");
  // Checked here, before Pyodide loads, so a typo costs no start-up time and reads as a typo.
  if (!existsSync(entry)) throw new UsageError(`--entry ${values.entry}: no such file`);
  if (!existsSync(src) || !statSync(src).isDirectory()) throw new UsageError(`--src ${values.src}: no such folder`);
  // workerd imports the main module by its path inside the bundle, minus ".py".
  const moduleName = rel.slice(0, -3).split(path.sep).join(".");

  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port ${values.port} is not a port number`);
  }

  const vars = {};
  for (const file of values.vars ?? []) {
    let text;
    try {
      text = readFileSync(path.resolve(cwd, file), "utf8");
    } catch (err) {
      throw new UsageError(`--vars ${file}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
    }
    Object.assign(vars, parseDotenv(text));
  }
  for (const item of values.var ?? []) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`--var ${item}: expected NAME=VALUE`);
    vars[item.slice(0, eq)] = item.slice(eq + 1);
  }

  const crons = [];
  for (const group of values.crons ?? []) {
    for (const expr of group.split(";").map((s) => s.trim()).filter(Boolean)) {
      try {
        crons.push(parseCron(expr));
      } catch (err) {
        throw new UsageError(`--crons "${expr}": ${err.message}`);
      }
    }
  }

  const durableObjects = [];
  for (const item of values["durable-object"] ?? []) {
    let binding;
    try {
      binding = parseBinding(item);
    } catch (err) {
      throw new UsageError(`--durable-object: ${err.message}`);
    }
    if (durableObjects.some((b) => b.binding === binding.binding)) {
      throw new UsageError(`--durable-object ${binding.binding} is given twice`);
    }
    durableObjects.push(binding);
  }

  let now;
  if (values.now !== undefined) {
    now = Date.parse(values.now);
    if (Number.isNaN(now)) throw new UsageError(`--now ${values.now} is not an ISO date`);
  }

  const root = repoRoot ?? cwd;
  return {
    help: false,
    entry,
    src,
    moduleName,
    name: values.name ?? path.basename(entry, ".py"),
    host: values.host,
    port,
    vars,
    crons,
    durableObjects,
    cf: {
      country: values["cf-country"],
      continent: values["cf-continent"],
      latitude: values["cf-latitude"],
      longitude: values["cf-longitude"],
      city: values["cf-city"],
      colo: values["cf-colo"],
      timezone: values["cf-timezone"],
    },
    countryPoints: path.resolve(cwd, values["country-points"] ?? path.join(src, "edgecache", "edge", "_region_data.py")),
    siteDir: path.resolve(cwd, values["site-dir"] ?? path.join(root, ".cache", "pyodide-site")),
    printConfig: values["print-config"],
    now,
  };
}

/** `BINDING=Class` / `BINDING=Class@http://host:port` (the --durable-object flag). */
export function parseBinding(text) {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z_][A-Za-z0-9_]*)(?:@(https?:\/\/[^\s/]+))?$/.exec(text);
  if (!match) {
    throw new Error(`"${text}" is not BINDING=Class or BINDING=Class@http://host:port (e.g. LIVE=LiveChannel)`);
  }
  return { binding: match[1], className: match[2], remote: match[3] ?? null };
}

// A dotenv line: optional `export`, a name, `=` (or `: `), then a single-, double- or
// backtick-quoted value (which may span lines) or a bare value up to a `#` comment. This is the
// grammar of the `dotenv` package that wrangler uses for `.dev.vars`.
const DOTENV_LINE =
  /^\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?$/gm;

/** Parse `.dev.vars`/dotenv text into {NAME: value}; later keys win, as in dotenv. */
export function parseDotenv(text) {
  const out = {};
  const src = text.replace(/\r\n?/g, "\n");
  for (const match of src.matchAll(DOTENV_LINE)) {
    const key = match[1];
    let value = (match[2] ?? "").trim();
    const quote = value[0];
    value = value.replace(/^(['"`])([\s\S]*)\1$/gm, "$2");
    if (quote === '"') value = value.replace(/\\n/g, "\n").replace(/\\r/g, "\r");
    out[key] = value;
  }
  return out;
}
