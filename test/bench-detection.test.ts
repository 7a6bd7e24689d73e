// The pure parts of bench/detection: statistics, the clock offset, reading beats from a capture,
// jitter, the overshoot arithmetic, the start gate, /proc parsing, options and the target verdicts;
// and the log stamper as a real process (no timing asserted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import type { Capture, UdpDatagram } from '../lib/pcap/reader';
import { addControlFields, statusMessage } from '../lib/wire/builders';
import { encode } from '../lib/wire/codec';
import { str } from '../lib/wire/message';
import { analysePair, meanOffset } from '../bench/detection/analyse';
import type { CellResult } from '../bench/detection/cell';
import { killSpreadMs } from '../bench/detection/cell';
import { monoToWall, offsetFromReads } from '../bench/detection/clock';
import { FAST, KEYS, SLOW, steadyBeats, stallLimitMs } from '../bench/detection/config';
import { startBlocked } from '../bench/detection/gate';
import { LineSplitter } from '../bench/detection/log-stamper';
import { parseOptions, selected, UsageError } from '../bench/detection/options';
import type { PairData, TrialRecord } from '../bench/detection/pair';
import { judgeTargets } from '../bench/detection/report';
import { correlate, parseProbe, probeSummary } from '../bench/detection/wake-probe';
import { schedPolicy } from '../bench/detection/sched';
import type { SoakResult } from '../bench/detection/soak';
import { percentile, rounded, summarize } from '../bench/detection/stats';
import { longestGap, sendJitter, statusBeats, type Beat } from '../bench/detection/wire';

test('percentile is nearest-rank: always a sample, p99 of fewer than 100 samples is the maximum', () => {
  const xs = Array.from({ length: 50 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 50), 25);
  assert.equal(percentile(xs, 99), 50);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(hundred, 99), 99);
  assert.equal(percentile([7], 50), 7);
  assert.throws(() => percentile([], 50), /no samples/);
  assert.throws(() => percentile([1], 0), /\(0, 100\]/);
});

test('summarize sorts, handles no samples, refuses non-numbers; rounded keeps nulls', () => {
  assert.deepEqual(summarize([3, 1, 2]), { count: 3, min: 1, p50: 2, p99: 3, max: 3 });
  assert.deepEqual(summarize([]), { count: 0, min: null, p50: null, p99: null, max: null });
  assert.throws(() => summarize([1, Number.NaN]), /not a finite number/);
  assert.deepEqual(rounded({ count: 1, min: 0.12345, p50: null, p99: 1, max: 2.0004 }), { count: 1, min: 0.123, p50: null, p99: 1, max: 2 });
});

test('the clock offset comes from the reads around a Date.now() tick, the tightest bracket winning', () => {
  // The tick to 2001 lies between the second read's start (1000.7) and the third's end (1000.76).
  const reads = [
    { before: 1000.5, wall: 2000, after: 1000.6 },
    { before: 1000.7, wall: 2000, after: 1000.74 },
    { before: 1000.745, wall: 2001, after: 1000.76 },
  ];
  const o = offsetFromReads(reads)!;
  assert.ok(Math.abs(o.offsetMs - 1000.27) < 1e-9, String(o.offsetMs));
  assert.ok(Math.abs(o.uncertaintyMs - 0.03) < 1e-9);
  assert.equal(monoToWall(10, o), 10 + o.offsetMs);
  assert.equal(offsetFromReads(reads.slice(0, 2)), null);
  const mean = meanOffset([{ offsetMs: 5, uncertaintyMs: 0.001 }, { offsetMs: 5.002, uncertaintyMs: 0.001 }]);
  assert.ok(Math.abs(mean.offsetMs - 5.001) < 1e-9 && Math.abs(mean.uncertaintyMs - 0.002) < 1e-9, JSON.stringify(mean));
  assert.throws(() => meanOffset([]), /no clock offset/);
});

