// bench/REPORT.md and its plots from one run's results: pure (input in, text out), so the test
// renders fixed sample JSON and checks the tables against it.
import type { Summary } from '../detection/stats';
import type {
  BenchRun,
  CodecJson,
  DetectionCell,
  DetectionJson,
  DetectionSoak,
  FloodJson,
  FootprintJson,
  ReportInput,
  ResourcesJson,
  TakeoverJson,
  VipTakeoverJson,
} from './model';
import { findSummaries } from './model';
import { barChart, ecdfPlot, rangePlot, type RangeRow } from './svg';

export interface Rendered {
  readonly markdown: string;
  /** File name (in bench/plots/) → SVG text. */
  readonly plots: ReadonlyMap<string, string>;
}

/** Number text for tables: '-' for none, up to `digits` decimals without trailing zeros. */
export function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return String(Number(v.toFixed(digits)));
}

const triple = (s: Summary | null | undefined): string => (s ? `${num(s.p50)} / ${num(s.p99)} / ${num(s.max)}` : '-');
const quad = (s: Summary | null | undefined): string => (s ? `${num(s.min)} / ${triple(s)}` : '-');
const loadText = (l: readonly number[] | null): string => (l ? l.map((x) => x.toFixed(2)).join(', ') : '?');
const row = (cells: readonly (string | number)[]): string => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;

function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  return [row(head), row(head.map(() => '---')), ...rows.map(row)];
}

/** Systems and transports are named as the issue names them. */
export function systemName(survivor: string): string {
  return { native: 'hbd native', ts: 'hbd TS', heartbeat: 'heartbeat 3.0.6' }[survivor] ?? survivor;
}

class Builder {
  readonly lines: string[] = [];
  readonly plots = new Map<string, string>();

  add(...lines: string[]): void {
    this.lines.push(...lines);
  }

  plot(file: string, svg: string, alt: string): void {
    this.plots.set(file, svg);
    this.lines.push(`![${alt}](plots/${file})`, '');
  }
}

function notRun(b: Builder, run: BenchRun | undefined, name: string): boolean {
  if (run && run.status === 'ok' && run.json !== null) return false;
  const why = run ? (run.status === 'failed' ? `failed: ${run.reason ?? 'no reason given'}` : `not run: ${run.reason ?? 'no reason given'}`) : 'not run: not part of this run';
  b.add(`**${name}: ${why.split('\n')[0]}**`, '');
  if (run?.reason && run.reason.includes('\n')) b.add('```', ...run.reason.split('\n').slice(1, 20), '```', '');
  return true;
}

/** Guards one section: a result the report cannot read is said so, the rest of the report stands. */
function section(b: Builder, what: string, fn: () => void): void {
  const mark = b.lines.length;
  try {
    fn();
  } catch (e) {
    b.lines.length = mark;
    b.add(`**${what}: its JSON could not be read (${(e as Error).message}).**`, '');
  }
}

function methodList(b: Builder, method: readonly string[] | string): void {
  b.add('<details><summary>Method (as the bench recorded it)</summary>', '');
  // A string is a bench's own comment block, wrapped as it was written (minus the compiler's trailer).
  if (typeof method === 'string') b.add('```', ...method.split('\n').filter((l) => !/sourceMappingURL=/.test(l)), '```');
  else for (const m of method) b.add(`- ${m}`);
  b.add('', '</details>', '');
}

/** What the load averages say about the run, when they say something. */
function loadNote(input: ReportInput): string[] {
  const peak = Math.max(0, ...input.runs.flatMap((r) => [...(r.loadBefore ?? []).slice(0, 1), ...(r.loadAfter ?? []).slice(0, 1)]));
  if (peak < input.machine.nproc) return [];
  return [
    `The 1-minute load average reached ${peak.toFixed(1)} on ${input.machine.nproc} cores during this run: other work competed for the CPU throughout, so the TypeScript transport, heartbeat and anything else without realtime priority had to wait for a core; the native engine runs SCHED_FIFO. Compare systems within this report, not with runs on another machine or at another load.`,
    '',
  ];
}

