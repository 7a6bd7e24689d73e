// Value parsers shared by the configuration files: each turns one token into a typed value or
// a message + hint, never an exception.
import { closest } from './suggest';

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string; readonly hint?: string };

export type Parser<T> = (text: string) => Parsed<T>;

export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function fail<T = never>(message: string, hint?: string): Parsed<T> {
  return hint === undefined ? { ok: false, message } : { ok: false, message, hint };
}

const TRUE_WORDS = ['true', 'on', 'yes', 'y', '1'];
const FALSE_WORDS = ['false', 'off', 'no', 'n', '0'];

/** heartbeat's cl_str_to_boolean(): true/on/yes/y/1 and false/off/no/n/0, any case. */
export const parseBoolean: Parser<boolean> = (text) => {
  const t = text.toLowerCase();
  if (TRUE_WORDS.includes(t)) return ok(true);
  if (FALSE_WORDS.includes(t)) return ok(false);
  return fail(`invalid boolean [${text}]`, 'write on or off (heartbeat also accepts true/false, yes/no, y/n, 1/0)');
};

/** A plain decimal integer in [min, max]. Stricter than heartbeat's atoi(), which reads `5x` as 5. */
export function integerIn(min: number, max: number, what = 'value'): Parser<number> {
  return (text) => {
    if (!/^[+-]?\d+$/.test(text)) return fail(`invalid ${what} [${text}]: expected a whole number`, `write a number from ${min} to ${max}`);
    const n = Number(text);
    if (n < min || n > max) return fail(`${what} [${text}] is out of range`, `write a number from ${min} to ${max}`);
    return ok(n);
  };
}

/** One of a fixed set of words (case-sensitive, as heartbeat compares them with strcmp). */
export function oneOf<W extends string>(words: readonly W[], what = 'value'): Parser<W> {
  return (text) => {
    if ((words as readonly string[]).includes(text)) return ok(text as W);
    const near = closest(text, words);
    const list = words.join(', ');
    return fail(`invalid ${what} [${text}]`, near ? `did you mean ${near}? (one of: ${list})` : `use one of: ${list}`);
  };
}

/** Text that must not be empty (paths, names). */
export const nonEmpty: Parser<string> = (text) => (text.length > 0 ? ok(text) : fail('missing value'));
