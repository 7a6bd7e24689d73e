// `hbd decode`: decode and verify heartbeat packets from raw datagram files or captures.
import * as fs from 'node:fs';

import { Command, InvalidArgumentError } from 'commander';

import { readAuthkeys } from '../config/authkeys';
import { formatDiagnostic } from '../config/diagnostics';
import { describeErrno } from '../errors';
import { CaptureError, captureKind, readCapture, type UdpDatagram } from '../pcap/reader';
import { decode } from '../wire/codec';
import { DecodeError } from '../wire/errors';
import { uuidText } from '../wire/message';
import { FT_BINARY, FT_COMPRESS, FT_LIST, FT_STRING, type AuthKeys, type DecodeResult, type Field, type Message } from '../wire/types';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './options';

export interface DecodeOptions {
  readonly authkeys?: string;
  readonly json?: boolean;
  readonly port: number;
}

const DEFAULT_PORT = 694;

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a UDP port number 1-65535');
  return n;
}

export function register(program: Command): void {
  const cmd = new Command('decode')
    .description('decode heartbeat packets (raw datagram files or pcap/pcapng captures) and check their signatures')
    .argument('<file...>', 'a raw datagram (any file that is not a capture) or a pcap/pcapng capture')
    .option('--authkeys <file>', 'verify signatures with this authkeys file (without it: verdict "unverified")')
    .option('--json', 'print one JSON object per message')
    .option('--port <n>', 'in captures, decode UDP datagrams to or from this port', parsePort, DEFAULT_PORT)
    .addHelpText(
      'after',
      `
Each message is printed with its capture time, source, encoding (classic or netstring),
its fields in order (binary fields in hex, 16-byte *uuid fields also as a UUID) and the
verdict: ok, bad-signature, unknown-key-index, unsigned, unverified or malformed: <why>.

Exit status: 0 every message decoded and verified (or unverified without --authkeys);
1 a message failed (malformed, bad signature, unknown key index, unsigned) or a capture
held no datagram for the port; 2 usage error, an unreadable file or authkeys, a malformed capture.`,
    )
    .action((files: string[], opts: DecodeOptions) => {
      // `hbd decode x.pcap | head` closes the pipe early: stop writing instead of crashing.
      let closed = false;
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') throw e;
        closed = true;
      });
      process.exitCode = runDecode(files, opts, (s) => closed || process.stdout.write(s), (s) => process.stderr.write(s));
    });
  program.addCommand(cmd);
}

interface Source {
  readonly file: string;
  readonly frame: number | null;
  readonly time: UdpDatagram['time'];
  readonly src: string | null;
  readonly dst: string | null;
  readonly payload: Buffer;
}

type Outcome = { readonly ok: true; readonly result: DecodeResult } | { readonly ok: false; readonly error: DecodeError };

/** Decodes and prints every message of every file; returns the exit status. */
export function runDecode(files: readonly string[], opts: DecodeOptions, out: (s: string) => void, err: (s: string) => void): number {
  let keys: AuthKeys | null = null;
  if (opts.authkeys !== undefined) {
    const r = readAuthkeys(opts.authkeys, 'warning');
    for (const d of r.diagnostics) err(`${formatDiagnostic(d)}\n`);
    if (r.keys === null) {
      err(`hbd decode: ${opts.authkeys}: no usable keys (fix the errors above)\n`);
      return EXIT_USAGE;
    }
    keys = r.keys;
  }
  let status = EXIT_OK;
  const fail = (code: number): void => {
    status = Math.max(status, code);
  };
  for (const file of files) {
    const sources = readSources(file, opts.port, err);
    if (sources === null) {
      fail(EXIT_USAGE);
      continue;
    }
    for (const s of sources) {
      const o = decodeOne(s.payload, keys);
      if (!o.ok || !(o.result.auth.verdict === 'ok' || (keys === null && o.result.auth.verdict === 'unverified'))) fail(EXIT_FAILURE);
      out(opts.json ? jsonLine(s, o) : textBlock(s, o));
    }
    if (sources.length === 0) fail(EXIT_FAILURE);
  }
  return status;
}

function decodeOne(payload: Buffer, keys: AuthKeys | null): Outcome {
  try {
    return { ok: true, result: decode(payload, keys) };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, error: e };
    throw e;
  }
}

