// Mixed two-node clusters, hbd next to a real heartbeat 3.0.6 (Debian's package) in the netns lab,
// sharing one haresources group — a virtual IP and an LSB service — in both roles: heartbeat
// preferred with hbd secondary, and hbd preferred with heartbeat secondary; for each of sha1, md5
// and crc. heartbeat runs its own resource.d (Debian's IPaddr adds the address in its namespace;
// the service is a script of the test), hbd its built-in IPaddr and the same script.
// Each side sees the other active (cl_status there, `hbd status --json` here); the preferred node
// acquires; SIGKILL of the preferred node moves VIP and service to the other; auto_failback on
// brings them back when it returns; hb_standby on heartbeat hands over to hbd and `hbd standby`
// hands over to heartbeat; a graceful stop of the holder hands over too. Who holds what is read
// from both namespaces' addresses and the services' state files. Bounds are generous (the machine
// is shared); timing is measured in bench/failover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadNative } from '../lib/native';
import { labSkipReason } from './lab/env';
import { heartbeatSkipReason, inHeartbeat, startHeartbeat, stopHeartbeat } from './lab/heartbeat';
import { withLab, type Lab, type LabNode } from './lab/lab';
import type { LabProcess } from './lab/process';
import { ipIn } from './lab/tools';

type Method = 'sha1' | 'md5' | 'crc';
type Role = 'heartbeat-preferred' | 'hbd-preferred';

const VIP = '198.18.0.100';
const SERVICE = 'websvc';
const skip = labSkipReason() ?? heartbeatSkipReason() ?? (loadNative({ HBD_TRANSPORT: 'auto' }).binding === null && process.env.HBD_REQUIRE_NATIVE !== '1' ? 'the native addon is not built here' : null);

function authkeys(method: Method): string {
  return `auth 3\n3 ${method}${method === 'crc' ? '' : ' interop-failover-secret'}\n`;
}

/** What both nodes share (each side adds its own log). */
function sharedHaCf(lab: Lab): string {
  return ['keepalive 200ms', 'deadtime 2', 'warntime 1', 'initdead 6', 'bcast eth0', 'auto_failback on', 'realtime off', ...lab.nodes.map((n) => `node ${n.name}`), ''].join('\n');
}

/** An LSB init script whose service is a state file of its node (the namespaces share the file system). */
function lsbScript(state: string): string {
  return [
    '#!/bin/sh',
    `state='${state}'`,
    'case "$1" in',
    '  start) echo "Starting websvc"; touch "$state" ;;',
    '  stop) echo "Stopping websvc"; rm -f "$state" ;;',
    '  status) if [ -e "$state" ]; then echo "websvc is running"; else echo "websvc is not running"; exit 3; fi ;;',
    '  *) echo "Usage: $0 {start|stop|status}" >&2; exit 2 ;;',
    'esac',
    'exit 0',
    '',
  ].join('\n');
}

const serviceState = (node: LabNode): string => path.join(node.dirs.root, 'lsb-svc.state');