function detection(b: Builder, run: BenchRun | undefined): void {
  b.add('## Failure detection', '');
  if (notRun(b, run, 'bench/detection')) return;
  section(b, 'bench/detection', () => {
    const d = run!.json as DetectionJson;
    b.add(
      "Overshoot = the survivor's peer-dead verdict − the victim's last status on the wire − the deadtime that status advertised (ms). " +
        "Jitter = |interval − keepalive| between the victim's statuses on the wire. False deaths = a node declared dead that was not killed (survivor / victim).",
      '',
    );
    for (const [who, why] of Object.entries(d.notMeasured ?? {})) if (why) b.add(`- ${who} not measured: ${why}`);
    b.add(
      ...table(
        ['survivor (judging)', 'timing', 'load', 'trials', 'overshoot ms min / p50 / p99 / max', "victim's send jitter ms p50 / p99 / max", 'false deaths s / v'],
        d.cells.map((c) => [systemName(c.survivor) + (c.realtime ? '' : ' (realtime off)') + (c.victim === c.survivor ? '' : ` (victim: ${systemName(c.victim)})`), c.timing, c.load, `${c.overshootMs.count}/${c.trialsRun}`, quad(c.overshootMs), triple(c.jitterMs), `${c.falseDeaths.survivor} / ${c.falseDeaths.victim}`]),
      ),
      '',
    );
    for (const [load, text] of Object.entries(d.loads ?? {})) b.add(`- load **${load}**: ${text}`);
    b.add('');
    const loads = [...new Set(d.cells.map((c) => c.load))];
    for (const load of loads) {
      const cells = d.cells.filter((c) => c.load === load);
      b.plot(`overshoot-${load}.svg`, ecdfPlot(`Detection overshoot, load: ${load}`, 'overshoot past the deadline, ms', cells.map((c) => ({ name: cellName(c), values: c.overshootSamplesMs }))), `ECDF of detection overshoot under load ${load}`);
    }
    // The jitter is the victim's: a heartbeat-survivor cell measures an hbd victim's sending.
    const jitterLabel = (c: DetectionCell) => `${systemName(c.victim)}${c.realtime ? '' : ' (rt off)'} ${c.timing} ${c.load}${c.victim === c.survivor ? '' : ` (vs ${systemName(c.survivor)})`}`;
    b.plot('jitter.svg', rangePlot('Keepalive send jitter on the wire, per sender and load', '|interval − keepalive|, ms', d.cells.map((c): RangeRow => ({ label: jitterLabel(c), ...c.jitterMs }))), 'keepalive jitter per sender and load');
    const soaks: DetectionSoak[] = [...(d.soak ? [d.soak] : []), ...(d.fastSoak ? [d.fastSoak] : []), ...(d.search?.runs ?? [])];
    b.plot(
      'false-deaths.svg',
      barChart('False deaths (nodes declared dead that were not killed)', 'count', [
        ...d.cells.map((c) => ({ label: `${shortName(c)} ${c.load}`, bars: [{ name: 'by the survivor', value: c.falseDeaths.survivor }, { name: 'by the victim', value: c.falseDeaths.victim }] })),
        ...soaks.map((s) => ({ label: `soak ${s.timing}`, bars: [{ name: 'by the survivor', value: s.falseDeaths.n1 ?? null }, { name: 'by the victim', value: s.falseDeaths.n2 ?? null }] })),
      ]),
      'false deaths per cell and soak',
    );
    if (soaks.length) {
      b.add('Soaks (both nodes watching each other under every load at once; any death is false):', '');
      b.add(...table(['transport', 'timing', 'minutes', 'false deaths', 'longest gap on the wire ms', 'beats on the wire', 'jitter ms p50 / p99 / max'], soaks.map((s) => [systemName(s.kind), s.timing, num(s.minutes, 2), Object.entries(s.falseDeaths).map(([k, v]) => `${k}: ${v}`).join(', '), num(s.longestGapMs), s.beatsOnWire, triple(s.jitterMs)])), '');
    }
    if (d.targets?.length) {
      b.add('Targets, as bench/detection judges them on this run:', '');
      for (const t of d.targets) b.add(`- ${t.target}: **${t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met'}**${t.detail.length ? ` (${t.detail.join('; ')})` : ''}`);
      b.add('');
    }
    if (d.search) b.add(`Smallest native timing without a false death over ${num(d.search.minutesEach, 2)} min: **${d.search.smallest ?? 'none of those tried'}**.`, '');
    methodList(b, d.method);
    b.add('<details><summary>Raw overshoot samples, ms</summary>', '');
    for (const c of d.cells) b.add(`- ${c.label}: ${c.overshootSamplesMs.join(', ') || '(none)'}`);
    b.add('', '</details>', '');
  });
}