function readSources(file: string, port: number, err: (s: string) => void): Source[] | null {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    err(`hbd decode: cannot read ${file} (${describeErrno(e, 'open', file)})\n`);
    return null;
  }
  if (captureKind(bytes) === null) return [{ file, frame: null, time: null, src: null, dst: null, payload: bytes }];
  try {
    const cap = readCapture(bytes);
    for (const n of cap.notes) err(`hbd decode: ${file}: ${n}\n`);
    const mine = cap.datagrams.filter((d) => d.src.port === port || d.dst.port === port);
    if (mine.length === 0) err(`hbd decode: ${file}: no UDP datagram to or from port ${port} (${cap.datagrams.length} UDP datagram(s) in the ${cap.kind} file; use --port)\n`);
    return mine.map((d) => ({ file, frame: d.frame, time: d.time, src: `${d.src.address}:${d.src.port}`, dst: `${d.dst.address}:${d.dst.port}`, payload: d.payload }));
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    err(`hbd decode: ${file}: ${e.message}\n`);
    return null;
  }
}

function isoTime(t: UdpDatagram['time']): string | null {
  return t === null ? null : new Date(t.seconds * 1000 + Math.floor(t.nanos / 1e6)).toISOString();
}

function verdictText(o: Outcome): string {
  if (!o.ok) return `malformed: ${o.error.message}`;
  const a = o.result.auth;
  switch (a.verdict) {
    case 'ok':
    case 'bad-signature':
      return `${a.verdict} (index ${a.index}, ${a.method})`;
    case 'unknown-key-index':
      return `${a.verdict} (index ${a.index} is not in authkeys)`;
    default:
      return a.verdict;
  }
}

/** Printable ASCII as is; everything else escaped, so one field is one line. */
function escaped(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if (c === 0x5c) s += '\\\\';
    else if (c === 0x0a) s += '\\n';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

function isUuid(f: Field): boolean {
  return f.type === FT_BINARY && f.value.length === 16 && f.name.endsWith('uuid');
}

function fieldLines(m: Message, indent: string): string[] {
  return m.flatMap((f): string[] => {
    switch (f.type) {
      case FT_STRING:
        return [`${indent}${f.name}=${escaped(f.value)}`];
      case FT_BINARY:
        return [`${indent}(1)${f.name}=${f.value.toString('hex')}${isUuid(f) ? ` (uuid ${uuidText(f.value)})` : ''}`];
      case FT_COMPRESS:
        return [`${indent}(4)${f.name}=${f.value.toString('hex')} (compressed, ${f.value.length} bytes)`];
      case FT_LIST:
        return [`${indent}(3)${f.name}=[${f.value.map((i) => `"${escaped(i)}"`).join(', ')}]`];
      default:
        return [`${indent}(2)${f.name}=`, ...fieldLines(f.value, `${indent}    `)];
    }
  });
}

function where(s: Source): string {
  const at = s.frame === null ? s.file : `${s.file}#${s.frame}`;
  return s.src === null ? at : `${at} ${s.src} -> ${s.dst}`;
}

function textBlock(s: Source, o: Outcome): string {
  const head = [isoTime(s.time) ?? '-', where(s), o.ok ? o.result.format : '-', verdictText(o)].join(' ');
  return `${[head, ...(o.ok ? fieldLines(o.result.message, '    ') : [])].join('\n')}\n`;
}

type JsonField =
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'binary'; hex: string; uuid?: string }
  | { name: string; type: 'compressed'; hex: string }
  | { name: string; type: 'list'; items: string[] }
  | { name: string; type: 'struct'; fields: JsonField[] };

function jsonFields(m: Message): JsonField[] {
  return m.map((f): JsonField => {
    switch (f.type) {
      case FT_STRING:
        return { name: f.name, type: 'string', value: f.value.toString('latin1') };
      case FT_BINARY:
        return isUuid(f) ? { name: f.name, type: 'binary', hex: f.value.toString('hex'), uuid: uuidText(f.value) } : { name: f.name, type: 'binary', hex: f.value.toString('hex') };
      case FT_COMPRESS:
        return { name: f.name, type: 'compressed', hex: f.value.toString('hex') };
      case FT_LIST:
        return { name: f.name, type: 'list', items: f.value.map((i) => i.toString('latin1')) };
      default:
        return { name: f.name, type: 'struct', fields: jsonFields(f.value) };
    }
  });
}

function jsonLine(s: Source, o: Outcome): string {
  const doc = {
    file: s.file,
    frame: s.frame,
    time: isoTime(s.time),
    src: s.src,
    dst: s.dst,
    encoding: o.ok ? o.result.format : null,
    verdict: o.ok ? o.result.auth.verdict : 'malformed',
    auth: o.ok ? o.result.auth : null,
    error: o.ok ? null : { code: o.error.code, offset: o.error.offset, message: o.error.message },
    fields: o.ok ? jsonFields(o.result.message) : null,
  };
  return `${JSON.stringify(doc)}\n`;
}
