// The per-event objects workerd hands a Worker, and the bookkeeping of what is still running.
//
// `ExecutionContext.waitUntil` work may run for up to 30 s after the response on Cloudflare.
// Here it is tracked in `Activity` so that a test can ask `/__runner/idle` to wait until every
// request, cron run and waitUntil promise has settled, instead of sleeping. A failed waitUntil
// is logged with its stack and never stops the process, as on the platform.

const WAIT_UNTIL_LIMIT_MS = 30_000;

/** What is in flight, with a promise that resolves when nothing is. */
export class Activity {
  constructor(log) {
    this.log = log;
    this.events = 0; // fetch/scheduled calls still running
    this.pending = 0; // waitUntil promises not yet settled
    // durableObjectRequests: stub fetches an object served; webSocketEvents: messages, closes and
    // errors delivered to a Durable Object (durable_objects.mjs). Both count as in flight.
    this.counts = { requests: 0, scheduled: 0, durableObjectRequests: 0, webSocketEvents: 0, waitUntilSettled: 0, waitUntilFailed: 0 };
    this.waiters = [];
  }

  beginEvent(kind) {
    this.events += 1;
    this.counts[kind] += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.events -= 1;
      this.#maybeIdle();
    };
  }

  /** Track one waitUntil promise; resolves (never rejects) when it settles. */
  track(promise, label) {
    this.pending += 1;
    const started = Date.now();
    const overrun = setTimeout(() => {
      this.log.warn(`waitUntil from ${label} still running after ${WAIT_UNTIL_LIMIT_MS / 1000}s (Cloudflare would cancel it)`);
    }, WAIT_UNTIL_LIMIT_MS);
    overrun.unref();
    const settled = Promise.resolve(promise).then(
      () => {
        this.counts.waitUntilSettled += 1;
        return { ok: true };
      },
      (err) => {
        this.counts.waitUntilFailed += 1;
        this.log.error(`waitUntil from ${label} failed after ${Date.now() - started}ms:\n${describeError(err)}`);
        return { ok: false };
      },
    );
    return settled.finally(() => {
      clearTimeout(overrun);
      this.pending -= 1;
      this.#maybeIdle();
    });
  }

  isIdle() {
    return this.events === 0 && this.pending === 0;
  }

  /** Resolve true once idle, or false after timeoutMs. */
  idle(timeoutMs) {
    if (this.isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { resolve, timer: null };
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  snapshot() {
    return { idle: this.isIdle(), inFlight: this.events, waitUntilPending: this.pending, ...this.counts };
  }

  #maybeIdle() {
    if (!this.isIdle()) return;
    // Let callbacks queued by the settling promise run first (a handler may chain more work).
    setImmediate(() => {
      if (!this.isIdle()) return;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) {
        clearTimeout(w.timer);
        w.resolve(true);
      }
    });
  }
}

/**
 * The `ctx` of one event. Its toStringTag matches workerd's so the SDK's `patchWaitUntil`
 * (which checks for "[object ExecutionContext]") treats it as the real thing.
 */
export class ExecutionContext {
  #track;
  #settled = [];

  constructor(track) {
    this.#track = track;
    this.props = {};
  }

  get [Symbol.toStringTag]() {
    return "ExecutionContext";
  }

  waitUntil(promise) {
    this.#settled.push(this.#track(promise));
  }

  /** No origin sits behind a local Worker to fall back to, so this only exists to be callable. */
  passThroughOnException() {}

  /** Every waitUntil of this event, settled; true when none failed. */
  async drain() {
    let ok = true;
    // A waitUntil callback may add more, so loop until the list stops growing.
    for (let i = 0; i < this.#settled.length; i += 1) {
      const result = await this.#settled[i];
      ok = ok && result.ok;
    }
    return ok;
  }
}

/** workerd's ScheduledController: a class instance, so Pyodide passes it to Python as a proxy. */
export class ScheduledController {
  constructor(cron, scheduledTime) {
    this.cron = cron;
    this.scheduledTime = scheduledTime;
    this.type = "scheduled";
    this.retryDisabled = false;
  }

  noRetry() {
    this.retryDisabled = true;
  }
}

/** A Python exception's message is its formatted traceback; a JS error has a stack. */
export function describeError(err) {
  if (err && err.constructor && err.constructor.name === "PythonError") return String(err.message).trimEnd();
  if (err instanceof Error) return err.stack ?? String(err);
  return String(err);
}

/** "ModuleNotFoundError: No module named 'x'" from a traceback (Pyodide appends notes after it). */
export function exceptionSummary(err) {
  const text = String(err?.message ?? err).trimEnd();
  const lines = text.split("\n");
  const summary = lines.filter((line) => /^[A-Za-z_][\w.]*: /.test(line)).pop();
  return summary ?? lines[lines.length - 1];
}
