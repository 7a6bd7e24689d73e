// hbd as a service, in the netns lab: `start --daemon` (readiness, pid file, refusing a second
// instance, start-up errors reaching the terminal), SIGHUP reload keeping the old configuration
// when the new one is invalid, and a missing capability named before anything is opened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { labSkipReason } from './lab/env';
import { haLogPath, logOf } from './lab/ha-log';
import { withLab, type LabNode } from './lab/lab';

const skip = labSkipReason() ?? false;

function config(node: LabNode, extra: string[] = []): string {
  return [`logfile ${haLogPath(node)}`, 'keepalive 200ms', 'deadtime 2', 'initdead 4', 'realtime off', 'bcast eth0', `node ${node.name}`, ...extra, ''].join('\n');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('start --daemon: up when it returns, pid file, second instance refused, SIGHUP reload, SIGTERM', { skip }, async () => {
  await withLab({ nodes: 1 }, async (lab) => {
    const n = lab.node(1);
    n.writeConfig({ haCf: config(n), authkeys: 'auth 1\n1 sha1 service-test-secret\n' });
    const start = (...more: string[]) => n.exec(['env', 'HBD_TRANSPORT=ts', ...n.hbdArgv('start'), ...more], { allowFailure: true, timeoutMs: 30_000 });
    let pid: number | null = null;
    try {
      const r = await start('--daemon');
      assert.equal(r.code, 0, r.stderr);
      const m = /^hbd started in the background \(pid (\d+), pid file (\S+)\/hbd\.pid\)\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      pid = Number(m[1]);
      assert.equal(m[2], n.dirs.run);
      assert.equal(fs.readFileSync(path.join(n.dirs.run, 'hbd.pid'), 'latin1'), `${pid}\n`);
      assert.ok(alive(pid));
      assert.match(logOf(n), /UDP Broadcast heartbeat started on port 694/, 'the media were open when start returned');

      for (const again of [await start('--daemon'), await start()]) {
        assert.equal(again.code, 1);
        assert.ok(again.stderr.includes(`hbd: not started: hbd is already running as PID ${pid} (${n.dirs.run}/hbd.pid); stop it first (hbd stop) or use another --run-dir`), again.stderr);
      }

      // An invalid configuration: refused, the daemon goes on with the old one.
      fs.writeFileSync(path.join(n.dirs.config, 'ha.cf'), config(n).replace('keepalive 200ms', 'keepalive 2s'));
      process.kill(pid, 'SIGHUP');
      await until('the refused reload', () => /configuration NOT reloaded: .* has errors; still running on the previous configuration/.test(logOf(n)));
      assert.match(logOf(n), /ERROR: \S+ha\.cf:\d+: error: keepalive: invalid time \[2s\]/);
      assert.ok(alive(pid));
      // A valid one: logging applies live, the keepalive change waits for a restart.
      fs.writeFileSync(path.join(n.dirs.config, 'ha.cf'), config(n, ['debug 1']).replace('keepalive 200ms', 'keepalive 300ms'));
      process.kill(pid, 'SIGHUP');
      await until('the reload', () => /configuration reloaded from /.test(logOf(n)));
      assert.match(logOf(n), /configuration reloaded from \S+: applied logging \(logfile, debugfile, logfacility, debug\); effective at the next restart: timings \(/);

      process.kill(pid, 'SIGTERM');
      await until('the daemon to exit', () => !alive(pid!));
      assert.ok(!fs.existsSync(path.join(n.dirs.run, 'hbd.pid')));
      assert.match(logOf(n), /Heartbeat shutdown complete\./);
      pid = null;
    } finally {
      if (pid !== null && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

test('start --daemon: a daemon that fails during start-up reports why, exit 1', { skip }, async () => {
  await withLab({ nodes: 1 }, async (lab) => {
    const n = lab.node(1);
    n.writeConfig({ haCf: config(n), authkeys: 'auth 1\n1 sha1 service-test-secret\n' });
    const r = await n.exec(['env', 'HBD_TRANSPORT=bogus', ...n.hbdArgv('start'), '--daemon'], { allowFailure: true, timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HBD_TRANSPORT/);
    assert.match(r.stderr, /hbd: not started: the daemon exited during start-up \(status 1\)\n$/);
    assert.ok(!fs.existsSync(path.join(n.dirs.run, 'hbd.pid')));
  });
});

test('start without CAP_NET_RAW names the capability and opens nothing', { skip }, async () => {
  await withLab({ nodes: 1 }, async (lab) => {
    const n = lab.node(1);
    n.writeConfig({ haCf: config(n), authkeys: 'auth 1\n1 sha1 service-test-secret\n' });
    const r = await n.exec(['setpriv', '--bounding-set=-net_raw', '--', ...n.hbdArgv('start')], { allowFailure: true, timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^hbd: missing capability CAP_NET_RAW, needed for raw sockets: .*: run hbd as root, or grant it \(systemd: AmbientCapabilities=CAP_NET_RAW\)$/m);
    assert.match(r.stderr, /^hbd: not started: missing capabilities \(above\)$/m);
    assert.equal(logOf(n), '');
  });
});

test('start --daemon with nowhere to log is refused', { skip }, async () => {
  await withLab({ nodes: 1 }, async (lab) => {
    const n = lab.node(1);
    n.writeConfig({ haCf: config(n).replace(/^logfile .*\n/, ''), authkeys: 'auth 1\n1 sha1 service-test-secret\n' });
    const r = await n.exec(['env', 'HBD_TRANSPORT=ts', ...n.hbdArgv('start'), '--daemon'], { allowFailure: true, timeoutMs: 30_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /with --daemon there is no terminal to log to: set logfile, debugfile or logfacility in \S+ha\.cf/);
  });
});

const INIT_SCRIPT = path.resolve(__dirname, '..', '..', 'packaging', 'init.d', 'hbd');

test("the init script: heartbeat's verbs, texts and exit codes", { skip }, async () => {
  await withLab({ nodes: 1 }, async (lab) => {
    const n = lab.node(1);
    n.writeConfig({ haCf: config(n), authkeys: 'auth 1\n1 sha1 service-test-secret\n' });
    const defaults = path.join(n.dirs.root, 'default-hbd');
    const hbdCmd = `${process.execPath} ${path.resolve(__dirname, '..', '..', 'bin', 'hbd')}`;
    fs.writeFileSync(defaults, `HBD="${hbdCmd}"\nHBD_CONFIG_DIR=${n.dirs.config}\nHBD_RUN_DIR=${n.dirs.run}\nHBD_STATE_DIR=${n.dirs.state}\nHBD_OPTS="--node ${n.name}"\n`);
    const init = (verb: string) => n.exec(['env', 'HBD_TRANSPORT=ts', `HBD_DEFAULTS=${defaults}`, 'sh', INIT_SCRIPT, verb], { allowFailure: true, timeoutMs: 30_000 });
    const pidFile = path.join(n.dirs.run, 'hbd.pid');
    try {
      const start = await init('start');
      assert.deepEqual([start.code, start.stdout], [0, 'Starting High-Availability services: Done.\n'], start.stderr);
      const pid = Number(fs.readFileSync(pidFile, 'latin1'));
      const status = await init('status');
      assert.equal(status.code, 0);
      assert.match(status.stdout, new RegExp(`^hbd OK \\[pid ${pid} et al\\] is running on \\S+ \\[\\S+\\]\\.\\.\\.\\n$`));
      const again = await init('start');
      assert.equal(again.code, 1);
      assert.match(again.stdout, /^Starting High-Availability services:  Heartbeat failure \[rc=1\]\. Failed\.\n.*already running as PID/s);
      const reload = await init('reload');
      assert.deepEqual([reload.code, reload.stdout], [0, 'Reloading High-Availability services: Done.\n']);
      await until('the reload', () => /configuration reloaded from /.test(logOf(n)));
      fs.writeFileSync(path.join(n.dirs.config, 'ha.cf'), config(n).replace('keepalive 200ms', 'keepalive 2s'));
      const badReload = await init('reload');
      assert.equal(badReload.code, 1);
      assert.match(badReload.stdout, /^Reloading High-Availability services: Failed\.\n.*keepalive: invalid time \[2s\]/s);
      fs.writeFileSync(path.join(n.dirs.config, 'ha.cf'), config(n));
      const stop = await init('stop');
      assert.deepEqual([stop.code, stop.stdout], [0, 'Stopping High-Availability services: Done.\n']);
      assert.ok(!alive(pid));
      const stopped = await init('status');
      assert.deepEqual([stopped.code, stopped.stdout], [3, 'hbd is stopped. No process\n']);
      const stopAgain = await init('stop');
      assert.deepEqual([stopAgain.code, stopAgain.stdout], [0, 'Stopping High-Availability services: Done.\nINFO: Heartbeat already stopped.\n']);
      const usage = await init('bogus');
      assert.deepEqual([usage.code, usage.stdout], [1, `Usage: ${INIT_SCRIPT} {start|stop|status|restart|reload|force-reload}\n`]);
      fs.rmSync(path.join(n.dirs.config, 'ha.cf'));
      const unconfigured = await init('start');
      assert.deepEqual([unconfigured.code, unconfigured.stdout], [0, `Heartbeat not configured: ${n.dirs.config}/ha.cf not found.\n`]);
    } finally {
      const left = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'latin1')) : null;
      if (left !== null && alive(left)) process.kill(left, 'SIGKILL');
    }
  });
});