function statusPacket(o: { node?: string; seq: number; generation: number; dtMs: number; status?: string; key?: string }): Buffer {
  const msg = addControlFields(statusMessage({ status: o.status ?? 'active', deadtimeMs: o.dtMs, flowControl: true }), {
    node: o.node ?? 'n2',
    uuid: Buffer.alloc(16, 2),
    seq: o.seq,
    generation: o.generation,
    nowSec: 1_700_000_000,
    loadavg: '0.00 0.00 0.00 1/1 1',
    ttl: 3,
  });
  const keys = o.key ? { sendIndex: 1, keys: [{ index: 1, method: 'sha1' as const, key: Buffer.from(o.key) }] } : KEYS;
  return encode(msg, 'netstring+auth', keys);
}

function datagram(frame: number, ms: number, src: string, payload: Buffer): UdpDatagram {
  return { frame, time: { seconds: Math.floor(ms / 1000), nanos: Math.round((ms % 1000) * 1e6) }, src: { address: src, port: 694 }, dst: { address: '198.18.0.255', port: 694 }, payload };
}

test('statusBeats keeps the authenticated statuses of one address, with capture time, generation, seq and dt', () => {
  const other = addControlFields([str('t', 'hbd-other')], { node: 'n2', uuid: Buffer.alloc(16, 2), seq: 3, generation: 4, nowSec: 1, loadavg: '0', ttl: 3 });
  const capture: Capture = {
    kind: 'pcap',
    notes: [],
    datagrams: [
      datagram(1, 1_000.5, '198.18.0.2', statusPacket({ seq: 1, generation: 4, dtMs: 50, status: 'up' })),
      datagram(2, 1_001, '198.18.0.1', statusPacket({ node: 'n1', seq: 9, generation: 1, dtMs: 50 })),
      datagram(3, 1_010.25, '198.18.0.2', statusPacket({ seq: 2, generation: 4, dtMs: 0x32 })),
      datagram(4, 1_011, '198.18.0.2', encode(other, 'netstring+auth', KEYS)),
      datagram(5, 1_012, '198.18.0.2', statusPacket({ seq: 5, generation: 4, dtMs: 50, key: 'wrong' })),
      datagram(6, 1_013, '198.18.0.2', Buffer.from('garbage')),
    ],
  };
  const { beats, rejected } = statusBeats(capture, '198.18.0.2', KEYS);
  assert.deepEqual(
    beats.map((b) => [b.wallMs, b.node, b.generation, b.seq, b.dtMs, b.status]),
    [
      [1_000.5, 'n2', 4, 1, 50, 'up'],
      [1_010.25, 'n2', 4, 2, 50, 'active'],
    ],
  );
  assert.deepEqual(rejected.map((r) => r.frame), [5, 6]);
  assert.match(rejected[0]!.reason, /auth bad-signature/);
});

const beat = (wallMs: number, seq: number, status = 'active'): Beat => ({ wallMs, node: 'n2', generation: 1, seq, dtMs: 50, status });

test('sendJitter skips the extra status of a change and intervals across a missing seq', () => {
  const beats = [beat(0, 1, 'up'), beat(0.4, 2), beat(10.1, 3), beat(20, 4), beat(31, 5), beat(50, 7)];
  const j = sendJitter(beats, 10).map((x) => Number(x.toFixed(6)));
  // up→(skip the change at 0.4)→10.1: 0.1; 10.1→20: 0.1; 20→31: 1; 31→50 spans a lost seq: none.
  assert.deepEqual(j, [0.1, 0.1, 1]);
  assert.equal(longestGap(beats), 19);
  assert.equal(longestGap([]), 0);
});

test('sendJitter keeps a change that coincided with a slot (a keepalive from both neighbours)', () => {
  const beats = [beat(0, 1, 'up'), beat(10.05, 2), beat(20, 3)];
  assert.deepEqual(sendJitter(beats, 10).map((x) => Number(x.toFixed(6))), [0.05, 0.05]);
});

function trial(generation: number, over: Partial<TrialRecord> = {}): TrialRecord {
  return { generation, killMono: 0, death: null, problem: null, survivorFalseDeaths: 0, victimFalseDeaths: 0, survivorStalls: 0, ...over };
}