const cellName = (c: DetectionCell): string => `${systemName(c.survivor)}${c.realtime ? '' : ' (rt off)'} ${c.timing}`;
const shortName = (c: DetectionCell): string => `${{ native: 'nat', ts: 'TS', heartbeat: 'hb' }[c.survivor] ?? c.survivor}${c.realtime ? '' : '-rt'} ${c.timing.split('/')[0]}`;

function takeover(b: Builder, runs: ReadonlyMap<string, BenchRun>): void {
  b.add('## Takeover latency', '');
  const rows: RangeRow[] = [];
  const afterKill: RangeRow[] = [];
  b.add('### hbd native engine takeover plan (bench/takeover)', '');
  if (!notRun(b, runs.get('takeover'), 'bench/takeover'))
    section(b, 'bench/takeover', () => {
      const t = runs.get('takeover')!.json as TakeoverJson;
      b.add(`Two native engines, keepalive ${t.keepaliveMs} ms, deadtime ${t.deadtimeMs} ms, ${t.trials} trials per mode; ms after the death deadline:`, '');
      b.add(...table(['mode', 'address present min / p50 / p99 / max', 'first ARP on the wire min / p50 / p99 / max', 'ARP not seen'], Object.entries(t.results).map(([mode, r]) => [mode, quad(r.present), quad(r.wire), r.wireMissing])), '');
      for (const [mode, r] of Object.entries(t.results)) rows.push({ label: `hbd engine plan, ${mode}: present`, ...r.present }, { label: `hbd engine plan, ${mode}: ARP on wire`, ...r.wire });
      methodList(b, t.method);
    });
  b.add('### A virtual IP after its holder crashed: hbd, heartbeat and keepalived (bench/vip-takeover)', '');
  if (!notRun(b, runs.get('vip-takeover'), 'bench/vip-takeover'))
    section(b, 'bench/vip-takeover', () => {
      const v = runs.get('vip-takeover')!.json as VipTakeoverJson;
      b.add('ms; "past the deadline" is the survivor\'s first gratuitous ARP for the VIP − the dead node\'s own deadline on the wire (its last status + advertised deadtime; keepalived: last advert + Master_Down_Interval):', '');
      b.add(
        ...table(
          ['system', 'timing', 'trials', 'VIP present after the kill min / p50 / p99 / max', 'ARP on the wire after the kill min / p50 / p99 / max', 'ARP past the deadline min / p50 / p99 / max'],
          v.systems.map((x) => (x.notMeasured ? [x.system, x.timing, '-', `not measured: ${x.notMeasured}`, '', ''] : [x.version && !x.system.includes(x.version) ? `${x.system} ${x.version}` : x.system, x.timing, `${x.presentAfterKillMs?.count ?? 0}/${x.trials}`, quad(x.presentAfterKillMs), quad(x.wireAfterKillMs), quad(x.wirePastDeadlineMs)])),
        ),
        '',
      );
      for (const x of v.systems.filter((y) => !y.notMeasured)) {
        rows.push({ label: `${x.system}: ARP past the deadline`, ...x.wirePastDeadlineMs! });
        afterKill.push({ label: `${x.system}: VIP present`, ...x.presentAfterKillMs! });
      }
      methodList(b, v.method);
      b.add('<details><summary>Raw samples, ms (present / wire / past the deadline)</summary>', '');
      for (const x of v.systems) b.add(`- ${x.system}: ${x.samples.map((s) => `${num(s.presentAfterKillMs)} / ${num(s.wireAfterKillMs)} / ${num(s.wirePastDeadlineMs)}`).join('; ') || '(none)'}`);
      b.add('', '</details>', '');
    });
  b.add('### hbd daemons, failover end to end (bench/failover)', '');
  if (!notRun(b, runs.get('failover'), 'bench/failover'))
    section(b, 'bench/failover', () => {
      const found = findSummaries(runs.get('failover')!.json);
      b.add('Every summary in its JSON, ms:', '');
      b.add(...table(['measure', 'n', 'min / p50 / p99 / max'], found.map((f) => [f.path, f.summary.count, quad(f.summary)])), '');
      afterKill.push(...found.map((f) => ({ label: `hbd failover: ${f.path}`, ...f.summary })));
      const method = (runs.get('failover')!.json as { method?: unknown }).method;
      if (typeof method === 'string' || Array.isArray(method)) methodList(b, method as string[] | string);
    });
  if (rows.length) b.plot('takeover.svg', rangePlot('Takeover: the VIP announced, past the death deadline', 'ms after the deadline', rows), 'takeover latency past the death deadline');
  if (afterKill.length) b.plot('takeover-after-kill.svg', rangePlot('Takeover: after the holder was killed', 'ms after the SIGKILL', afterKill), 'takeover latency after the kill');
}

