import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { formatLine, clampMessage, MAX_MESSAGE_BYTES } from '../lib/log/format';
import { Logger } from '../lib/log/logger';
import { FileSink } from '../lib/log/file-sink';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-log-'));
}

test('line shape: ISO UTC with milliseconds, node, hbd[pid], level, text', () => {
  const at = Date.UTC(2026, 10, 25, 4, 40, 12, 345);
  assert.equal(formatLine(at, 'n2', 1234, 'WARN', 'node n1: is dead'), '2026-11-25T04:40:12.345Z n2 hbd[1234]: WARN: node n1: is dead');
});

test('messages are clamped at heartbeat\'s 5119 bytes', () => {
  assert.equal(Buffer.byteLength(clampMessage('x'.repeat(9000))), MAX_MESSAGE_BYTES);
  assert.equal(clampMessage('short'), 'short');
});

test('logfile gets info and above, debugfile everything, debug gated by level', async () => {
  const dir = tmpdir();
  try {
    const logfile = path.join(dir, 'ha-log');
    const debugfile = path.join(dir, 'ha-debug');
    let t = Date.UTC(2026, 0, 1);
    const log = new Logger('n1', { logfile, debugfile, debugLevel: 1 }, () => t, 42);
    log.info('Link n2:eth0 up.');
    log.debug(1, 'level one');
    log.debug(2, 'level two is above debug 1');
    t += 2;
    log.warn('node n2: is dead');
    await log.close();
    const ha = fs.readFileSync(logfile, 'utf8').trim().split('\n');
    const dbg = fs.readFileSync(debugfile, 'utf8').trim().split('\n');
    assert.deepEqual(ha, [
      '2026-01-01T00:00:00.000Z n1 hbd[42]: info: Link n2:eth0 up.',
      '2026-01-01T00:00:00.002Z n1 hbd[42]: WARN: node n2: is dead',
    ]);
    assert.equal(dbg.length, 3);
    assert.match(dbg[1], /debug: level one$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable log file warns once and the other outputs keep working', async () => {
  const dir = tmpdir();
  try {
    const debugfile = path.join(dir, 'ha-debug');
    const warnings: string[] = [];
    const bad = new FileSink(path.join(dir, 'no', 'such', 'dir', 'ha-log'), Date.now, (w) => warnings.push(w));
    bad.write('lost line');
    bad.write('another lost line');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cannot write log file .*ha-log: ENOENT \(open\); logging continues/);
    const log = new Logger('n1', { logfile: path.join(dir, 'missing', 'ha-log'), debugfile }, Date.now, 7);
    log.info('still logged');
    await log.close();
    assert.match(fs.readFileSync(debugfile, 'utf8'), /info: still logged/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a full disk (/dev/full) is reported once, not again at each reopen check', () => {
  let t = 0;
  const warnings: string[] = [];
  const sink = new FileSink('/dev/full', () => t, (w) => warnings.push(w));
  for (let i = 0; i < 5; i++) {
    sink.write(`line ${i}`);
    t += 61_000; // every write after a reopen check: the file opens again and the write fails again
  }
  sink.close();
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /cannot write log file \/dev\/full: ENOSPC \(write\)/);
});

test('a rotated log file is reopened at the next check', () => {
  const dir = tmpdir();
  try {
    const file = path.join(dir, 'ha-log');
    let t = 0;
    const sink = new FileSink(file, () => t);
    sink.write('one');
    fs.renameSync(file, file + '.1');
    t += 1000;
    sink.write('two'); // within the minute: still the old inode
    t += 60_000;
    sink.write('three');
    sink.close();
    assert.equal(fs.readFileSync(file + '.1', 'utf8'), 'one\ntwo\n');
    assert.equal(fs.readFileSync(file, 'utf8'), 'three\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown syslog facility is refused', () => {
  assert.throws(() => new Logger('n1', { facility: 'local9' }), /unknown syslog facility "local9"/);
});

test('syslog records carry facility, level and heartbeat text', { timeout: 20_000 }, async (t) => {
  if (!fs.existsSync('/usr/bin/logger')) return t.skip('util-linux logger is not installed');
  const dir = tmpdir();
  const sock = path.join(dir, 'log.sock');
  // A datagram receiver: Node has no AF_UNIX datagram sockets, python3 does.
  const py = spawn('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(10)
print("ready", flush=True)
for _ in range(2):
    print(s.recv(4096).decode(), flush=True)
`, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    py.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('ready'), 10_000);
    const log = new Logger('n1', { facility: 'local0', syslogSocket: sock }, Date.now, 99);
    log.warn('node n2: is dead');
    log.info('Link n2:eth0 dead.');
    await log.close();
    await waitFor(() => out.split('\n').filter((l) => l.startsWith('<')).length >= 2, 10_000);
    const lines = out.split('\n').filter((l) => l.startsWith('<'));
    assert.match(lines[0], /^<132>.*hbd\[99\]: WARN: node n2: is dead$/); // local0 (16) * 8 + warning (4)
    assert.match(lines[1], /^<134>.*hbd\[99\]: info: Link n2:eth0 dead\.$/);
  } finally {
    py.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
