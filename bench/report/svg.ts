// A small SVG plotter for the benchmark report: empirical CDFs of samples, range rows of summaries
// (min–max line, p50–p99 bar) and grouped bars. Pure string building, no dependency, so the report
// renders anywhere and the test can parse what it produced.

export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

export interface RangeRow {
  readonly label: string;
  readonly min: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

export interface BarGroup {
  readonly label: string;
  readonly bars: readonly { readonly name: string; readonly value: number | null }[];
}

const W = 760;
const FONT = 'font-family="sans-serif" font-size="12"';
// Colour-blind-safe (Okabe–Ito), one per series in order.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#f0e442', '#000000'];

export function colour(i: number): string {
  return COLOURS[i % COLOURS.length]!;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Shortest decimal text of a tick value (no float noise like 0.30000000000000004). */
export function tickText(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return `${Number((v / 1000).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

interface Axis {
  readonly lo: number;
  readonly hi: number;
  readonly log: boolean;
  readonly ticks: number[];
}

/** A log axis over decades when the data spans more than two of them and is all positive, else linear from 0. */
export function axisFor(values: readonly number[], preferLog: boolean): Axis {
  const finite = values.filter((v) => Number.isFinite(v));
  const positive = finite.filter((v) => v > 0);
  const max = finite.length ? Math.max(...finite) : 1;
  if (preferLog && positive.length === finite.length && positive.length > 0) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...positive)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive)));
    if (hi / lo >= 100) {
      const ticks: number[] = [];
      for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(Number(t.toPrecision(1)));
      return { lo, hi, log: true, ticks };
    }
  }
  const min = finite.length ? Math.min(...finite) : 0;
  const hi = max > 0 ? niceCeil(max) : min < 0 ? 0 : 1;
  // Below zero only when a sample is (an event before its deadline, say).
  const lo = min < 0 ? -niceCeil(-min) : 0;
  const step = (hi - lo) / 5;
  return { lo, hi, log: false, ticks: Array.from({ length: 6 }, (_, k) => Number((lo + k * step).toPrecision(6))) };
}

/** 1, 2, 2.5 or 5 times a power of ten, at or above v. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * 0.9999) return m * p;
  return 10 * p;
}

function scale(axis: Axis, from: number, to: number): (v: number) => number {
  if (axis.log) {
    const [a, b] = [Math.log10(axis.lo), Math.log10(axis.hi)];
    return (v) => from + ((Math.log10(Math.max(v, axis.lo)) - a) / (b - a)) * (to - from);
  }
  return (v) => from + ((v - axis.lo) / (axis.hi - axis.lo)) * (to - from);
}

const n = (v: number): string => v.toFixed(1);

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Vertical grid lines and labels of a horizontal axis. */
function xAxis(axis: Axis, x: (v: number) => number, top: number, bottom: number, label: string): string[] {
  const out = axis.ticks.map((t) => `<line x1="${n(x(t))}" y1="${top}" x2="${n(x(t))}" y2="${bottom}" stroke="#dddddd"/><text x="${n(x(t))}" y="${bottom + 15}" text-anchor="middle">${tickText(t)}</text>`);
  out.push(`<text x="${n((x(axis.lo) + x(axis.hi)) / 2)}" y="${bottom + 32}" text-anchor="middle">${escapeXml(label + (axis.log ? ' (log scale)' : ''))}</text>`);
  return out;
}

function legend(names: readonly string[], x: number, y: number): string[] {
  return names.map((name, i) => `<rect x="${x}" y="${y + i * 16 - 9}" width="12" height="10" fill="${colour(i)}"/><text x="${x + 16}" y="${y + i * 16}">${escapeXml(name)}</text>`);
}

/** Empirical CDF of each series (a step line per series); empty series are listed as "(no samples)". */
export function ecdfPlot(title: string, xLabel: string, series: readonly Series[]): string {
  const legendW = 250;
  const [left, right, top] = [50, W - legendW, 30];
  const bottom = 300;
  const axis = axisFor(series.flatMap((s) => s.values), true);
  const x = scale(axis, left, right);
  const y = (q: number) => bottom - q * (bottom - top);
  const body: string[] = [...xAxis(axis, x, top, bottom, xLabel)];
  for (const q of [0, 0.25, 0.5, 0.75, 0.99, 1]) body.push(`<line x1="${left}" y1="${n(y(q))}" x2="${right}" y2="${n(y(q))}" stroke="${q === 0.99 ? '#bbbbbb' : '#eeeeee'}"/><text x="${left - 4}" y="${n(y(q) + 4)}" text-anchor="end">${q}</text>`);
  body.push(`<text x="12" y="${(top + bottom) / 2}" transform="rotate(-90 12 ${(top + bottom) / 2})" text-anchor="middle">fraction ≤ x</text>`);
  series.forEach((s, i) => {
    if (s.values.length === 0) return;
    const sorted = [...s.values].sort((a, b) => a - b);
    const pts: string[] = [`${n(x(sorted[0]!))},${n(y(0))}`];
    sorted.forEach((v, k) => pts.push(`${n(x(v))},${n(y(k / sorted.length))}`, `${n(x(v))},${n(y((k + 1) / sorted.length))}`));
    body.push(`<polyline fill="none" stroke="${colour(i)}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
  });
  body.push(...legend(series.map((s) => `${s.name} (n=${s.values.length || 'no samples'})`), right + 15, top + 10));
  return frame(W, bottom + 45, title, body);
}

