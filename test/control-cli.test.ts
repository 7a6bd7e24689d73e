// Every control command as an operator runs it (a child `hbd` process) against a fake daemon:
// a ControlServer with a FakeHandler in this process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ControlServer } from '../lib/control/server';
import { FakeHandler, sampleReport, T0 } from './support/fake-control';

const HBD = path.resolve(__dirname, '..', '..', 'bin', 'hbd');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function hbd(args: string[], opts: { uid?: number; gid?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HBD, ...args], { encoding: 'utf8', timeout: 20_000, ...opts }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

async function withDaemon(fn: (dir: string, h: FakeHandler) => Promise<void>, pid?: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-ctl-cli-'));
  const h = new FakeHandler();
  const server = await ControlServer.listen({ runDir: dir, handler: h, log: () => undefined, pid });
  try {
    await fn(dir, h);
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function emptyRunDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-ctl-none-'));
}

test('hbd status: nodes with state and since, links, groups with holder and resource states, transport, counters, the process\'s memory', async () => {
  await withDaemon(async (dir) => {
    const r = await hbd(['status', '--run-dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    const o = r.stdout;
    assert.match(o, /^hbd 0\.1\.0 on node1: pid 4242, running since 2026-12-01T10:00:00\.000Z \(/);
    assert.match(o, /^transport: native \(the native addon loaded\)$/m);
    assert.match(o, /^communication: up; auto_failback on; this node holds all resources$/m);
    assert.match(o, /^ {2}node1 active since 2026-12-01T10:00:01\.000Z \(.* ago\) \[this node\]\n {4}link eth0 up\n {4}link eth1 up$/m);
    assert.match(o, /^ {2}node2 dead since 2026-12-01T10:01:00\.000Z .*\n {4}link eth0 dead\n {4}link eth1 up$/m);
    assert.match(o, /^ {2}198\.18\.0\.1 ping since start \[ping node\]$/m);
    assert.match(o, /^ {2}198\.18\.0\.11: held; holder node1; preferred node node2\n {4}198\.18\.0\.11 {2}running$/m);
    assert.match(o, /^ {4}httpd {16}running$/m);
    assert.match(o, /^ {2}packets in 1200, out 1100; authentication failures 3$/m);
    assert.match(o, /^ {2}late heartbeats 2; largest gap between heartbeats 2870 ms$/m);
    assert.match(o, /^ {4}2026-12-01T10:01:00\.000Z from node2: 812 ms$/m);
    assert.match(o, /^ {2}control requests 1, bad 0, refused connections 0$/m);
    assert.match(o, /^process:\n {2}rss 58\.0 MB; JavaScript heap 6\.5 MB live of 9\.0 MB committed; external 2\.0 MB\n {2}cpu 12\.3 s; threads 9; open descriptors 31$/m);
    const j = await hbd(['status', '--json', '--run-dir', dir]);
    assert.equal(j.status, 0);
    const doc = JSON.parse(j.stdout);
    assert.deepEqual({ ...doc, control: undefined }, { ...sampleReport(), control: undefined });
    assert.deepEqual(doc.control, { requests: 2, badRequests: 0, refusedConnections: 0 });
  });
});

test('every command without a daemon: "hbd is not running (no <socket>)"', async () => {
  const dir = emptyRunDir();
  try {
    for (const cmd of [['status'], ['reload'], ['standby'], ['takeover', 'local']]) {
      const r = await hbd([...cmd, '--run-dir', dir]);
      assert.equal(r.status, 1, cmd.join(' '));
      assert.equal(r.stderr, `hbd ${cmd[0]}: hbd is not running (no ${dir}/hbd.sock)\n`);
    }
    const stop = await hbd(['stop', '--run-dir', dir]);
    assert.equal(stop.status, 0, 'stopping a stopped hbd is done');
    assert.equal(stop.stderr, `hbd stop: hbd is not running (no ${dir}/hbd.sock): already stopped\n`);
    // A socket left by a dead daemon.
    execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(path.join(dir, 'hbd.sock'))})`]);
    const stale = await hbd(['status', '--run-dir', dir]);
    assert.equal(stale.status, 1);
    assert.equal(stale.stderr, `hbd status: hbd is not running (${dir}/hbd.sock is left over from a daemon that is gone)\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a user other than root cannot use the socket and is told so', { skip: process.getuid?.() !== 0 ? 'needs root to run a command as nobody' : false }, async () => {
  await withDaemon(async (dir) => {
    fs.chmodSync(dir, 0o755);
    const r = await hbd(['status', '--run-dir', dir], { uid: 65534, gid: 65534 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^hbd status: permission denied on \S+hbd\.sock \(connect: EACCES\): run this as root\n$/);
    const cl = await hbd(['cl_status', 'hbstatus', '--run-dir', dir], { uid: 65534, gid: 65534 });
    assert.equal(cl.status, 0);
    assert.equal(cl.stdout, 'Heartbeat is apparently running on this machine, but refuses my connection\n');
  });
});

test('hbd standby / takeover: scope passed, default all, failback = foreign; refusals exit 1; bad scope is a usage error', async () => {
  await withDaemon(async (dir, h) => {
    const a = await hbd(['standby', '--run-dir', dir]);
    assert.deepEqual([a.status, a.stdout], [0, 'Going standby [all].\n']);
    assert.equal((await hbd(['takeover', 'failback', '--run-dir', dir])).status, 0);
    h.action = { accepted: false, message: 'Standby mode only implemented when nice_failback on' };
    const refused = await hbd(['standby', 'local', '--run-dir', dir]);
    assert.deepEqual([refused.status, refused.stderr], [1, 'Standby mode only implemented when nice_failback on\n']);
    const bad = await hbd(['standby', 'everything', '--run-dir', dir]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /expected all, local, foreign or failback/);
    assert.deepEqual(h.calls, ['standby all', 'takeover foreign', 'standby local']);
  });
});

test("hb_standby / hb_takeover: heartbeat's arguments, silence on success, its usage errors and exit 1", async () => {
  await withDaemon(async (dir, h) => {
    const ok = await hbd(['hb_standby', 'failback', '--run-dir', dir]);
    assert.deepEqual([ok.status, ok.stdout, ok.stderr], [0, '', '']);
    const wrong = await hbd(['hb_takeover', 'mine', '--run-dir', dir]);
    assert.deepEqual([wrong.status, wrong.stdout, wrong.stderr], [1, 'hb_takeover: wrong resources(mine).\nusage:\n', 'hb_takeover [all|foreign|local|failback]\n']);
    const many = await hbd(['hb_standby', 'all', 'local', '--run-dir', dir]);
    assert.deepEqual([many.status, many.stdout], [1, 'hb_standby: too many arguments\nusage:\n']);
    assert.equal((await hbd(['hb_takeover', '--run-dir', dir])).status, 0);
    assert.deepEqual(h.calls, ['standby foreign', 'takeover all']);
  });
});

test('hbd stop: the daemon is asked, and the command waits until its pid is gone', async () => {
  const victim = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((r) => victim.once('spawn', r));
  await withDaemon(async (dir, h) => {
    h.onStop = () => setTimeout(() => victim.kill('SIGTERM'), 300);
    const r = await hbd(['stop', '--run-dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `hbd stopped (pid ${victim.pid})\n`);
    assert.equal(victim.exitCode === null ? victim.signalCode : 'exited', 'SIGTERM');
  }, victim.pid);
});

test('hbd stop --timeout: a daemon that does not go away is reported, exit 1', async () => {
  const stubborn = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((r) => stubborn.once('spawn', r));
  try {
    await withDaemon(async (dir) => {
      const r = await hbd(['stop', '--timeout', '1', '--run-dir', dir]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`^hbd stop: pid ${stubborn.pid} is still running after 1 s`));
    }, stubborn.pid);
  } finally {
    stubborn.kill('SIGKILL');
  }
});

test('hbd reload: applied and restart-only changes; an invalid configuration is refused with its errors', async () => {
  await withDaemon(async (dir, h) => {
    const ok = await hbd(['reload', '--run-dir', dir]);
    assert.deepEqual([ok.status, ok.stdout], [0, 'hbd reloaded: applied haresources\nchanged, effective at the next restart: udpport\n']);
    h.reloadResult = { ok: false, diagnostics: [{ severity: 'error', file: '/etc/ha.d/ha.cf', line: 4, message: 'keepalive: invalid time [2s]', hint: 'write 2' }] };
    const bad = await hbd(['reload', '--run-dir', dir]);
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, '/etc/ha.d/ha.cf:4: error: keepalive: invalid time [2s]\n    hint: write 2\nhbd reload: the new configuration is NOT valid: hbd keeps running on the previous one\n');
  });
});

test("cl_status: heartbeat's sub-commands, output and exit codes", async () => {
  await withDaemon(async (dir) => {
    const cl = (...args: string[]) => hbd(['cl_status', ...args, '--run-dir', dir]);
    const cases: Array<[string[], number, string, string?]> = [
      [['hbstatus'], 0, 'Heartbeat is running on this machine.\n'],
      [['listnodes'], 0, 'node1\nnode2\n198.18.0.1\n'],
      [['listnodes', '-p'], 0, '198.18.0.1\n'],
      [['listnodes', '-n'], 0, 'node1\nnode2\n'],
      [['listnodes', '-n', '-m'], 0, 'The nodes are as follow:\nnode1\nnode2\n'],
      [['listnodes', '-v', '-n'], 0, '\nnode1\tactive\t(nodetype: normal)\n\teth0\tup\n\teth1\tup\n\nnode2\tdead\t(nodetype: normal)\n\teth0\tdead\n\teth1\tup\n'],
      [['nodestatus', 'node1'], 0, 'active\n'],
      [['nodestatus', 'NODE2'], 1, 'dead\n'],
      [['nodestatus', '198.18.0.1', '-m'], 0, 'The cluster node 198.18.0.1 is ping\n'],
      [['nodestatus', 'node9'], 11, '', 'Error. May be due to incorrect node name\n'],
      [['nodestatus'], 11, '', 'cl_status: ERROR: Not enough parameters.\n'],
      [['nodetype', '198.18.0.1'], 0, 'ping\n'],
      [['nodetype', 'node9'], 0, 'unknown\n'],
      [['nodetype', 'node2', '-m'], 0, "The node node2's type: normal\n"],
      [['listhblinks', 'node2'], 0, '\teth0\n\teth1\n'],
      [['listhblinks', '-v', 'node2'], 0, '\teth0\tdead\n\teth1\tup\n'],
      [['hblinkstatus', 'node2', 'eth0'], 1, 'dead\n'],
      [['hblinkstatus', 'node2', 'eth1', '-m'], 0, "The node node2's heartbeat link eth1 is up\n"],
      [['clientstatus', 'node1', 'ipfail'], 1, 'offline\n'],
      [['rscstatus'], 0, 'all\n'],
      [['rscstatus', '-m'], 0, 'This node is holding all resources.\n'],
      [['hbparameter', '-p', 'deadtime'], 0, '5000ms\n'],
      [['hbparameter', '-m', '-p', 'hbversion'], 0, "Heartbeat parameter hbversion's value: 3.0.6\n"],
      [['hbparameter', '-p', 'nonesuch'], 1, '', "cl_status: ERROR: Cannot get parameter nonesuch's value\n"],
      [['hbparameter'], 11, '', 'cl_status: ERROR: parameter name required\n'],
      [['nodeweight', 'node1'], 0, '100\n'],
      [['bogus'], 11, '', 'cl_status: ERROR: bogus: invalid sub-command.\n'],
      [['listnodes', '-x'], 11, '', 'cl_status: ERROR: listnodes: invalid option -x\n'],
    ];
    for (const [args, code, out, err = ''] of cases) {
      const r = await cl(...args);
      assert.deepEqual([r.status, r.stdout, r.stderr], [code, out, err], args.join(' '));
    }
    const v = await cl('hbstatus', '-v');
    assert.equal(v.status, 0);
    assert.ok(v.stdout.startsWith('Heartbeat is running on this machine.\nversion:\t3.0.6\nmanaged by:\t"haresources"\n\nnode1\tactive\t(nodetype: normal)\n'), v.stdout);
    const usage = await cl();
    assert.equal(usage.status, 0);
    assert.match(usage.stdout, /^Usage: cl_status <sub-command> \[<options>\] \[<parameters>\]\n/);
  });
});

test('cl_status without a daemon: hbstatus says stopped (exit 1); other sub-commands cannot sign on (exit 1)', async () => {
  const dir = emptyRunDir();
  try {
    const hb = await hbd(['cl_status', 'hbstatus', '--run-dir', dir]);
    assert.deepEqual([hb.status, hb.stdout], [1, 'Heartbeat is stopped on this machine.\n']);
    const ns = await hbd(['cl_status', 'nodestatus', 'node1', '--run-dir', dir]);
    assert.deepEqual([ns.status, ns.stderr], [1, `cl_status: ERROR: Cannot signon with heartbeat\ncl_status: ERROR: REASON: hbd is not running (no ${dir}/hbd.sock)\n`]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the sample report is what the fake daemon serves (fixture sanity)', () => {
  assert.equal(sampleReport().startedAt, T0);
});
