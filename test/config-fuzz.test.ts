// Properties: whatever the files contain, the parsers and loadConfig only ever report
// diagnostics — they never throw — and a configuration is returned exactly when there is no error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fc from 'fast-check';

import { parseAuthkeys } from '../lib/config/authkeys';
import type { Diagnostic } from '../lib/config/diagnostics';
import { parseHaCf } from '../lib/config/hacf';
import { parseHaresources } from '../lib/config/haresources';
import { loadConfig } from '../lib/config/load';
import { makeConfigDir, tutorialFiles, writeConfigFiles, type ConfigFilesText } from './fixtures/config/dirs';

const SEVERITIES = new Set(['error', 'warning', 'note']);

function assertWellFormed(ds: readonly Diagnostic[], text: string): void {
  const lines = text.split('\n').length;
  for (const d of ds) {
    assert.ok(SEVERITIES.has(d.severity), d.severity);
    assert.ok(d.line === null || (Number.isInteger(d.line) && d.line >= 1 && d.line <= lines), `line ${d.line} of ${lines}`);
    assert.equal(typeof d.message, 'string');
    assert.ok(d.message.length > 0);
    assert.ok(d.hint === undefined || (typeof d.hint === 'string' && d.hint.length > 0));
  }
}

function parseAll(text: string): void {
  assertWellFormed(parseHaCf(text, 'ha.cf').diagnostics, text);
  assertWellFormed(parseAuthkeys(text, 'authkeys').diagnostics, text);
  assertWellFormed(parseHaresources(text, 'haresources', ['node1', 'node2']).diagnostics, text);
  assertWellFormed(parseHaresources(text, 'haresources', null).diagnostics, text);
}

test('random bytes as any of the three files only produce diagnostics', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const buf = Buffer.from(bytes);
      parseAll(buf.toString('utf8'));
      parseAll(buf.toString('latin1'));
    }),
    { numRuns: 300 },
  );
});

/** Words that reach deep into the parsers: directive names, values, separators, traps. */
const WORDS = [
  'node', 'keepalive', 'deadtime', 'warntime', 'initdead', 'deadping', 'udpport', 'bcast', 'mcast', 'ucast', 'ping', 'ping_group',
  'auto_failback', 'nice_failback', 'msgfmt', 'logfacility', 'hbd_stall_limit', 'crm', 'stonith', 'serial', 'udp', 'env', 'auth',
  'sha1', 'md5', 'crc', 'sha256', 'IPaddr::', 'IPaddr2::10.0.0.1/24/eth0', '10.0.0.5', '239.0.0.1', '224.0.0.0', '::', ':', '/', '\\',
  '#', ',', '=', '(stdin)=', 'ms', 's', 'us', '0', '1', '2', '15', '16', '-1', '694', '65536', '0.5', '1e9', '99999999999', 'on', 'off',
  'legacy', 'classic-text', 'node1', 'NODE2', 'eth0', 'lo', 'x'.repeat(120), '\t', ' ', '\r', '\0', 'é', '\u2028', '',
];

type Edit =
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'swap'; at: number; with: number }
  | { op: 'insert'; at: number; pos: number; word: string }
  | { op: 'newline'; at: number; words: string[] };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), pos: fc.nat(), word: fc.constantFrom(...WORDS) }),
  fc.record({ op: fc.constant('newline' as const), at: fc.nat(), words: fc.array(fc.constantFrom(...WORDS), { maxLength: 6 }) }),
);

/** Applies one edit to the lines of a file; token positions count the blank-separated words. */
function applyEdit(lines: string[], e: Edit): string[] {
  const out = [...lines];
  const i = out.length ? e.at % out.length : 0;
  switch (e.op) {
    case 'delete':
      out.splice(i, 1);
      break;
    case 'duplicate':
      if (out.length) out.splice(i, 0, out[i]);
      break;
    case 'swap': {
      const j = out.length ? e.with % out.length : 0;
      if (out.length) [out[i], out[j]] = [out[j], out[i]];
      break;
    }
    case 'insert': {
      const words = (out[i] ?? '').split(' ');
      words.splice(e.pos % (words.length + 1), 0, e.word);
      out[i] = words.join(' ');
      break;
    }
    case 'newline':
      out.splice(i, 0, e.words.join(' '));
      break;
  }
  return out;
}

test('random line edits of the tutorial files only produce diagnostics, and a config exactly when there is no error', () => {
  const tutorial = tutorialFiles();
  const dir = makeConfigDir(tutorial);
  const host = { interfaceExists: (n: string) => n === 'eth0', resourceScript: () => '/bin/true', systemdUnit: (u: string) => `/lib/systemd/system/${u}`, syslogSocket: () => true };
  try {
    fc.assert(
      fc.property(fc.constantFrom('ha.cf', 'authkeys', 'haresources', 'nodeinfo'), fc.array(editArb, { minLength: 1, maxLength: 5 }), (name, edits) => {
        const base = (name === 'nodeinfo' ? 'node1\n' : tutorial[name]).split('\n');
        const edited = edits.reduce(applyEdit, base).join('\n');
        const files: ConfigFilesText = { ...tutorial, nodeinfo: null, [name]: edited };
        writeConfigFiles(dir, files);
        const r = loadConfig(dir, { hostChecks: 'error', host, hostname: () => 'node1' });
        for (const d of r.diagnostics) assert.ok(SEVERITIES.has(d.severity));
        assert.equal(r.config !== null, !r.diagnostics.some((d) => d.severity === 'error'));
        JSON.stringify(r.resolved);
      }),
      { numRuns: 200 },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