function footprint(b: Builder, runs: ReadonlyMap<string, BenchRun>): void {
  b.add('## CPU and memory per node', '');
  b.add('### Two-node clusters at rest (bench/footprint)', '');
  if (!notRun(b, runs.get('footprint'), 'bench/footprint'))
    section(b, 'bench/footprint', () => {
      const f = runs.get('footprint')!.json as FootprintJson;
      b.add(`Each system as a two-node cluster in the lab, keepalive ${f.keepaliveMs} ms, deadtime ${f.deadtimeMs} ms, measured over ${f.seconds} s:`, '');
      const rows = f.systems.flatMap((s) => (s.notMeasured ? [[s.system, '-', `not measured: ${s.notMeasured}`, '', '', '']] : s.nodes.map((n) => [s.system, n.node, num(n.cpuPct, 2), num(n.rssKiB / 1024, 1), num(n.pssKiB === null ? null : n.pssKiB / 1024, 1), n.processes])));
      b.add(...table(['system', 'node', 'CPU % of one core', 'RSS MiB', 'PSS MiB', 'processes'], rows), '');
      const measured = f.systems.filter((s) => !s.notMeasured);
      const nodeNames = [...new Set(measured.flatMap((s) => s.nodes.map((n) => n.node)))];
      const groups = (pick: (n: FootprintNode) => number | null) => measured.map((s) => ({ label: s.system, bars: nodeNames.map((name) => ({ name, value: pickOf(s.nodes, name, pick) })) }));
      b.plot('cpu.svg', barChart(`CPU per node at keepalive ${f.keepaliveMs} ms`, '% of one core', groups((n) => n.cpuPct)), 'CPU per node');
      b.plot('rss.svg', barChart('Resident memory per node (all its processes)', 'RSS, MiB', groups((n) => Number((n.rssKiB / 1024).toFixed(1)))), 'RSS per node');
      methodList(b, f.method);
    });
  b.add('### Engine boundary: CPU at keepalive 10 ms and floods (bench/flood)', '');
  if (!notRun(b, runs.get('flood'), 'bench/flood'))
    section(b, 'bench/flood', () => {
      const fl = runs.get('flood')!.json as FloodJson;
      for (const r of fl.runs) {
        b.add(`${r.label}: CPU per node at keepalive 10 ms (transport driver, native engine): ${r.cpuAtKeepalive10ms.map((c) => `${c.node} ${num(c.cpuPct, 2)} %`).join(', ')}; first missed beat: ${r.firstMissedBeatAtRate === null ? 'none up to the highest rate sent' : `at ${r.firstMissedBeatAtRate} packets/s`}; highest flood without a miss: ${r.highestRateWithoutMiss} packets/s.`, '');
        b.add(...table(['requested packets/s', 'sent packets/s', 'longest status gap ms', 'missed a beat', "n1's JavaScript events"], r.floodSteps.map((s) => [s.requestedRate, s.sentRate, num(s.maxGapMs, 1), s.missedBeat ? 'yes' : 'no', Object.entries(s.n1Events).map(([k, v]) => `${k} ${v}`).join(', ')])), '');
      }
    });
}

type FootprintNode = FootprintJson['systems'][number]['nodes'][number];
const pickOf = (nodes: readonly FootprintNode[], name: string, pick: (n: FootprintNode) => number | null): number | null => {
  const n = nodes.find((x) => x.node === name);
  return n ? pick(n) : null;
};