/** One row per summary: a thin line from min to max, a thick bar from p50 to p99, a dot at p50. */
export function rangePlot(title: string, xLabel: string, rows: readonly RangeRow[], preferLog = true): string {
  const labelW = 260;
  const [left, right, top, rowH] = [labelW, W - 20, 30, 22];
  const bottom = top + Math.max(rows.length, 1) * rowH + 5;
  const axis = axisFor(rows.flatMap((r) => [r.min, r.p50, r.p99, r.max].filter((v): v is number => v !== null)), preferLog);
  const x = scale(axis, left, right);
  const body: string[] = [...xAxis(axis, x, top, bottom, xLabel)];
  rows.forEach((r, i) => {
    const cy = top + i * rowH + rowH / 2 + 2;
    body.push(`<text x="${left - 6}" y="${n(cy + 4)}" text-anchor="end">${escapeXml(r.label)}</text>`);
    if (r.min === null || r.max === null || r.p50 === null || r.p99 === null) {
      body.push(`<text x="${left + 6}" y="${n(cy + 4)}" fill="#888888">no samples</text>`);
      return;
    }
    body.push(
      `<line x1="${n(x(r.min))}" y1="${n(cy)}" x2="${n(x(r.max))}" y2="${n(cy)}" stroke="${colour(0)}" stroke-width="1"/>`,
      `<rect x="${n(x(r.p50))}" y="${n(cy - 5)}" width="${n(Math.max(x(r.p99) - x(r.p50), 1))}" height="10" fill="${colour(0)}" fill-opacity="0.6"/>`,
      `<circle cx="${n(x(r.p50))}" cy="${n(cy)}" r="3.5" fill="${colour(1)}"/>`,
    );
  });
  body.push(`<text x="${right}" y="${bottom + 32}" text-anchor="end" fill="#555555">line: min–max · bar: p50–p99 · dot: p50</text>`);
  return frame(W, bottom + 45, title, body);
}

/** Grouped vertical bars with their values written on top; a null value is drawn as "n/a". */
export function barChart(title: string, yLabel: string, groups: readonly BarGroup[]): string {
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const [left, right, top, bottom] = [60, W - 20, 40 + names.length * 16, 300 + names.length * 16];
  const axis = axisFor(groups.flatMap((g) => g.bars.flatMap((b) => (b.value === null ? [] : [b.value]))), false);
  const y = scale(axis, bottom, top);
  const body: string[] = legend(names, left, 40);
  for (const t of axis.ticks) body.push(`<line x1="${left}" y1="${n(y(t))}" x2="${right}" y2="${n(y(t))}" stroke="#eeeeee"/><text x="${left - 4}" y="${n(y(t) + 4)}" text-anchor="end">${tickText(t)}</text>`);
  body.push(`<text x="14" y="${(top + bottom) / 2}" transform="rotate(-90 14 ${(top + bottom) / 2})" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  const groupW = (right - left) / Math.max(groups.length, 1);
  const slanted = groupW < 90;
  const barW = Math.min(40, (groupW - 10) / Math.max(names.length, 1));
  groups.forEach((g, gi) => {
    const gx = left + gi * groupW + (groupW - barW * names.length) / 2;
    g.bars.forEach((b) => {
      const k = names.indexOf(b.name);
      const bx = gx + k * barW;
      if (b.value === null) {
        body.push(`<text x="${n(bx + barW / 2)}" y="${bottom - 4}" text-anchor="middle" fill="#888888" font-size="10">n/a</text>`);
        return;
      }
      body.push(`<rect x="${n(bx)}" y="${n(y(b.value))}" width="${n(barW - 2)}" height="${n(bottom - y(b.value))}" fill="${colour(k)}"/>`);
      body.push(`<text x="${n(bx + barW / 2)}" y="${n(y(b.value) - 3)}" text-anchor="middle" font-size="10">${tickText(b.value)}</text>`);
    });
    const lx = n(left + gi * groupW + groupW / 2);
    // Many groups: labels slanted so that they do not run into each other.
    body.push(slanted ? `<text x="${lx}" y="${bottom + 12}" text-anchor="end" transform="rotate(-45 ${lx} ${bottom + 12})">${escapeXml(g.label)}</text>` : `<text x="${lx}" y="${bottom + 15}" text-anchor="middle">${escapeXml(g.label)}</text>`);
  });
  body.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#000000"/>`);
  return frame(W, bottom + (slanted ? 100 : 30), title, body);
}
