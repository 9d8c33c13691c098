// Minimal Cron Trigger schedule: parse a 5-field expression and find its next fire time.
//
// Cloudflare's dialect (developers.cloudflare.com/workers/configuration/cron-triggers/,
// "Supported cron expressions"): minute hour day-of-month month weekday, always in UTC;
// months 1-12 or JAN-DEC; weekdays 1-7 or SUN-SAT with **1 = Sunday** (Quartz numbering, not
// Unix's 0 = Sunday: "0 17 * * sun" and "0 17 * * 1" are the same trigger). Each field takes
// `*`, `N`, `A-B`, lists `A,B`, and steps `*/N`, `A-B/N`, `A/N`.
//
// Not supported here (they are rejected with a message, never silently mis-scheduled): the
// Quartz extensions `L`, `W`, `#` and `?`, and `@daily`-style macros. When both day fields are
// restricted, a day matches if either does (the Vixie cron rule).
//
// Time is a parameter: `nextFire(schedule, afterMs)` takes the instant to search from, and
// `armCrons` takes the clock and the timer functions, so both are testable without waiting.

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "weekday", min: 1, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

export class CronError extends Error {}

/** Parse one expression into {expr, fields: [Set, ...], domStar, dowStar}. Throws CronError. */
export function parseCron(expr) {
  const text = String(expr).trim();
  if (text.startsWith("@")) {
    throw new CronError(`macros such as ${text.split(/\s/)[0]} are not supported; write the 5 fields`);
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5) {
    throw new CronError(`expected 5 fields (minute hour day-of-month month weekday), got ${parts.length}`);
  }
  const fields = parts.map((part, i) => parseField(part, FIELDS[i]));
  return { expr: text, fields, domStar: parts[2] === "*", dowStar: parts[4] === "*" };
}

function parseField(part, spec) {
  const quartz = part.match(/[#?]/);
  if (quartz) throw new CronError(unsupportedMessage(spec, part, quartz[0]));
  const values = new Set();
  for (const item of part.split(",")) {
    if (item === "") throw new CronError(`${spec.name} "${part}": empty list item`);
    const [range, stepText, extra] = item.split("/");
    if (extra !== undefined) throw new CronError(`${spec.name} "${item}": more than one '/'`);
    let step = 1;
    if (stepText !== undefined) {
      step = Number(stepText);
      if (!/^\d+$/.test(stepText) || step < 1) throw new CronError(`${spec.name} "${item}": step must be a positive integer`);
    }
    let lo;
    let hi;
    if (range === "*") {
      [lo, hi] = [spec.min, spec.max];
    } else if (range.includes("-")) {
      const [a, b] = range.split("-");
      [lo, hi] = [value(a, spec, item), value(b, spec, item)];
      if (lo > hi) throw new CronError(`${spec.name} "${item}": range runs backwards`);
    } else {
      lo = value(range, spec, item);
      // "A/N" means from A to the end of the field in steps of N (Quartz and Vixie agree).
      hi = stepText !== undefined ? spec.max : lo;
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return values;
}

function value(text, spec, item) {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n < spec.min || n > spec.max) {
      const hint = spec.name === "weekday" && n === 0 ? " (Cloudflare numbers weekdays 1-7 with 1 = Sunday)" : "";
      throw new CronError(`${spec.name} "${item}": ${n} is outside ${spec.min}-${spec.max}${hint}`);
    }
    return n;
  }
  const index = spec.names ? spec.names.indexOf(text.toUpperCase()) : -1;
  if (index < 0 && /[LW]/i.test(text)) throw new CronError(unsupportedMessage(spec, item, "L/W"));
  if (index < 0) throw new CronError(`${spec.name} "${item}": "${text}" is not a number${spec.names ? " or a 3-letter name" : ""}`);
  return spec.min + index;
}

function unsupportedMessage(spec, part, what) {
  return `${spec.name} "${part}": '${what}' (a Quartz extension Cloudflare accepts) is not supported by the local runner`;
}

/** The first whole UTC minute strictly after `afterMs` that matches, or null within ~5 years. */
export function nextFire(schedule, afterMs) {
  const d = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
  const limit = afterMs + 5 * 366 * 86_400_000; // covers "0 0 29 2 *" (leap days)
  while (d.getTime() <= limit) {
    if (!schedule.fields[3].has(d.getUTCMonth() + 1)) {
      d.setUTCMonth(d.getUTCMonth() + 1, 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!dayMatches(schedule, d)) {
      d.setUTCDate(d.getUTCDate() + 1);
      d.setUTCHours(0, 0, 0, 0);
    } else if (!schedule.fields[1].has(d.getUTCHours())) {
      d.setUTCHours(d.getUTCHours() + 1, 0, 0, 0);
    } else if (!schedule.fields[0].has(d.getUTCMinutes())) {
      d.setUTCMinutes(d.getUTCMinutes() + 1, 0, 0);
    } else {
      return d.getTime();
    }
  }
  return null;
}

function dayMatches(schedule, d) {
  const domOk = schedule.fields[2].has(d.getUTCDate());
  const dowOk = schedule.fields[4].has(d.getUTCDay() + 1); // getUTCDay: 0 = Sunday; Cloudflare: 1 = Sunday
  if (schedule.domStar || schedule.dowStar) return domOk && dowOk;
  return domOk || dowOk;
}

// setTimeout stores its delay in 32 bits: a longer one (a yearly or leap-day cron is years
// away) would fire at once. Long waits are taken in hops of at most this and re-checked.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Fire `fire(expr, scheduledTimeMs)` at every matching minute of each schedule until the
 * returned `stop()` is called. Each fire re-arms from its own scheduled time, so a slow
 * handler never makes the next fire drift or skip. `onArmed(expr, atMs | null)` reports each
 * next fire (null: it never fires within the search window). Timers are unref'd: pending crons
 * alone do not keep the process alive, as a stopped server should exit.
 */
export function armCrons(schedules, fire, { now = Date.now, setTimer = setTimeout, clearTimer = clearTimeout, onArmed = () => {} } = {}) {
  const timers = new Map();
  let stopped = false;

  const wait = (schedule, at) => {
    if (stopped) return;
    const delay = at - now();
    if (delay > 0) {
      // Timers may wake a millisecond early or hop (see MAX_TIMER_MS): re-check, never fire early.
      const timer = setTimer(() => wait(schedule, at), Math.min(delay, MAX_TIMER_MS));
      timer?.unref?.();
      timers.set(schedule, timer);
      return;
    }
    fire(schedule.expr, at);
    arm(schedule, at);
  };
  const arm = (schedule, after) => {
    const at = nextFire(schedule, after);
    onArmed(schedule.expr, at);
    if (at !== null) wait(schedule, at);
  };

  for (const schedule of schedules) arm(schedule, now());
  return function stop() {
    stopped = true;
    for (const timer of timers.values()) clearTimer(timer);
    timers.clear();
  };
}