test('analysePair: overshoot = verdict − last status on the wire − its dt, on one clock', () => {
  const offset = { offsetMs: 1_000_000, uncertaintyMs: 0.001 };
  const gen = (g: number, walls: number[], dtMs = 50): Beat[] => walls.map((w, i) => ({ wallMs: w, node: 'n2', generation: g, seq: i + 1, dtMs, status: 'active' }));
  const data: PairData = {
    trials: [
      // Last beat at wall 1_000_120 → deadline 1_000_170; verdict at mono 170.2 → wall 1_000_170.2.
      trial(1, { killMono: 125, death: { detectedMono: 170.2, deliveredMono: 171, timeoutMs: 50 }, survivorFalseDeaths: 1 }),
      trial(2, { killMono: 300, problem: 'the survivor held the victim dead at the kill', victimFalseDeaths: 2 }),
      trial(3, { killMono: 500, death: { detectedMono: 600, deliveredMono: null, timeoutMs: 40 } }),
      trial(4, { killMono: 700, death: { detectedMono: 800, deliveredMono: null, timeoutMs: null } }),
    ],
    beats: [...gen(1, [1_000_100, 1_000_110, 1_000_120]), ...gen(3, [1_000_490])],
    rejectedDatagrams: 0,
    offsets: [offset],
    captureDrops: 0,
    realtimeThreads: { survivor: 1, victim: 1 },
  };
  const a = analysePair(data, 10);
  assert.equal(a.measures.length, 2);
  assert.ok(Math.abs(a.measures[0]!.overshootMs - 0.2) < 1e-6);
  assert.ok(Math.abs(a.measures[0]!.deliveredOvershootMs! - 1) < 1e-6);
  assert.ok(Math.abs(a.measures[1]!.overshootMs - 60) < 1e-6);
  assert.equal(a.measures[1]!.deliveredOvershootMs, null);
  assert.deepEqual(a.jitterMs, [0, 0]);
  assert.equal(a.survivorFalseDeaths, 1);
  assert.equal(a.victimFalseDeaths, 2);
  assert.equal(a.problems.length, 3);
  assert.match(a.problems[0]!, /generation 2: the survivor held/);
  assert.match(a.problems[1]!, /generation 3: the survivor applied 40 ms, the last status advertised dt 50 ms/);
  assert.match(a.problems[2]!, /generation 4: no status of the victim in the capture/);
});

test('analysePair flags a status on the wire after the kill', () => {
  const data: PairData = {
    trials: [trial(1, { killMono: 100, death: { detectedMono: 200, deliveredMono: null, timeoutMs: 50 } })],
    beats: [{ wallMs: 110, node: 'n2', generation: 1, seq: 1, dtMs: 50, status: 'active' }],
    rejectedDatagrams: 0,
    offsets: [{ offsetMs: 0, uncertaintyMs: 0.001 }],
    captureDrops: null,
    realtimeThreads: { survivor: null, victim: null },
  };
  assert.match(analysePair(data, 10).problems[0]!, /10\.000 ms after the kill/);
});

test('a start-up is blocked while a pending deadline is within the clearance', () => {
  assert.equal(startBlocked(1000, [], 500), false);
  assert.equal(startBlocked(1000, [1600], 500), false);
  assert.equal(startBlocked(1000, [1400], 500), true);
  // Overdue and not yet declared: still blocks.
  assert.equal(startBlocked(1000, [900], 500), true);
});

test('the kill spread covers one beat, or the block period under the block load', () => {
  assert.equal(killSpreadMs({ timing: FAST, load: 'idle' }), 10);
  assert.equal(killSpreadMs({ timing: FAST, load: 'block' }), 1000);
  assert.equal(killSpreadMs({ timing: SLOW, load: 'cpu' }), 1000);
  assert.equal(steadyBeats(FAST), 10);
  assert.equal(steadyBeats(SLOW), 3);
  assert.equal(stallLimitMs(50), 2000);
  assert.equal(stallLimitMs(3000), 12000);
});

