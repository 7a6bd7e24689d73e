// The benchmark report's renderer on fixed sample results: every plot is well-formed SVG, the
// tables carry the numbers of the JSON they came from, and a bench that did not run (or whose JSON
// has another shape) is said so without losing the rest of the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import type { BenchRun, ReportInput } from '../bench/report/model';
import { findSummaries } from '../bench/report/model';
import { num, render } from '../bench/report/render';
import { BENCHES, parseOptions } from '../bench/report/run';
import { axisFor, barChart, ecdfPlot, escapeXml, rangePlot } from '../bench/report/svg';

/** Throws unless `xml` is one well-formed element: quoted attributes, balanced tags, escaped text. */
function assertWellFormed(xml: string, what: string): void {
  const stack: string[] = [];
  let roots = 0;
  let at = 0;
  const text = (s: string) => {
    if (/[<>]/.test(s) || /&(?!(lt|gt|amp|quot|apos|#\d+);)/.test(s)) throw new Error(`${what}: unescaped text ${JSON.stringify(s.slice(0, 60))}`);
    if (stack.length === 0 && s.trim() !== '') throw new Error(`${what}: text outside the root: ${JSON.stringify(s.slice(0, 60))}`);
  };
  for (const m of xml.matchAll(/<[^>]*>/g)) {
    text(xml.slice(at, m.index));
    at = m.index! + m[0].length;
    const tag = m[0];
    const close = /^<\/([\w:-]+)\s*>$/.exec(tag);
    if (close) {
      const open = stack.pop();
      if (open !== close[1]) throw new Error(`${what}: </${close[1]}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    const open = /^<([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(tag);
    if (!open) throw new Error(`${what}: malformed tag ${tag.slice(0, 80)}`);
    const names = [...open[2]!.matchAll(/([\w:-]+)=/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) throw new Error(`${what}: repeated attribute in ${tag.slice(0, 80)}`);
    if (stack.length === 0) roots++;
    if (open[3] !== '/') stack.push(open[1]!);
  }
  text(xml.slice(at));
  assert.equal(stack.length, 0, `${what}: unclosed ${stack.join(', ')}`);
  assert.equal(roots, 1, `${what}: ${roots} root elements`);
}

const summary = (min: number, p50: number, p99: number, max: number, count = 4) => ({ count, min, p50, p99, max });

const DETECTION = {
  method: ['Lab: two namespaces <and> a bridge & a capture.'],
  loads: { idle: 'no load on purpose', cpu: '2 spinning processes' },
  notMeasured: { native: null, heartbeat: null },
  cells: [
    { label: 'native 10ms/50ms idle', survivor: 'native', victim: 'native', timing: '10ms/50ms', load: 'idle', realtime: true, trialsRun: 4, overshootMs: summary(0.028, 0.055, 0.127, 0.263), jitterMs: summary(0, 0.022, 0.169, 0.268, 80), falseDeaths: { survivor: 0, victim: 0 }, overshootSamplesMs: [0.028, 0.055, 0.127, 0.263] },
    { label: 'ts 10ms/50ms cpu', survivor: 'ts', victim: 'ts', timing: '10ms/50ms', load: 'cpu', realtime: true, trialsRun: 4, overshootMs: summary(0.157, 1.005, 5.403, 5.591), jitterMs: summary(0, 1.297, 7.706, 38.234, 80), falseDeaths: { survivor: 1, victim: 2 }, overshootSamplesMs: [0.157, 1.005, 5.403, 5.591] },
    { label: 'heartbeat←native 1s/3s idle', survivor: 'heartbeat', victim: 'native', timing: '1s/3s', load: 'idle', realtime: true, trialsRun: 3, overshootMs: summary(651, 717, 886, 886, 3), jitterMs: summary(0.05, 0.08, 0.2, 0.2, 9), falseDeaths: { survivor: 0, victim: 0 }, overshootSamplesMs: [651, 717, 886] },
  ],
  soak: { kind: 'native', timing: '10ms/50ms', minutes: 0.25, falseDeaths: { n1: 0, n2: 0 }, longestGapMs: 18.075, beatsOnWire: 3000, jitterMs: summary(0, 0.01, 0.08, 8.137, 3000) },
  search: null,
  targets: [{ target: 'native p99 overshoot ≤ 0.5 ms', met: true, detail: ['native 10ms/50ms idle: p99 0.127 ms met'] }, { target: 'zero false deaths in 10 minutes', met: false, detail: [] }],
};

const TAKEOVER = { trials: 4, keepaliveMs: 50, deadtimeMs: 300, method: 'two engines\n  present = added − dead\n sourceMappingURL=run.js.map', results: { idle: { present: summary(0.106, 0.15, 0.189, 0.189), wire: summary(0.118, 0.169, 0.21, 0.21), wireMissing: 0 } } };

const VIP_TAKEOVER = {
  method: ['VIP takeover in the lab'],
  systems: [
    { system: 'keepalived', version: '2.2.7', timing: 'advert_int 10 ms', trials: 4, notMeasured: null, presentAfterKillMs: summary(40.2, 44.4, 60.1, 60.1), wireAfterKillMs: summary(39.9, 44.1, 59.8, 59.8), wirePastDeadlineMs: summary(1.1, 2.2, 3.3, 3.3), samples: [{ presentAfterKillMs: 40.2, wireAfterKillMs: 39.9, wirePastDeadlineMs: 1.1 }] },
    { system: 'heartbeat 3.0.6', version: '3.0.6', timing: 'keepalive 100 ms, deadtime 500 ms', trials: 4, notMeasured: null, presentAfterKillMs: summary(800, 900, 1000, 1000), wireAfterKillMs: summary(801, 901, 1001, 1001), wirePastDeadlineMs: summary(400, 450, 600, 600), samples: [] },
    { system: 'hbd TS', version: null, timing: 'keepalive 100 ms, deadtime 500 ms', trials: 4, notMeasured: 'the measurement failed: no single holder', samples: [] },
  ],
};

const FOOTPRINT = {
  keepaliveMs: 100,
  deadtimeMs: 1000,
  seconds: 10,
  method: ['utime+stime of every process of the node'],
  systems: [
    { system: 'hbd native', notMeasured: null, nodes: [{ node: 'n1', cpuPct: 1.25, rssKiB: 61440, pssKiB: 55296, processes: 1 }, { node: 'n2', cpuPct: 1.5, rssKiB: 62464, pssKiB: null, processes: 1 }] },
    { system: 'keepalived', notMeasured: 'keepalived is not installed', nodes: [] },
  ],
};

function run(name: string, json: unknown, over: Partial<BenchRun> = {}): BenchRun {
  return { name, command: `node dist/bench/${name}/run.js --quick`, status: 'ok', reason: null, seconds: 12.4, loadBefore: [1, 2, 3], loadAfter: [2.5, 2, 3], json, jsonFile: `results/report/${name}.json`, ...over };
}

const INPUT: ReportInput = {
  date: '2026-12-02T04:00:00.000Z',
  quick: true,
  seconds: 321,
  machine: { nproc: 2, cpuModel: 'AMD EPYC', kernel: '6.18.44', preemption: 'PREEMPT_NONE', node: 'v20.20.2', memoryGiB: 24 },
  uptimeBefore: 'load average: 4.00, 3.00, 2.00',
  uptimeAfter: 'load average: 5.00, 3.00, 2.00',
  stealMs: 120,
  runs: [
    run('detection', DETECTION),
    run('takeover', TAKEOVER),
    run('vip-takeover', VIP_TAKEOVER),
    run('failover', null, { status: 'not run', reason: 'dist/bench/failover/run.js is not in this tree (bench/failover is on another branch)', jsonFile: null, seconds: null }),
    run('footprint', FOOTPRINT),
    run('flood', null, { status: 'failed', reason: 'exit code 1\nbench/flood: the native addon is needed', json: null }),
    run('codec', { method: {}, results: 'not an array' }),
  ],
};

/** The markdown table row whose first cells are `first`. */
function rowOf(md: string, ...first: string[]): string[] {
  const rows = md.split('\n').filter((l) => l.startsWith('| ')).map((l) => l.slice(2, -2).split(' | '));
  const hit = rows.find((r) => first.every((f, i) => r[i] === f));
  assert.ok(hit, `no row starting ${first.join(' | ')}`);
  return hit;
}

test('every plot of the report is well-formed SVG and each one is linked from the markdown', () => {
  const { markdown, plots } = render(INPUT);
  assert.ok(plots.size >= 6, `plots: ${[...plots.keys()].join(', ')}`);
  for (const [file, svg] of plots) {
    assert.match(file, /^[\w-]+\.svg$/);
    assertWellFormed(svg, file);
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), file);
    assert.ok(markdown.includes(`](plots/${file})`), `${file} is not linked`);
  }
  for (const f of ['overshoot-idle.svg', 'overshoot-cpu.svg', 'jitter.svg', 'false-deaths.svg', 'takeover.svg', 'takeover-after-kill.svg', 'cpu.svg', 'rss.svg']) assert.ok(plots.has(f), f);
  assert.match(plots.get('jitter.svg')!, />hbd native 1s\/3s idle \(vs heartbeat 3\.0\.6\)</, "a heartbeat cell's jitter is its hbd victim's");
});

test("the tables carry the JSON's numbers", () => {
  const { markdown } = render(INPUT);
  assert.deepEqual(rowOf(markdown, 'hbd native', '10ms/50ms', 'idle'), ['hbd native', '10ms/50ms', 'idle', '4/4', '0.028 / 0.055 / 0.127 / 0.263', '0.022 / 0.169 / 0.268', '0 / 0']);
  assert.deepEqual(rowOf(markdown, 'hbd TS', '10ms/50ms', 'cpu').slice(4), ['0.157 / 1.005 / 5.403 / 5.591', '1.297 / 7.706 / 38.234', '1 / 2']);
  assert.deepEqual(rowOf(markdown, 'heartbeat 3.0.6 (victim: hbd native)', '1s/3s', 'idle').slice(3, 5), ['3/3', '651 / 717 / 886 / 886']);
  assert.deepEqual(rowOf(markdown, 'idle'), ['idle', '0.106 / 0.15 / 0.189 / 0.189', '0.118 / 0.169 / 0.21 / 0.21', '0']);
  assert.deepEqual(rowOf(markdown, 'keepalived 2.2.7'), ['keepalived 2.2.7', 'advert_int 10 ms', '4/4', '40.2 / 44.4 / 60.1 / 60.1', '39.9 / 44.1 / 59.8 / 59.8', '1.1 / 2.2 / 3.3 / 3.3']);
  assert.deepEqual(rowOf(markdown, 'heartbeat 3.0.6', 'keepalive 100 ms, deadtime 500 ms').slice(5), ['400 / 450 / 600 / 600']);
  assert.match(rowOf(markdown, 'hbd TS', 'keepalive 100 ms, deadtime 500 ms')[3]!, /^not measured: the measurement failed: no single holder$/);
  assert.match(markdown, /- keepalived: 40\.2 \/ 39\.9 \/ 1\.1\n/);
  assert.deepEqual(rowOf(markdown, 'hbd native', 'n1'), ['hbd native', 'n1', '1.25', '60', '54', '1']);
  assert.deepEqual(rowOf(markdown, 'hbd native', 'n2').slice(2, 5), ['1.5', '61', '-']);
  assert.match(rowOf(markdown, 'keepalived', '-')[2]!, /not measured: keepalived is not installed/);
  assert.deepEqual(rowOf(markdown, 'hbd native', '10ms/50ms', '0.25'), ['hbd native', '10ms/50ms', '0.25', 'n1: 0, n2: 0', '18.075', '3000', '0.01 / 0.08 / 8.137']);
  assert.match(markdown, /- native p99 overshoot ≤ 0\.5 ms: \*\*met\*\* \(native 10ms\/50ms idle: p99 0\.127 ms met\)\n- zero false deaths in 10 minutes: \*\*NOT met\*\*\n/);
  assert.match(markdown, /- native 10ms\/50ms idle: 0\.028, 0\.055, 0\.127, 0\.263/);
  assert.match(markdown, /load before: `load average: 4\.00, 3\.00, 2\.00`/);
  assert.match(markdown, /shared with other work/);
  assert.match(markdown, /load average reached 2\.5 on 2 cores during this run/);
  assert.match(markdown, /```\ntwo engines\n  present = added − dead\n```/);
  assert.doesNotMatch(markdown, /sourceMappingURL/);
  assert.deepEqual(rowOf(markdown, 'detection').slice(1, 5), ['ran', '12', '1.00, 2.00, 3.00 → 2.50, 2.00, 3.00', '[results/report/detection.json](results/report/detection.json)']);
});

test('a bench that did not run, failed, or wrote another shape is said so and the rest stands', () => {
  const { markdown } = render(INPUT);
  assert.match(markdown, /\*\*bench\/failover: not run: dist\/bench\/failover\/run\.js is not in this tree/);
  assert.match(rowOf(markdown, 'failover')[1]!, /^not run: /);
  assert.match(markdown, /\*\*bench\/flood: failed: exit code 1\*\*\n\n```\nbench\/flood: the native addon is needed\n```/);
  assert.match(markdown, /\*\*bench\/codec: its JSON could not be read \(/);
  assert.match(markdown, /\*\*bench\/resources: not run: not part of this run\*\*/);
  // Text from the JSON is escaped in the SVG, not in the markdown.
  assert.match(markdown, /- Lab: two namespaces <and> a bridge & a capture\./);
});

test('an ECDF has one step per sample, rising left to right', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0.001, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 40 }), (values) => {
      const svg = ecdfPlot('t', 'x', [{ name: 's', values }]);
      assertWellFormed(svg, 'ecdf');
      const pts = /<polyline[^>]* points="([^"]+)"/.exec(svg)![1]!.split(' ').map((p) => p.split(',').map(Number));
      assert.equal(pts.length, 2 * values.length + 1);
      for (let i = 1; i < pts.length; i++) {
        assert.ok(pts[i]![0]! >= pts[i - 1]![0]! - 1e-9, 'x never goes back');
        assert.ok(pts[i]![1]! <= pts[i - 1]![1]! + 1e-9, 'the fraction never falls');
      }
    }),
    { numRuns: 50 },
  );
});

test('axes: decades when the data spans them, a round linear scale otherwise; range and bar plots with missing values', () => {
  assert.deepEqual(axisFor([0.03, 886], true), { lo: 0.01, hi: 1000, log: true, ticks: [0.01, 0.1, 1, 10, 100, 1000] });
  assert.deepEqual(axisFor([1.2, 4.4], true).ticks, [0, 1, 2, 3, 4, 5]);
  assert.equal(axisFor([0, 5], true).log, false, 'a zero cannot go on a log axis');
  assert.deepEqual(axisFor([-0.3, 0.7], true), { lo: -0.5, hi: 1, log: false, ticks: [-0.5, -0.2, 0.1, 0.4, 0.7, 1] });
  const range = rangePlot('r', 'ms', [{ label: 'a <b>', min: null, p50: null, p99: null, max: null }, { label: 'c', min: 1, p50: 2, p99: 3, max: 4 }]);
  assertWellFormed(range, 'range');
  assert.match(range, /a &lt;b&gt;/);
  assert.match(range, /no samples/);
  const bars = barChart('b', 'y', [{ label: 'g', bars: [{ name: 'x', value: null }, { name: 'y', value: 2.5 }] }]);
  assertWellFormed(bars, 'bars');
  assert.match(bars, />n\/a</);
  assert.match(bars, />2\.5</);
  assert.equal(escapeXml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  assert.equal(num(0.30000000000000004), '0.3');
  assert.equal(num(null), '-');
  assert.deepEqual(findSummaries({ a: { b: summary(1, 2, 3, 4) }, c: [summary(5, 6, 7, 8)] }).map((f) => f.path), ['a.b', 'c.0']);
});

test('npm run bench options: --quick, --only with known names, --render-only; anything else is refused with the usage', () => {
  assert.deepEqual(parseOptions([]), { quick: false, only: null, renderOnly: false });
  assert.deepEqual(parseOptions(['--quick', '--only', 'detection,vip-takeover']), { quick: true, only: ['detection', 'vip-takeover'], renderOnly: false });
  assert.deepEqual(parseOptions(['--render-only']), { quick: false, only: null, renderOnly: true });
  assert.throws(() => parseOptions(['--only', 'detection,nonesuch']), /--only needs bench names from codec, detection, .*, got nonesuch\nusage:/);
  assert.throws(() => parseOptions(['--only']), /--only needs bench names/);
  assert.throws(() => parseOptions(['--fast']), /unknown option "--fast"\nusage:/);
  // Every bench writes where the report reads, quick or not; failover is run by name though it lives on another branch.
  for (const b of BENCHES) for (const q of [true, false]) assert.equal(b.args(q, '/x/out.json').at(-1), '/x/out.json', b.name);
  assert.ok(BENCHES.some((b) => b.name === 'failover'));
});
