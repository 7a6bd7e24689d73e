// Hostile traffic at the heartbeat port, for each transport (netns lab): n2 restarts (a new
// generation), then a third namespace floods n1 at 100 000 packets/s with garbage, unsigned and
// wrong-key packets, truncated genuine ones and genuine packets of n2's previous generation (a
// capture replayed after n2 restarted); then a burst of oversized datagrams and heartbeat's
// compressed message inflating to 60 MiB, signed with the cluster key. n1 must keep beating and
// judging, refuse the replays as replays, report a few counted summaries, never inflate the bomb
// and keep its memory flat. CPU, drop rate and memory are reported (t.diagnostic; measured runs of
// both transports in bench/flood/README.md); only what must hold is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadNative } from '../lib/native';
import type { AuthKeys } from '../lib/wire/types';
import { labSkipReason } from './lab/env';
import { haLogPath, logOf } from './lab/ha-log';
import { withLab } from './lab/lab';
import type { LabProcess } from './lab/process';
import { Drivers, type DriverHandle, type DriverLine } from './support/driver-client';
import { badPayloads, BOMB_INFLATED_BYTES, busiestThread, compressedBomb, flood, floodSender, oversizedPayloads, processUsage, rcvbufErrors, replayedPayloads, threadSched, truncatedPayloads } from './support/flood';
import type { DriverConfig } from './support/transport-driver';
import { twoNodeConfig } from './support/two-node-config';

type Kind = 'native' | 'ts';

const KEEPALIVE = 100;
const DEADTIME = 1000;
const WAIT = 10_000;
const FLOOD_SECONDS = 5;
const FLOOD_RATE = 100_000;
const SOURCES = 4;
const SECRET = 'hostile-secret';
const KEYS: AuthKeys = { sendIndex: 1, keys: [{ index: 1, method: 'sha1', key: Buffer.from(SECRET) }] };
/** RSS growth allowed for a step of the attack: far below one inflated bomb (60 MiB). */
const RSS_SLACK_BYTES = 24 * 1024 * 1024;

function config(kind: Kind, i: number, generation: number): Omit<DriverConfig, 'control'> {
  return { ...twoNodeConfig(i, { keepaliveMs: KEEPALIVE, deadtimeMs: DEADTIME, secret: SECRET }), kind, generation };
}

function skipFor(kind: Kind): string | false {
  const lab = labSkipReason();
  if (lab) return lab;
  if (kind === 'native') {
    const load = loadNative({ HBD_TRANSPORT: 'auto', HBD_REQUIRE_NATIVE: process.env.HBD_REQUIRE_NATIVE });
    if (!load.binding) return load.reason ?? 'native addon not loaded';
  }
  const sender = floodSender();
  return 'skip' in sender ? sender.skip : false;
}

const of = (type: string, node?: string) => (l: DriverLine) => l.type === type && (node === undefined || l.node === node);