test('schedPolicy reads field 41 of a /proc stat line, whatever the command name holds', () => {
  const tail = (policy: number) => `S 1 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 -2 0 3 0 100 1 1 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 1 ${policy} 0 0 0`;
  assert.equal(schedPolicy(`42 (node) ${tail(1)}`), 1);
  assert.equal(schedPolicy(`42 (a) b) c) ${tail(0)}`), 0);
  assert.throws(() => schedPolicy('nonsense'), /not a \/proc stat line/);
  assert.throws(() => schedPolicy('1 (x) S 1'), /no scheduling policy/);
  assert.equal(schedPolicy(fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8')), 0);
});

test('LineSplitter returns complete lines and keeps the unfinished one', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('a\nb'), ['a']);
  assert.deepEqual(s.push('c\n\nd\n'), ['bc', '', 'd']);
  assert.deepEqual(s.push(''), []);
});

test('parseOptions: defaults, --quick, overrides, and refusals that say what is wanted', () => {
  const full = parseOptions([], '/repo');
  assert.deepEqual({ ...full, only: null }, { trials: 50, fastTrials: 100, pairs: 4, soakMin: 10, fastSoakMin: 10, searchMin: 1, quick: false, out: '/repo/bench/results/detection.json', only: null });
  const quick = parseOptions(['--quick'], '/repo');
  assert.equal(quick.trials, 8);
  assert.equal(quick.soakMin, 0.25);
  assert.equal(quick.fastSoakMin, 0.25);
  assert.equal(parseOptions(['--fast-soak-min', '3'], '/repo').fastSoakMin, 3);
  assert.equal(quick.out, '/repo/bench/results/detection-quick.json');
  const o = parseOptions(['--quick', '--trials', '60', '--soak-min', '0', '--only', 'native 10ms', '--out', 'x.json'], '/repo');
  assert.equal(o.trials, 60);
  assert.equal(o.fastTrials, 120);
  assert.equal(o.soakMin, 0);
  assert.equal(o.out, path.resolve('x.json'));
  assert.ok(selected(o, 'native 10ms/50ms idle'));
  assert.ok(!selected(o, 'ts 10ms/50ms idle'));
  assert.ok(selected(full, 'anything'));
  assert.throws(() => parseOptions(['--trials', '0'], '/repo'), (e: Error) => e instanceof UsageError && /--trials needs an integer from 1 to 10000, got "0"/.test(e.message));
  assert.throws(() => parseOptions(['--trials'], '/repo'), /got null/);
  assert.throws(() => parseOptions(['--soak-min', 'ten'], '/repo'), /--soak-min needs a number/);
  assert.throws(() => parseOptions(['--only', '('], '/repo'), /--only needs a regular expression/);
  assert.throws(() => parseOptions(['--fast'], '/repo'), /unknown option "--fast"/);
});

test('judgeTargets: per cell against the issue limits; realtime-off cells and short soaks do not count as met', () => {
  const cell = (survivor: string, realtime: boolean, p99: number | null, label: string) =>
    ({ label, survivor, victim: survivor === 'heartbeat' ? 'native' : survivor, realtime, overshootMs: { count: 1, min: p99, p50: p99, p99, max: p99 } }) as unknown as CellResult & { label: string };
  const cells = [cell('native', true, 0.1, 'a'), cell('native', false, 3, 'b'), cell('ts', false, 6, 'c'), cell('ts', false, 4, 'd'), cell('heartbeat', true, 500, 'e')];
  const none = { count: 0, min: null, p50: null, p99: null, max: null };
  const soak = { kind: 'native', timing: '10ms/50ms', keepaliveMs: 10, deadtimeMs: 50, minutes: 10, falseDeaths: { n1: 0, n2: 0 }, ownStalls: 0, stallStops: 0, lateBeats: 0, linkDeaths: 0, jitterMs: none, longestGapMs: 0, beatsOnWire: 0, captureDrops: 0, realtimeThreads: [], stealMs: 0, stalls: [], deaths: [], probe: null } as SoakResult;
  const [native, ts, soakVerdict] = judgeTargets(cells, soak);
  assert.equal(native!.met, true);
  assert.deepEqual(native!.detail, ['a: p99 0.100 ms met']);
  assert.equal(ts!.met, false);
  assert.equal(ts!.detail.length, 2);
  assert.equal(soakVerdict!.met, true);
  assert.equal(judgeTargets(cells, { ...soak, minutes: 1 })[2]!.met, false);
  assert.equal(judgeTargets(cells, { ...soak, falseDeaths: { n1: 1, n2: 0 } })[2]!.met, false);
  assert.equal(judgeTargets([], null)[0]!.met, null);
  const fast = { ...soak, timing: '2ms/10ms', keepaliveMs: 2, deadtimeMs: 10 };
  assert.equal(judgeTargets(cells, null, fast)[3]!.met, true);
  assert.equal(judgeTargets(cells, null, { ...fast, falseDeaths: { n1: 0, n2: 2 } })[3]!.met, false);
  assert.equal(judgeTargets(cells, null)[3]!.met, null);
});

