// /etc/ha.d/authkeys read as heartbeat's parse_authfile() reads it (spec §6.1):
//   auth N              the index outgoing packets are signed with
//   N METHOD [KEY]      one usable index; KEY is one whitespace-free token, the rest is ignored
// A line is a comment only when its first non-blank character is '#', so keys may contain '#'.
import type { AuthKey, AuthKeys, AuthMethod } from '../wire/types';
import { Sink, hasErrors, type Diagnostic } from './diagnostics';
import { physicalLines } from './lines';
import { readConfigFile } from './source';
import { closest } from './suggest';

/** heartbeat's MAXAUTH: indices 0…15 (the man page's 1…15 is wrong). */
const MAX_AUTH = 16;
const METHODS: readonly AuthMethod[] = ['crc', 'md5', 'sha1', 'sha256'];
const KEYED_EXAMPLE = '1 sha1 <secret>, with a secret such as the output of: openssl rand -hex 20';
/** Keys printed in tutorials and heartbeat's sample authkeys: anyone who read them knows them. */
const PLACEHOLDER_KEYS: readonly string[] = ['PutYourSecretHere', 'HI!', 'Hello!'];

export const CRC_WARNING = 'crc authenticates nothing: anyone who can reach the cluster port can forge cluster messages (heartbeat does not say so)';

/**
 * How a cluster using crc moves to sha1 without downtime: every node accepts both keys before any
 * signs with the new one, and the crc key goes only once no node signs with it. For `hbd check`
 * and the daemon's start-up log.
 */
export function crcMigration(keys: AuthKeys): string | null {
  const crc = keys.keys.filter((k) => k.method === 'crc').map((k) => k.index);
  if (crc.length === 0) return null;
  const used = new Set(keys.keys.map((k) => k.index));
  const free = Array.from({ length: MAX_AUTH }, (_, i) => i).find((i) => i > 0 && !used.has(i)) ?? 0;
  const remove = crc.map((i) => `${i} crc`).join(' and ');
  if (!crc.includes(keys.sendIndex)) {
    return `once no node signs with crc any more (auth ${crc.join('/')}), remove the line ${remove} on every node and run hbd reload on each`;
  }
  return (
    `to move to sha1 without downtime: 1) on every node add the line \`${free} sha1 SECRET\` (the same secret everywhere, e.g. from openssl rand -hex 20) and run hbd reload on each; ` +
    `2) on every node change \`auth ${keys.sendIndex}\` to \`auth ${free}\` and run hbd reload on each; 3) on every node remove the line \`${remove}\` and run hbd reload on each. ` +
    'Every node accepts both keys in between, so no packet is refused (README: Key rotation)'
  );
}

export interface AuthkeysResult {
  readonly keys: AuthKeys | null;
  readonly diagnostics: Diagnostic[];
}

export function parseAuthkeys(text: string, file: string): AuthkeysResult {
  const sink = new Sink(file);
  let auth: { index: number; line: number } | null = null;
  let authLines = 0;
  // Indices whose key line was rejected: "not found" would only repeat that error.
  const rejected = new Set<number>();
  const keys = new Map<number, AuthKey & { line: number }>();

  for (const { line, text: raw } of physicalLines(text, sink)) {
    const content = raw.replace(/^[ \t\f\v\r]+/, '').replace(/\r+$/, '');
    if (content === '' || content.startsWith('#')) continue;

    if (content.startsWith('a')) {
      authLines++;
      // sscanf(bp, "auth %d"): the blank in the format matches any run of blanks, even none.
      const m = /^auth[ \t\f\v]*([+-]?\d+)(.*)$/.exec(content);
      if (!m) {
        sink.error(line, `invalid auth line [${content}]`, 'write auth N, where N is the index of the key line to sign with');
        continue;
      }
      const index = Number(m[1]);
      if (!validIndex(index, line, sink)) continue;
      if (auth) {
        sink.error(line, `duplicate auth line: already given on line ${auth.line}`, 'keep one auth line');
        continue;
      }
      warnIgnored(m[2], 'the index', line, sink);
      auth = { index, line };
      const earlier = keys.get(index);
      if (earlier) {
        // heartbeat picks the signing key while reading key lines, so only lines *after* `auth N` count.
        sink.error(line, `auth ${index} comes after the key line for index ${index} (line ${earlier.line}): heartbeat only selects a signing key listed below the auth line`, 'move the auth line to the top of the file');
      }
      continue;
    }

    const m = /^([+-]?\d+)[ \t\f\v]*(\S+)(?:[ \t\f\v]+(\S+))?(.*)$/.exec(content);
    if (!m) {
      sink.error(line, `invalid line [${content}]`, `expected auth N or N METHOD [KEY], e.g. ${KEYED_EXAMPLE}`);
      continue;
    }
    const [, indexText, methodText, keyText = '', rest] = m;
    const index = Number(indexText);
    if (!validIndex(index, line, sink)) continue;
    const method = parseMethod(methodText, line, sink);
    if (method === null || !checkKey(index, method, keyText, rest, line, sink)) {
      rejected.add(index);
      continue;
    }
    const twin = keys.get(index);
    if (twin) {
      sink.error(line, `key index ${index} is defined twice (first on line ${twin.line})`, 'give every key line its own index');
      continue;
    }
    warnIgnored(rest, keyText === '' ? 'the method' : 'the key', line, sink);
    keys.set(index, { index, method, key: Buffer.from(keyText, 'utf8'), line });
  }

  if (authLines === 0) {
    sink.error(null, `Missing auth directive in keyfile [${file}]`, `start the file with auth 1 and a key line: ${KEYED_EXAMPLE}`);
  } else if (auth && !keys.has(auth.index) && !rejected.has(auth.index)) {
    sink.error(auth.line, `Auth Key [${auth.index}] not found in keyfile [${file}]`, `add a key line for index ${auth.index}: ${KEYED_EXAMPLE.replace(/^1/, String(auth.index))}`);
  }
  const migration = auth && crcMigration({ sendIndex: auth.index, keys: [...keys.values()] });
  if (migration) sink.diagnostics.forEach((d, i) => d.message === CRC_WARNING && (sink.diagnostics[i] = { ...d, hint: migration }));
  return {
    keys: auth !== null && !hasErrors(sink.diagnostics) ? { sendIndex: auth.index, keys: [...keys.values()].map(({ index, method, key }) => ({ index, method, key })) } : null,
    diagnostics: sink.diagnostics,
  };
}