async function hasVip(node: LabNode): Promise<boolean> {
  const r = await ipIn(node.ns, ['-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  return r.stdout.includes(` ${VIP}/24 `);
}

function textOf(file: string | null): string {
  try {
    return file ? fs.readFileSync(file, 'utf8') : '';
  } catch {
    return '';
  }
}

/** One side of the cluster: start, crash, graceful stop, standby, and what it says of its peer. */
interface Side {
  readonly node: LabNode;
  readonly what: string;
  start(): Promise<void>;
  /** SIGKILL (every heartbeat process), then what a reboot leaves: no VIP, no service. */
  crash(): Promise<void>;
  stop(): Promise<void>;
  standby(): Promise<void>;
  /** The peer's status as this side reports it. */
  peerStatus(peer: LabNode): Promise<string>;
  log(): string;
}

function hbdSide(node: LabNode, shared: string, keys: string, haresources: string): Side {
  const logFile = path.join(node.dirs.logs, 'hbd.log');
  let p: LabProcess | null = null;
  const cli = async (args: string[]) => {
    const r = await node.exec([...node.hbdArgv(args[0]!).slice(0, 3), ...args.slice(1), '--run-dir', node.dirs.run], { allowFailure: true, timeoutMs: 20_000 });
    assert.equal(r.code, 0, `hbd ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  return {
    node,
    what: `hbd (${node.name})`,
    async start() {
      fs.mkdirSync(path.join(node.dirs.config, 'resource.d'), { recursive: true });
      fs.writeFileSync(path.join(node.dirs.config, 'resource.d', SERVICE), lsbScript(serviceState(node)), { mode: 0o755 });
      node.writeConfig({ haCf: `logfile ${logFile}\n${shared}`, authkeys: keys, haresources });
      // The log file is kept across restarts: wait for this start's line, not the last one's.
      const mark = textOf(logFile).length;
      p = await node.spawn([...node.hbdArgv('start'), '--no-stderr'], { env: { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' }, logFile, name: 'hbd' });
      await p.waitFor((t) => /Local status now set to: 'up'/.test(t.slice(mark)), 15_000);
    },
    async crash() {
      p!.kill('SIGKILL');
      await p!.exited;
      await ipIn(node.ns, ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']).catch(() => undefined);
      fs.rmSync(serviceState(node), { force: true });
    },
    async stop() {
      p!.kill('SIGTERM');
      assert.ok(await p!.exitWithin(20_000), 'hbd exits within 20 s of SIGTERM');
      assert.deepEqual(p!.exitInfo, { code: 0, signal: null });
    },
    async standby() {
      await cli(['standby']);
    },
    async peerStatus(peer) {
      const report = JSON.parse(await cli(['status', '--json'])) as { nodes: { name: string; status: string }[] };
      return report.nodes.find((n) => n.name === peer.name)?.status ?? '(not listed)';
    },
    log: () => textOf(logFile),
  };
}

function heartbeatSide(node: LabNode, shared: string, keys: string, haresources: string): Side {
  let p: LabProcess | null = null;
  const logs: string[] = [];
  return {
    node,
    what: `heartbeat (${node.name})`,
    async start() {
      p = await startHeartbeat(node, { haCf: shared, authkeys: keys, haresources, resourceScripts: { [SERVICE]: lsbScript(serviceState(node)) } });
      logs.push(p.logFile!);
    },
    async crash() {
      await stopHeartbeat(p!, { signal: 'SIGKILL' });
      await ipIn(node.ns, ['addr', 'del', `${VIP}/24`, 'dev', 'eth0']).catch(() => undefined);
      fs.rmSync(serviceState(node), { force: true });
    },
    async stop() {
      await stopHeartbeat(p!);
      assert.match(textOf(p!.logFile), new RegExp(`info: ${node.name} Heartbeat shutdown complete\\.`));
    },
    async standby() {
      await inHeartbeat(p!, ['/usr/share/heartbeat/hb_standby', 'all']);
    },
    async peerStatus(peer) {
      // heartbeat opens its API socket a moment after its status is up: a failed signon is "not yet".
      const r = await inHeartbeat(p!, ['cl_status', 'nodestatus', peer.name], { allowFailure: true });
      return r.code === 0 ? r.stdout.trim() : `(cl_status exit ${r.code}: ${r.stderr.trim()})`;
    },
    log: () => logs.map(textOf).join(''),
  };
}

async function scenario(lab: Lab, role: Role, method: Method): Promise<void> {
  const [n1, n2] = [lab.node(1), lab.node(2)];
  const shared = sharedHaCf(lab);
  const keys = authkeys(method);
  // n1 is the preferred node: heartbeat on it in one role, hbd in the other.
  const haresources = `${n1.name} IPaddr::${VIP}/24/eth0 ${SERVICE}\n`;
  const [pref, sec] = role === 'heartbeat-preferred' ? [heartbeatSide(n1, shared, keys, haresources), hbdSide(n2, shared, keys, haresources)] : [hbdSide(n1, shared, keys, haresources), heartbeatSide(n2, shared, keys, haresources)];
  const [hbd, hb] = role === 'heartbeat-preferred' ? [sec, pref] : [pref, sec];
  const tails = () => `\n--- ${pref.what}\n${pref.log().split('\n').slice(-40).join('\n')}\n--- ${sec.what}\n${sec.log().split('\n').slice(-40).join('\n')}`;
  const holds = async (holder: Side | null) => {
    for (const s of [pref, sec]) {
      const mine = s === holder;
      if ((await hasVip(s.node)) !== mine || fs.existsSync(serviceState(s.node)) !== mine) return false;
    }
    return true;
  };
  const until = async (what: string, ms: number, pred: () => Promise<boolean>) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await pred()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${what}: not within ${ms} ms${tails()}`);
  };
  const bothActive = async () => {
    const seen: string[] = [];
    const pred = async () => {
      seen.length = 0;
      for (const [a, b] of [[pref, sec], [sec, pref]] as const) seen.push(`${a.what} says ${b.node.name} is ${await a.peerStatus(b.node)}`);
      return seen.every((l) => l.endsWith(' is active'));
    };
    await until('each side sees the other active', 30_000, pred).catch((e: Error) => {
      throw new Error(`${seen.join('; ')}\n${e.message}`);
    });
  };

  // hbd first, so that both hear each other before comm-up (as heartbeat's own start-up expects).
  await hbd.start();
  await hb.start();
  await bothActive();
  await until(`${pref.what} acquires VIP and service`, 40_000, () => holds(pref));

  await pref.crash();
  await until(`${sec.what} takes over from the killed ${pref.what}`, 30_000, () => holds(sec));

  await pref.start();
  await bothActive();
  await until(`auto_failback on: the group returns to ${pref.what}`, 60_000, () => holds(pref));

  // hb_standby on heartbeat hands over to hbd; `hbd standby` hands over to heartbeat (in the order
  // that starts from the holder).
  for (const [from, to] of role === 'heartbeat-preferred' ? [[hb, hbd], [hbd, hb]] : [[hbd, hb], [hb, hbd]]) {
    await from.standby();
    await until(`standby on ${from.what} hands over to ${to.what}`, 40_000, () => holds(to));
    // Settled: no failback undoing the standby, no second holder.
    await new Promise((r) => setTimeout(r, 2_000));
    assert.ok(await holds(to), `${to.what} still holds the group 2 s after the standby${tails()}`);
  }

  // The group is back on the preferred node; its graceful stop hands over at once.
  await pref.stop();
  await until(`${sec.what} takes over after the graceful stop of ${pref.what}`, 20_000, () => holds(sec));
  await sec.stop();
  assert.ok(await holds(null), `the last node released everything${tails()}`);
  // What heartbeat says of a peer whose packets or messages it does not take; its own shutdown
  // lines and IPaddr's killed background send_arp (a release soon after an acquire) are not that.
  const complaints = hb.log().split('\n').filter((l) => /failed authentication|bad node|replay attack|ERROR|CRIT/.test(l) && !/HBWRITE process died|No working comm channels|Could not send gratuitous arps\. rc=137/.test(l));
  assert.deepEqual(complaints, [], `heartbeat complained${tails()}`);
}

for (const role of ['heartbeat-preferred', 'hbd-preferred'] as const) {
  for (const method of ['sha1', 'md5', 'crc'] as const) {
    test(`${role} (${method}): both active, the preferred node acquires, a killed holder is taken over, auto_failback, hb_standby and hbd standby hand over, a graceful stop hands over`, { skip: skip ?? false, timeout: 300_000 }, async () => {
      await withLab({ nodes: 2, keepOnFailure: true }, (lab) => scenario(lab, role, method));
    });
  }
}