test('the log stamper prints each line appended to the file, stamped, and exits when its stdin closes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hbd-stamper-'));
  const file = path.join(dir, 'log');
  fs.writeFileSync(file, 'old line\n');
  const child = cp.spawn(process.execPath, [path.join(__dirname, '..', 'bench', 'detection', 'log-stamper.js'), file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: { mono: number; line: string }[] = [];
  const got = new Promise<void>((resolve) => {
    readline.createInterface({ input: child.stdout }).on('line', (t) => {
      lines.push(JSON.parse(t) as { mono: number; line: string });
      if (lines.length === 3) resolve();
    });
  });
  const bounded = setTimeout(() => child.kill('SIGKILL'), 10_000);
  try {
    fs.appendFileSync(file, 'node n2: is ');
    fs.appendFileSync(file, 'dead\nnext\n');
    await Promise.race([got, new Promise((_, reject) => child.once('exit', () => reject(new Error(`stamper exited early with ${JSON.stringify(lines)}`))))]);
    assert.deepEqual(lines.map((l) => l.line), ['old line', 'node n2: is dead', 'next']);
    assert.ok(lines.every((l) => typeof l.mono === 'number' && l.mono > 0));
    assert.ok(lines[1]!.mono >= lines[0]!.mono);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.end();
    assert.equal(await exited, 0);
  } finally {
    clearTimeout(bounded);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('wake probe: its output parsed, each engine stall laid beside the probe on its CPU, the other CPUs and the steal ticks', () => {
  const probe = parseProbe(
    [
      '{"late":{"cpu":1,"mono":1000.0,"lateMs":8.0,"runDelayMs":7.5}}',
      '{"late":{"cpu":0,"mono":2000.0,"lateMs":3.0,"runDelayMs":0.0}}',
      '{"steal":{"mono":960.0,"ticks":[5,10]}}',
      '{"steal":{"mono":1030.0,"ticks":[5,11]}}',
      '{"wakes":[100,100]}',
      '',
    ].join('\n'),
  );
  assert.deepEqual(probe.wakes, [100, 100]);
  const cause = { runDelayMs: 7, involuntary: 0, blockedSleeps: 0, minorFaults: 0, majorFaults: 0, cpu: 1, busyMs: 0.1, sentinelBeats: 0 };
  const [hit, miss] = correlate(
    [
      { node: 'n1', mono: 1001, lateMs: 7.8, cause },
      { node: 'n2', mono: 1500, lateMs: 6, cause: { ...cause, cpu: 0 } },
    ],
    probe,
  );
  assert.deepEqual([hit!.kind, hit!.probeSameCpuMs, hit!.probeOtherCpuMs, hit!.stealTicks], ['cpu-wait', 8, 0, 1]);
  assert.deepEqual([miss!.probeSameCpuMs, miss!.probeOtherCpuMs, miss!.stealTicks], [0, 0, null]);
  const sum = probeSummary(probe);
  assert.deepEqual([sum.over2ms, sum.over5ms, sum.maxMs, sum.runQueueOver1ms], [[1, 1], [0, 1], [3, 8], 1]);
});