async function settle(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The TypeScript transport's packet core has a thread of its own (lib/transport/udp-worker.ts) and
 * refuses a flood's packets before parsing them (lib/wire/preauth.ts, replay-memo.ts), but node:dgram
 * still hands it every datagram in a JavaScript callback of its own (one recvmsg each, no recvmmsg,
 * a fresh 64 KiB buffer each): about 5.5 µs per datagram in the kernel and node:dgram before hbd
 * looks at it, then 3-4 µs of hbd's checks on this mix (measured with the core on an idle CPU).
 * Under the lab's flood both nodes are flooded (the broadcast address) while two senders run on the
 * same two cores, so each core thread gets a fraction of a CPU. Measured
 * on branch tsflood (2026-12-02, shared 2-core VM, load average 3-10): n1's beats left on time
 * (largest gap on the wire 108-125 ms), but its core's thread waited for a CPU 37-74 % of the
 * flood (schedstat), the kernel dropped 7-31 % of the datagrams at its socket (RcvbufErrors), the
 * peers' statuses with them, and in 4 of 8 runs n2 saw a gap of 543-670 ms between n1's statuses
 * (bound: 500 ms); the daemons passed 5 of 5 at 29-71k packets/s, short of the 100k asked for. Not
 * a fault in the packet path but the CPU share JavaScript needs at this rate: both floods run and
 * report as todos for this transport.
 */
const TODO: Record<Kind, string | undefined> = {
  native: undefined,
  ts: "the TypeScript packet core needs most of a core at 100k packets/s, and the lab's flood leaves it a fraction: the kernel drops the peer's statuses with the flood",
};

for (const kind of ['native', 'ts'] as const) {
  test(`hostile traffic at 100k packets/s, replays after a restart, oversized and compressed packets (${kind} transport)`, { skip: skipFor(kind), todo: TODO[kind], timeout: 180_000 }, (t) =>
    withLab({ nodes: 3 }, async (lab) => {
      const drivers = new Drivers(lab);
      try {
        const a = await drivers.start(1, config(kind, 1, 1));
        let b: DriverHandle = await drivers.start(2, config(kind, 2, 1));
        await Promise.all([a.waitForEvent('peer-up', { node: 'n2' }, WAIT), b.waitForEvent('peer-up', { node: 'n1' }, WAIT)]);
        // n2 restarts: what was captured of generation 1 is a replay from now on.
        b.close();
        await b.process.exitWithin(5_000);
        b = await drivers.start(2, config(kind, 2, 2));
        await a.waitForEvent('peer-restart', { node: 'n2', generation: 2 }, WAIT);
        await b.waitFor('a few statuses from n1', () => b.all('status', of('status', 'n1')).length >= 5, WAIT);
        await settle(500);

        const pid = a.process.pid;
        const before = processUsage(pid);
        const schedBefore = threadSched(pid);
        const dropsBefore = await rcvbufErrors(lab, 1);
        const fromA = a.lines.length;
        const fromB = b.lines.length;
        const sender = (floodSender() as { path: string }).path;
        // The segment's broadcast address: both transports listen there on a bcast medium (n2 gets it too).
        const target = lab.node(1).broadcast(0);
        const payloads = [...badPayloads('n2'), ...truncatedPayloads(KEYS, 'n2', 2), ...replayedPayloads(KEYS, 'n2', 1)];
        const samples: number[] = [];
        const sampler = setInterval(() => samples.push(processUsage(pid).rss), 250);
        let r: Awaited<ReturnType<typeof flood>>;
        try {
          r = await flood(lab, sender, 3, target, 694, payloads, { seconds: FLOOD_SECONDS, rate: FLOOD_RATE, sources: SOURCES, processes: 2 });
        } finally {
          clearInterval(sampler);
        }
        const during = processUsage(pid);
        const thread = busiestThread(schedBefore, threadSched(pid), r.seconds);
        const dropsFlood = (await rcvbufErrors(lab, 1)) - dropsBefore;
        // Big datagrams: fewer, they are bytes-bound. The bomb alone, so that its summaries say its reason.
        const oversized = await flood(lab, sender, 3, target, 694, oversizedPayloads('n2'), { seconds: 1.5, rate: 2_000, sources: 1 });
        await settle(1500); // the last summaries come a second after a flood
        const beforeBomb = processUsage(pid);
        const fromBomb = a.lines.length;
        const bomb = await flood(lab, sender, 3, target, 694, [compressedBomb(KEYS)], { seconds: 1.5, rate: 1_000, sources: 1 });
        const big = { sent: oversized.sent + bomb.sent };
        await settle(1500);
        const after = processUsage(pid);
        const mib = (n: number) => (n / 2 ** 20).toFixed(1);
        const half = Math.floor(samples.length / 2);
        const firstHalf = Math.max(before.rss, ...samples.slice(0, half));
        const secondHalf = Math.max(...samples.slice(half));

        const seen = a.lines.slice(fromA);
        const fails = seen.filter(of('auth-fail'));
        t.diagnostic(`${kind}: reasons: ${JSON.stringify([...new Set(fails.map((l) => l.reason))])}`);
        const counted = fails.reduce((n, l) => n + (l.count as number), 0);
        const cpuPct = ((during.cpu - before.cpu) / r.seconds) * 100;
        const handled = Math.min(1, counted / (r.sent + big.sent));
        t.diagnostic(
          `${kind}: flood ${r.sent} packets in ${r.seconds.toFixed(2)} s = ${Math.round(r.rate)}/s; then ${big.sent} big ones; n1 CPU ${cpuPct.toFixed(0)} % of a core during the flood (its busiest thread ran ${thread.runPct} % and waited for a CPU ${thread.waitPct} % of it); ` +
            `kernel receive-buffer drops ${dropsFlood} (${((dropsFlood / r.sent) * 100).toFixed(1)} % of the flood); ${counted} packets counted in ${fails.length} summaries (${((1 - handled) * 100).toFixed(1)} % not judged); ` +
            `RSS ${mib(before.rss)} MiB before, peak ${mib(firstHalf)} / ${mib(secondHalf)} MiB in the flood's first / second half, ${mib(beforeBomb.rss)} before the bomb, ${mib(after.rss)} after`,
        );

        // n1 kept beating: n2 heard it all along…
        const beats = b.lines.slice(fromB).filter(of('status', 'n1')).map((l) => l.mono as number);
        const gaps = beats.slice(1).map((m, i) => m - beats[i]!);
        const maxGap = Math.max(...gaps);
        t.diagnostic(`${kind}: n1's statuses at n2 during the attack: ${beats.length}, largest gap ${maxGap.toFixed(1)} ms (keepalive ${KEEPALIVE} ms)`);
        assert.ok(beats.length >= ((FLOOD_SECONDS + 2) * 1000) / KEEPALIVE / 2, `n2 heard ${beats.length} statuses from n1`);
        assert.ok(maxGap < DEADTIME / 2, `a gap of ${maxGap.toFixed(1)} ms between n1's statuses`);
        // …and judged: no death, no stall, n2 still heard, and the replays moved nothing.
        for (const h of [a, b]) assert.deepEqual(h.lines.filter((l) => l.type === 'peer-dead' || l.type === 'stall-stop'), [], `${h.name}: no peer-dead, no stall-stop`);
        assert.ok(seen.filter(of('status', 'n2')).length >= beats.length / 2, 'n1 kept hearing n2');
        assert.deepEqual(seen.filter((l) => ['replay', 'peer-restart', 'peer-up'].includes(l.type)), [], 'replays of generation 1 change nothing and are not reported one by one');
        assert.ok(fails.some((l) => l.node === 'n2' && /^replayed packet of an older generation \[gen = 1, curgen = 2\]$/.test(String(l.reason))), 'the replays are counted as such');
        assert.deepEqual(
          seen.filter((l) => l.type === 'message' || (l.type === 'status' && l.generation !== 2)),
          [],
          'no replayed, truncated or compressed packet was accepted',
        );

        // Counted and summarised: one report per source and second, nothing per packet.
        assert.ok(fails.length <= SOURCES * 2 * (FLOOD_SECONDS + 4) + 6, `${fails.length} auth-fail reports`);
        assert.ok(counted >= 10_000, `the reports count ${counted} refused packets`);
        const other = seen.filter((l) => !['auth-fail', 'status', 'peer-late', 'link-up', 'link-dead', 'own-stall', 'warning'].includes(l.type));
        assert.deepEqual(other, [], 'no other events');
        assert.ok(seen.filter((l) => l.type !== 'status' && l.type !== 'auth-fail').length <= 20, 'a few liveness notes at most');

        // The bomb was refused unopened, and memory stayed flat.
        const bombFails = a.lines.slice(fromBomb).filter(of('auth-fail'));
        assert.ok(bomb.sent > 0 && bombFails.length > 0 && bombFails.every((l) => l.reason === 'no src field'), `the compressed message was refused unopened (heartbeat sends it without control fields): ${JSON.stringify(bombFails.slice(0, 3))}`);
        // Flat: no growth with the packets received (the second half of the flood adds nothing to the
        // first's peak, which holds V8's young generation filling up on the TypeScript transport), and
        // the bomb adds far less than one inflated copy.
        assert.ok(secondHalf - firstHalf < RSS_SLACK_BYTES, `RSS still grew in the flood's second half: ${mib(firstHalf)} → ${mib(secondHalf)} MiB`);
        assert.ok(after.rss - beforeBomb.rss < RSS_SLACK_BYTES, `RSS grew by ${mib(after.rss - beforeBomb.rss)} MiB with the bomb (${mib(BOMB_INFLATED_BYTES)} MiB would be one inflated copy)`);
        if (kind === 'native') assert.ok(after.rss - before.rss < RSS_SLACK_BYTES, `the engine's RSS grew by ${mib(after.rss - before.rss)} MiB over the attack`);
      } finally {
        drivers.closeAll();
      }
    }));
}

for (const kind of ['native', 'ts'] as const) {
  test(`hbd daemons under a 10 s flood with replays of a restarted peer (${kind} transport): no failover, a short log with counts`, { skip: skipFor(kind), todo: TODO[kind], timeout: 180_000 }, (t) =>
    withLab({ nodes: 3 }, async (lab) => {
      const names = [1, 2].map((i) => lab.node(i).name);
      const env = kind === 'native' ? { HBD_TRANSPORT: 'native', HBD_REQUIRE_NATIVE: '1' } : { HBD_TRANSPORT: 'auto', HBD_ADDON_DIR: '/nonexistent-hbd-addon', HBD_REQUIRE_NATIVE: '0' };
      const start = (i: number) => {
        const node = lab.node(i);
        return node.spawn([...node.hbdArgv('start'), '--no-stderr'], { env, logFile: haLogPath(node), name: `hbd-${kind}` });
      };
      const procs: LabProcess[] = [];
      try {
        for (const i of [1, 2]) {
          const node = lab.node(i);
          const cf = [`logfile ${haLogPath(node)}`, 'keepalive 100ms', 'deadtime 1000ms', 'warntime 500ms', 'initdead 3000ms', 'udpport 694', 'bcast eth0', 'auto_failback on', 'realtime off', ...names.map((n) => `node ${n}`), ''].join('\n');
          node.writeConfig({ haCf: cf, authkeys: `auth 1\n1 sha1 ${SECRET}\n`, haresources: '' });
          procs.push(await start(i));
        }
        for (const [i, p] of procs.entries()) await p.waitFor(new RegExp(`Status update for node ${names[1 - i]}: status active`), 20_000);
        // n2 restarts: its packets of the generation before are what an attacker captured.
        const oldGeneration = Number(fs.readFileSync(path.join(lab.node(2).dirs.state, 'hb_generation'), 'latin1').trim());
        await procs[1]!.stop();
        procs[1] = await start(2);
        await procs[0]!.waitFor(new RegExp(`Heartbeat restart on node ${names[1]}`), 20_000);
        await procs[0]!.waitFor(new RegExp(`Status update for node ${names[1]}: status active[\\s\\S]*Status update for node ${names[1]}: status active`), 20_000);
        await settle(1000);
        const before = logOf(lab.node(1)).split('\n').length;
        const payloads = [...badPayloads(names[1]!), ...truncatedPayloads(KEYS, names[1]!, oldGeneration + 1), ...replayedPayloads(KEYS, names[1]!, oldGeneration)];
        const r = await flood(lab, (floodSender() as { path: string }).path, 3, lab.node(1).broadcast(0), 694, payloads, { seconds: 10, rate: FLOOD_RATE, sources: SOURCES, processes: 2 });
        await settle(1500);
        const added = logOf(lab.node(1)).split('\n').slice(before - 1).filter((l) => l.trim() !== '');
        t.diagnostic(`${kind}: flood ${Math.round(r.rate)} packets/s for ${r.seconds.toFixed(1)} s; n1 logged ${added.length} lines`);
        assert.ok(added.length <= 2000, `n1 logged ${added.length} lines for a 10 s flood`);
        // The bad packets' reports: at most 10 a minute, the rest summed up when the minute ends.
        const reports = added.filter((l) => /failed authentication|bad node|attempted replay attack|hbd: \d+ packets? (in 1 s )?from/.test(l));
        assert.ok(reports.length <= 10, `n1 logged ${reports.length} reports:\n${reports.slice(0, 20).join('\n')}`);
        assert.ok(reports.some((l) => /attempted replay attack/.test(l)), 'the replays are reported as such');
        assert.ok(added.some((l) => /\(\d+ packets in 1 s from /.test(l)), 'the reports carry their counts');
        for (const i of [1, 2]) assert.doesNotMatch(logOf(lab.node(i)), /is dead|unresponsive/, `${names[i - 1]}: no failover`);
      } finally {
        await Promise.all(procs.map((p) => p.stop()));
      }
    }));
}