function validIndex(index: number, line: number, sink: Sink): boolean {
  if (index >= 0 && index < MAX_AUTH) return true;
  sink.error(line, `key index [${index}] is out of range`, `use an index from 0 to ${MAX_AUTH - 1}`);
  return false;
}

function parseMethod(text: string, line: number, sink: Sink): AuthMethod | null {
  const method = METHODS.find((x) => x === text);
  if (method === undefined) {
    const near = closest(text, METHODS);
    sink.error(line, `unknown auth method [${text}]`, near ? `did you mean ${near}? (methods are lower-case: crc, md5, sha1)` : 'use sha1 (or md5); crc is not authentication');
    return null;
  }
  if (method === 'crc') {
    // The hint names free indices, known once every line is read (parseAuthkeys fills it in).
    sink.warning(line, CRC_WARNING, KEYED_EXAMPLE);
  } else if (method === 'sha256') {
    sink.warning(line, 'sha256 is an hbd extension: heartbeat nodes cannot verify packets signed with it', 'use sha1 while the cluster still has heartbeat nodes');
  }
  return method;
}

function checkKey(index: number, method: AuthMethod, key: string, rest: string, line: number, sink: Sink): boolean {
  // Only a '#' at the start of the line makes a comment: `1 crc # note` has the key "#".
  const hashNote = key.startsWith('#') ? 'heartbeat does not treat # after the method as a comment; ' : '';
  if (method === 'crc') {
    if (key === '') return true;
    sink.error(line, 'Auth method [crc] doesn\'t use a key', `${hashNote}remove the key, or better: ${KEYED_EXAMPLE}`);
    return false;
  }
  if (key === '') {
    sink.error(line, `Auth method [${method}] requires a key`, `add the key after the method: ${KEYED_EXAMPLE}`);
    return false;
  }
  // `echo -n secret | openssl sha1` prints "(stdin)= <hex>": pasted whole, heartbeat's key is "(stdin)=".
  const digest = /^[ \t\f\v]+([0-9a-fA-F]{8,})\b/.exec(rest);
  if (key.endsWith('(stdin)=') && digest) {
    sink.error(line, `the key is the text [${key}]: heartbeat takes only the first word after the method, not the digest after it`, `use only the hex digest as the key: ${index} ${method} ${digest[1]}`);
    return false;
  }
  if (hashNote) sink.warning(line, `the key is [${key}]`, `${hashNote}if that is not the key you meant, put the secret right after the method`);
  if (PLACEHOLDER_KEYS.some((p) => p.toLowerCase() === key.toLowerCase())) {
    sink.warning(line, `the key [${key}] is a placeholder printed in tutorials and samples: anyone who read them can forge this cluster's messages`, `replace it on every node with a secret of your own: ${index} ${method} $(openssl rand -hex 20)`);
  }
  return true;
}

/** Text after the last word heartbeat reads, which it silently drops; a '#' remark is left alone. */
function warnIgnored(rest: string, after: 'the index' | 'the method' | 'the key', line: number, sink: Sink): void {
  const extra = rest.trim();
  if (extra === '' || extra.startsWith('#')) return;
  const hint = after === 'the key' ? 'a key is one word without blanks; remove the rest of the line' : 'remove the rest of the line';
  sink.warning(line, `text after ${after} is ignored [${extra}]`, hint);
}

/**
 * Reads and parses an authkeys file, with heartbeat's permission rule: the file must not be
 * readable by group or others — an error for a daemon's keys, a warning for offline analysis
 * (`hbd decode --authkeys`), where the file only verifies captures. `unreadable` is set when the
 * file could not be read at all.
 */
export function readAuthkeys(path: string, permissions: 'error' | 'warning' = 'error'): AuthkeysResult & { readonly unreadable: boolean } {
  const sink = new Sink(path);
  const file = readConfigFile(path);
  if (!file.ok) {
    sink.error(null, `cannot read the keyfile: ${file.message}`, file.code === 'ENOENT' ? 'create it with auth 1 and a key line, then chmod 600 it' : undefined);
    return { keys: null, diagnostics: sink.diagnostics, unreadable: true };
  }
  if (file.mode & 0o044) sink.add({ severity: permissions, line: null, message: `Bad permissions on keyfile [${path}], 600 recommended.`, hint: `chmod 600 ${path}` });
  checkUtf8(file.bytes, sink);
  const parsed = parseAuthkeys(file.bytes.toString('utf8'), path);
  const diagnostics = [...sink.diagnostics, ...parsed.diagnostics];
  return { keys: hasErrors(diagnostics) ? null : parsed.keys, diagnostics, unreadable: false };
}

/** Keys are used as bytes; text that is not UTF-8 could not be reproduced exactly. */
function checkUtf8(bytes: Buffer, sink: Sink): void {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl < 0 ? bytes.length : nl;
    try {
      decoder.decode(bytes.subarray(start, end));
    } catch {
      sink.error(line, 'line is not valid UTF-8', 'use a key made of printable ASCII, e.g. a hex string');
    }
    start = end + 1;
  }
}
