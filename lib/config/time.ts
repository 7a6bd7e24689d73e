// heartbeat's time syntax (cluster-glue cl_get_msec(), spec §7.1): a plain number is seconds,
// `ms` means milliseconds, `us` microseconds; the result is rounded to the nearest millisecond.
// `s`/`sec` are NOT units heartbeat knows: it rejects them, and so do we, with the fix.
import { fail, ok, type Parser } from './values';

/** Longest time we accept: heartbeat keeps milliseconds in a C long, timers in 32 bits. */
const MAX_MS = 2 ** 31 - 1;

/** Multiplier and divisor exactly as cl_get_msec() applies them, so rounding matches bit for bit. */
const UNITS: ReadonlyArray<{ readonly re: RegExp; readonly mul: number; readonly div: number }> = [
  { re: /^(ms|msec)$/i, mul: 1, div: 1 },
  { re: /^(us|usec)$/i, mul: 1, div: 1000 },
  { re: /^$/, mul: 1000, div: 1 },
];

/** Parses `2`, `0.5`, `1500ms`, `250000us` into whole milliseconds. */
export const parseTime: Parser<number> = (text) => {
  const m = /^\s*([0-9.]*)\s*(.*?)\s*$/s.exec(text)!;
  const [, num, unit] = m;
  if (!/^(\d+\.?\d*|\.\d+)$/.test(num)) {
    return fail(`invalid time [${text}]`, 'write seconds as a plain number (2, 0.5) or attach ms or us (500ms)');
  }
  const u = UNITS.find((x) => x.re.test(unit));
  if (u === undefined) {
    if (/^s(ec(ond)?s?)?$/i.test(unit)) {
      const n = Number(num);
      return fail(`invalid time [${text}]: heartbeat does not accept the unit "${unit}"`, `write ${num} (a plain number is seconds) or ${Math.round(n * 1000)}ms`);
    }
    return fail(`invalid time [${text}]: unknown unit "${unit}"`, 'write seconds as a plain number (2, 0.5) or attach ms or us (500ms)');
  }
  // cl_get_msec() adds 0.5 and truncates: 499us is 0 ms, 501us is 1 ms.
  const ms = Math.floor((Number(num) * u.mul) / u.div + 0.5);
  if (ms > MAX_MS) return fail(`time [${text}] is too large`, `at most ${MAX_MS}ms`);
  return ok(ms);
};
