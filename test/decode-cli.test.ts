// `hbd decode` as a child process, on the real captures and on crafted datagram files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { encode } from '../lib/wire/codec';
import { str } from '../lib/wire/message';
import { CAPTURE_DIR } from './vectors/vector-file';

const HBD = path.resolve(__dirname, '..', '..', 'bin', 'hbd');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-decode-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function file(name: string, content: string | Buffer, mode = 0o600): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, content, { mode });
  fs.chmodSync(p, mode);
  return p;
}

const SHA1_KEYS = file('sha1.authkeys', 'auth 1\n1 sha1 anc-lab-sha1-secret-2025\n');
const CRC_KEYS = file('crc.authkeys', 'auth 1\n1 crc\n');
const WRONG_KEYS = file('wrong.authkeys', 'auth 1\n1 sha1 not-the-cluster-key\n');
const capture = (name: string): string => path.join(CAPTURE_DIR, name);

function hbd(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [HBD, 'decode', ...args], { encoding: 'utf8', env: { ...process.env, HBD_TRANSPORT: 'ts' }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function jsonLines(out: string): { verdict: string; time: string | null; src: string | null; encoding: string | null; fields: { name: string; uuid?: string }[] | null; error: { code: string } | null }[] {
  return out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('the real captures verify with their keys: exit 0, every message ok', () => {
  const cases: [string, string, number][] = [
    ['real-hb-sha1.pcap', SHA1_KEYS, 10],
    ['real-hb-crc.pcap', CRC_KEYS, 11],
    ['real-hb-sha1-restart-dt-bump.pcap', SHA1_KEYS, 1190],
  ];
  for (const [name, keys, n] of cases) {
    const r = hbd('--json', '--authkeys', keys, capture(name));
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    const msgs = jsonLines(r.stdout);
    assert.equal(msgs.length, n, name);
    assert.ok(msgs.every((m) => m.verdict === 'ok' && m.encoding === 'netstring' && /^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(m.time ?? '')), name);
  }
});

test('a wrong key: exit 1 and bad-signature for every message', () => {
  const r = hbd('--authkeys', WRONG_KEYS, capture('real-hb-sha1.pcap'));
  assert.equal(r.status, 1);
  const heads = r.stdout.split('\n').filter((l) => !l.startsWith(' ') && l);
  assert.equal(heads.length, 10);
  assert.ok(heads.every((l) => l.endsWith('netstring bad-signature (index 1, sha1)')), heads[0]);
});

test('text output: time, source, encoding, verdict, fields in order, UUIDs', () => {
  const r = hbd('--authkeys', SHA1_KEYS, capture('real-hb-sha1.pcap'));
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+real-hb-sha1\.pcap#1 198\.18\.0\.2:\d+ -> 198\.18\.0\.255:694 netstring ok \(index 1, sha1\)$/);
  assert.deepEqual(lines.slice(1, 6), ['    t=status', '    st=active', '    dt=2710', '    protocol=1', '    src=n2']);
  assert.match(lines[6]!, /^ {4}\(1\)srcuuid=[0-9a-f]{32} \(uuid [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)$/);
});

test('without --authkeys signed messages are "unverified" and the exit status is 0', () => {
  const r = hbd('--json', capture('real-hb-crc.pcap'));
  assert.equal(r.status, 0, r.stderr);
  assert.ok(jsonLines(r.stdout).every((m) => m.verdict === 'unverified'));
  assert.match(r.stderr, /skipped 19 frame\(s\) that are not IPv4 UDP/);
});

test('raw datagram files: a malformed one is reported with its reason, exit 1', () => {
  const bad = file('w5.bin', '###\n5:abcde,%%%\n');
  const good = file('good.bin', encode([str('t', 'status'), str('src', 'alice')], 'classic', { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from('anc-lab-sha1-secret-2025') }] }));
  const r = hbd('--authkeys', SHA1_KEYS, good, bad);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^- \S+good\.bin classic ok \(index 1, sha1\)\n {4}t=status\n {4}src=alice\n {4}auth=1 [0-9a-f]{40}\n/);
  assert.match(r.stdout, /- \S+w5\.bin - malformed: bad-type at byte 6: netstring field does not start with "\(d\)"\n/);
  const j = jsonLines(hbd('--json', bad).stdout);
  assert.deepEqual([j[0]!.verdict, j[0]!.error?.code], ['malformed', 'bad-type']);
  const unsigned = file('unsigned.bin', '>>>\nt=status\n<<<\n\0');
  assert.equal(hbd(unsigned).status, 1, 'an unsigned message is a failure');
});

test('usage errors, unreadable files and malformed captures exit 2', () => {
  assert.equal(hbd().status, 2);
  assert.equal(hbd('--port', '70000', capture('real-hb-sha1.pcap')).status, 2);
  const missing = hbd(path.join(tmp, 'nope.pcap'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read \S+nope\.pcap \(open \S+: ENOENT\)/);
  const cut = file('cut.pcap', fs.readFileSync(capture('real-hb-sha1.pcap')).subarray(0, 100));
  const trunc = hbd(cut);
  assert.equal(trunc.status, 2);
  assert.match(trunc.stderr, /malformed capture at byte \d+: record claims/);
});

test('--port selects the datagrams; a capture with none for the port is a failure', () => {
  const r = hbd('--port', '695', capture('real-hb-sha1.pcap'));
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /no UDP datagram to or from port 695 \(10 UDP datagram\(s\) in the pcap file; use --port\)/);
});

test('an authkeys readable by others is a warning for offline analysis, not a refusal', () => {
  const loose = file('loose.authkeys', 'auth 1\n1 crc\n', 0o644);
  const r = hbd('--json', '--authkeys', loose, capture('real-hb-crc.pcap'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /loose\.authkeys: warning: Bad permissions on keyfile \[\S+\], 600 recommended\.\n {4}hint: chmod 600 /);
  assert.ok(jsonLines(r.stdout).every((m) => m.verdict === 'ok'));
});
