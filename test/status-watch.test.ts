// `hbd status --watch` as an operator runs it (a child hbd) against a fake daemon in this process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CLEAR_SCREEN } from '../lib/cli/status';
import { ControlServer } from '../lib/control/server';
import { FakeHandler } from './support/fake-control';

const HBD = path.resolve(__dirname, '..', '..', 'bin', 'hbd');

function hbd(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HBD, ...args], { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

async function withDaemon(fn: (dir: string, h: FakeHandler) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-watch-'));
  const h = new FakeHandler();
  const server = await ControlServer.listen({ runDir: dir, handler: h, log: () => undefined });
  try {
    await fn(dir, h);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const frames = (out: string) => out.split(CLEAR_SCREEN).slice(1);

test('status --watch --count 2 draws two frames, each a full status view', async () => {
  await withDaemon(async (dir, h) => {
    const r = await hbd(['status', '--watch', '--count', '2', '--interval', '0.1', '--run-dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.startsWith(CLEAR_SCREEN));
    const f = frames(r.stdout);
    assert.equal(f.length, 2);
    for (const frame of f) {
      assert.match(frame, /^hbd 0\.1\.0 on node1: pid 4242/);
      assert.match(frame, /node2 dead since 2026-12-01T10:01:00\.000Z/);
      assert.match(frame, /\(every 0\.1 s, .*; Ctrl-C to quit\)\n$/);
    }
    assert.deepEqual(h.calls, ['status', 'status']);
  });
});

test('status --watch keeps watching a daemon that is not there and exits 1', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-watch-none-'));
  try {
    const r = await hbd(['status', '-w', '--count', '2', '--interval', '0.05', '--run-dir', dir]);
    assert.equal(r.status, 1);
    const f = frames(r.stdout);
    assert.equal(f.length, 2);
    for (const frame of f) assert.match(frame, new RegExp(`^hbd status: hbd is not running \\(no ${dir}/hbd.sock\\)\\n`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('status --watch stops on Ctrl-C (SIGINT) with exit 0', async () => {
  await withDaemon(async (dir) => {
    const child = spawn(process.execPath, [HBD, 'status', '--watch', '--run-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    const firstFrame = new Promise<void>((resolve) => child.stdout.on('data', (c: string) => ((out += c), out.includes('Ctrl-C to quit') && resolve())));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      await firstFrame;
      child.kill('SIGINT');
      assert.equal(await exited, 0);
      assert.equal(frames(out).length, 1);
    } finally {
      clearTimeout(guard);
    }
  });
});

test('status --watch usage errors', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['status', '--watch', '--json'], /--watch shows the terminal view; --json is for one report/],
    [['status', '--count', '2'], /--count goes with --watch/],
    [['status', '--watch', '--count', '0'], /--count must be a positive whole number, got 0/],
    [['status', '--watch', '--interval', 'x'], /--interval must be a positive number, got x/],
  ];
  for (const [args, msg] of cases) {
    const r = await hbd([...args, '--run-dir', '/nonexistent']);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, msg);
  }
});

test('start --metrics refuses a bad address as a usage error', async () => {
  const r = await hbd(['start', '--metrics', 'localhost:9694', '-c', '/nonexistent']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid metrics listen address \[localhost\]/);
});