function codec(b: Builder, run: BenchRun | undefined): void {
  b.add('## Wire codec (bench/codec)', '');
  if (notRun(b, run, 'bench/codec')) return;
  section(b, 'bench/codec', () => {
    const c = run!.json as CodecJson;
    const methods = [...new Set(c.results.map((r) => r.method))];
    const get = (m: string, op: string, impl: string) => c.results.find((r) => r.method === m && r.operation === op && r.implementation === impl)?.median ?? null;
    const k = (v: number | null) => (v === null ? '-' : `${Math.round(v / 1000)}k`);
    b.add('Median messages per second, one thread, as a JavaScript caller sees them:', '');
    b.add(...table(['auth', 'encode+sign native', 'encode+sign TS', 'decode+verify native', 'decode+verify TS'], methods.map((m) => [m, k(get(m, 'encode+sign', 'native')), k(get(m, 'encode+sign', 'ts')), k(get(m, 'decode+verify', 'native')), k(get(m, 'decode+verify', 'ts'))])), '');
    const groups = methods.map((m) => ({
      label: m,
      bars: (['native', 'ts'] as const).flatMap((impl) => (['encode+sign', 'decode+verify'] as const).map((op) => ({ name: `${op} ${impl === 'ts' ? 'TS' : impl}`, value: roundK(get(m, op, impl)) }))),
    }));
    b.plot('codec.svg', barChart('Wire codec throughput (median)', 'thousand messages/s', groups), 'codec throughput');
    methodList(b, Object.entries(c.method).map(([key, v]) => `${key}: ${String(v)}`));
  });
}

const roundK = (v: number | null): number | null => (v === null ? null : Number((v / 1000).toFixed(1)));

function resources(b: Builder, run: BenchRun | undefined): void {
  b.add('## Address changes, TypeScript fallback (bench/resources)', '');
  if (notRun(b, run, 'bench/resources')) return;
  section(b, 'bench/resources', () => {
    const r = run!.json as ResourcesJson;
    b.add(`iproute2 backend in a one-node lab, ${r.rounds} rounds, ms:`, '');
    b.add(...table(['step', 'min / p50 / p99 / max'], [['add', quad(r.addMs)], ['first ARP frame after announce()', quad(r.announceFirstFrameMs)], ['remove', quad(r.removeMs)]]), '');
  });
}

export function render(input: ReportInput): Rendered {
  const b = new Builder();
  const runs = new Map(input.runs.map((r) => [r.name, r]));
  const m = input.machine;
  b.add(
    '# hbd benchmark report',
    '',
    `Generated by \`npm run bench${input.quick ? ' -- --quick' : ''}\` (bench/report/run.ts) on ${input.date}, ${input.quick ? '**quick run** (few trials: read the tails as indicative only)' : 'full run'}, ${Math.round(input.seconds)} s in all. ` +
      'Every number below comes from this one run on this one machine; the plots are in plots/ and each bench\'s own JSON is linked in the table.',
    '',
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}${m.preemption ? ` (${m.preemption})` : ''}, Node ${m.node}. ` +
      `**The machine was shared with other work during the run**; its load before: \`${input.uptimeBefore}\`, after: \`${input.uptimeAfter}\`; CPU time stolen by the hypervisor during the run: ${input.stealMs ?? '?'} ms.`,
    '',
    ...loadNote(input),
    ...table(
      ['bench', 'status', 'seconds', 'load before → after (1/5/15 min)', 'JSON', 'command'],
      input.runs.map((r) => [r.name, r.status === 'ok' ? 'ran' : r.status === 'failed' ? `**failed**: ${firstLine(r.reason)}` : `not run: ${firstLine(r.reason)}`, r.seconds === null ? '-' : Math.round(r.seconds), `${loadText(r.loadBefore)} → ${loadText(r.loadAfter)}`, r.jsonFile ? `[${r.jsonFile}](${r.jsonFile})` : '-', `\`${r.command}\``]),
    ),
    '',
  );
  detection(b, runs.get('detection'));
  takeover(b, runs);
  footprint(b, runs);
  codec(b, runs.get('codec'));
  resources(b, runs.get('resources'));
  return { markdown: b.lines.join('\n').replace(/\n{3,}/g, '\n\n') + '\n', plots: b.plots };
}

const firstLine = (s: string | null): string => (s ?? '').split('\n')[0]!.slice(0, 200);
