/**
 * The `amadeus simulate` report: one self-contained HTML page (inline CSS and SVG, no script, no
 * URL, so it opens offline and can be attached anywhere) and the README's chart as a standalone SVG.
 * Pure string builders over a SimulationResult; the CLI writes the files. Every text that reaches the
 * markup is escaped: trace names come from users.
 */
import { formatUtcOffset } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';
import type { PolicyRun } from './engine.js';
import { baselineLatency } from './params.js';
import type { PolicyResult, SimulationResult } from './simulate.js';

/** Longer series are bucketed (max per bucket) so the page stays small; a chart is ~1000 px wide anyway. */
export const MAX_POINTS = 1500;
/** Minutes shown either side of the largest spike in the zoomed charts. */
export const ZOOM_MARGIN_MINUTES = 180;
/** The latency axis stops at this multiple of the baseline: one overloaded policy would flatten the others. */
const LATENCY_CAP = 10;

/** Fixed colours, so a policy looks the same in every chart and every report. */
const COLORS: Record<string, string> = {
  'hpa-cpu': '#d62728',
  'keda-reactive': '#ff7f0e',
  naive: '#8c564b',
  amadeus: '#2ca02c',
  oracle: '#7f7f7f',
  load: '#1f77b4',
  forecast: '#9467bd',
};
const EXTRA_COLORS = ['#bcbd22', '#17becf', '#e377c2'];
const SPIKE_FILL = '#f2b134';
const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';
const WIDTH = 960;

const colorOf = (name: string, index: number): string => COLORS[name] ?? EXTRA_COLORS[index % EXTRA_COLORS.length]!;

// ---------------------------------------------------------------------------------------------
// Text

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text safe in HTML and XML, in element content and in quoted attributes alike. Control characters
 * XML forbids are dropped, so a strange trace name cannot make the SVG unparseable.
 */
export function escapeXml(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** `1,234.5` with `digits` decimals; `—` for what is not a finite number. */
export function formatNumber(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '—';
  // No `-0.00` for what rounds to zero.
  if (Math.abs(n) < 0.5 * 10 ** -digits) n = 0;
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The wall-clock ISO string of the trace's own time zone, without seconds. */
function localIsoBase(epochMs: number, utcOffsetMinutes: number): string | null {
  const t = epochMs + utcOffsetMinutes * MINUTE_MS;
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 16) : null;
}

/** `2025-01-06T13:45+01:00`: local time as the trace's timestamps were written. */
export function localIso(epochMs: number, utcOffsetMinutes: number): string {
  const base = localIsoBase(epochMs, utcOffsetMinutes);
  return base === null ? '—' : base + formatUtcOffset(utcOffsetMinutes);
}

// ---------------------------------------------------------------------------------------------
// Data: per-minute series and spike episodes

/** A run's ticks folded to minutes: what a chart can show of a span of days. */
interface MinuteRun {
  name: string;
  color: string;
  replicas: Float64Array;
  ready: Float64Array;
  /** Worst tick of the minute, ms: the SLO is judged on it too. */
  latencyMs: Float64Array;
}

function foldTicks(values: ArrayLike<number>, minutes: number, perMinute: number, pick: (a: number, b: number) => number, scale = 1): Float64Array {
  const out = new Float64Array(minutes).fill(NaN);
  for (let m = 0; m < minutes; m++) {
    let acc = NaN;
    const end = Math.min(values.length, (m + 1) * perMinute);
    for (let i = m * perMinute; i < end; i++) {
      const v = values[i]!;
      if (Number.isFinite(v)) acc = Number.isNaN(acc) ? v : pick(acc, v);
    }
    out[m] = acc * scale;
  }
  return out;
}

function minuteRun(run: PolicyRun, minutes: number, index: number): MinuteRun {
  const ratio = 60 / run.tickSeconds;
  const perMinute = Number.isFinite(ratio) && ratio >= 1 ? Math.round(ratio) : 1;
  return {
    name: run.name,
    color: colorOf(run.name, index),
    replicas: foldTicks(run.replicas, minutes, perMinute, Math.max),
    ready: foldTicks(run.ready, minutes, perMinute, Math.min),
    latencyMs: foldTicks(run.latency, minutes, perMinute, Math.max, 1000),
  };
}

/** A contiguous run of spike minutes, [from, to), with its highest load. */
export interface SpikeEpisode {
  from: number;
  to: number;
  peak: number;
}

export function spikeEpisodes(spike: ArrayLike<number>, rate: ArrayLike<number>): SpikeEpisode[] {
  const out: SpikeEpisode[] = [];
  let current: SpikeEpisode | null = null;
  for (let m = 0; m < spike.length; m++) {
    if (spike[m] !== 1) {
      current = null;
      continue;
    }
    if (!current) out.push((current = { from: m, to: m, peak: -Infinity }));
    current.to = m + 1;
    const v = rate[m]!;
    if (v > current.peak) current.peak = v;
  }
  return out;
}

/** The episode with the highest peak load (the first on a tie): where the policies differ most. */
export function largestSpike(episodes: readonly SpikeEpisode[]): SpikeEpisode | null {
  let best: SpikeEpisode | null = null;
  for (const e of episodes) if (!best || e.peak > best.peak) best = e;
  return best;
}

/** What every chart is drawn from, computed once. */
interface ReportData {
  r: SimulationResult;
  minutes: number;
  runs: MinuteRun[];
  episodes: SpikeEpisode[];
  baselineMs: number;
}

function prepare(r: SimulationResult): ReportData {
  const minutes = r.load.rate.length;
  return {
    r,
    minutes,
    runs: r.runs.map((run, i) => minuteRun(run, minutes, i)),
    episodes: spikeEpisodes(r.load.spike, r.load.rate),
    baselineMs: baselineLatency(r.params) * 1000,
  };
}

/** Span minutes [from, to) a chart shows. */
interface Window {
  from: number;
  to: number;
}

function zoomWindow(d: ReportData): { window: Window; episode: SpikeEpisode } | null {
  const episode = largestSpike(d.episodes);
  if (!episode) return null;
  return { episode, window: { from: Math.max(0, episode.from - ZOOM_MARGIN_MINUTES), to: Math.min(d.minutes, episode.to + ZOOM_MARGIN_MINUTES) } };
}

// ---------------------------------------------------------------------------------------------
// A small line-chart builder

interface Point {
  /** Span minute (fractional for a bucket's middle). */
  x: number;
  /** NaN: a gap in the line. */
  y: number;
}

interface Series {
  key: string;
  label: string;
  color: string;
  points: Point[];
  width?: number;
  dash?: string;
}

/** A horizontal reference line (baseline, SLO). */
interface Rule {
  y: number;
  label: string;
  color: string;
  /** Where the label sits, so two close rules do not write over each other. */
  labelAt: 'left' | 'right';
}

interface Chart {
  title: string;
  yLabel: string;
  start: number;
  utcOffsetMinutes: number;
  window: Window;
  series: Series[];
  /** Shaded spans of minutes (spike episodes), [from, to). */
  bands: Window[];
  rules?: Rule[];
  /** Values above it are drawn at the top edge. */
  yCap?: number;
  width: number;
  height: number;
}

/**
 * One point per bucket of ⌈length / maxPoints⌉ minutes, at the bucket's middle, holding its max (or
 * min) finite value: peaks must survive downsampling, they are what the report is about.
 */
function sample(values: ArrayLike<number>, w: Window, pick: (a: number, b: number) => number = Math.max, maxPoints = MAX_POINTS): Point[] {
  const length = w.to - w.from;
  if (length <= 0) return [];
  const k = Math.max(1, Math.ceil(length / maxPoints));
  const out: Point[] = [];
  for (let b = w.from; b < w.to; b += k) {
    const end = Math.min(w.to, b + k);
    let acc = NaN;
    for (let m = b; m < end; m++) {
      const v = values[m]!;
      if (Number.isFinite(v)) acc = Number.isNaN(acc) ? v : pick(acc, v);
    }
    out.push({ x: (b + end - 1) / 2, y: acc });
  }
  return out;
}

/** A 1-2-2.5-5 step giving about `ticks` intervals up to `max`, and the axis top (a multiple of it). */
function niceScale(max: number, ticks = 5): { top: number; step: number } {
  const m = Number.isFinite(max) && max > 0 ? max : 1;
  const raw = m / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  // The tolerance keeps float noise (2500.0000000004) from doubling the step.
  const step = ([1, 2, 2.5, 5].find((s) => norm <= s + 1e-9) ?? 10) * mag;
  return { top: Math.max(step, Math.ceil(m / step - 1e-9) * step), step };
}

function decimalsOf(step: number): number {
  let d = 0;
  while (d < 6 && Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) > 1e-6) d++;
  return d;
}

/** Steps of the time axis, minutes: each divides a day (or is whole days), so ticks fall on round local times. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080];

/** Tick minutes on round local times, at most `maxTicks` of them; midnight ticks carry the date. */
function timeTicks(c: Chart, maxTicks: number): { m: number; label: string }[] {
  const { from, to } = c.window;
  const span = Math.max(1, to - 1 - from);
  const step = TIME_STEPS.find((s) => span / s <= maxTicks) ?? Math.ceil(span / maxTicks / 10080) * 10080;
  // Local minutes since the epoch of span minute 0.
  const base = c.start / MINUTE_MS + c.utcOffsetMinutes;
  if (!Number.isFinite(base)) return [];
  const out: { m: number; label: string }[] = [];
  for (let m = Math.ceil((from + base) / step) * step - base; m <= to - 1; m += step) {
    const iso = localIsoBase(c.start + m * MINUTE_MS, c.utcOffsetMinutes)!;
    const midnight = iso.endsWith('T00:00');
    out.push({ m, label: midnight || step >= 1440 ? iso.slice(5, 10) : iso.slice(11, 16) });
  }
  return out;
}

const r1 = (v: number) => String(Math.round(v * 10) / 10);
/** Rough width of a label in the 11 px font: enough to lay out a legend. */
const textWidth = (text: string) => text.length * 6.5;

interface Legend {
  svg: string;
  height: number;
}

function legend(c: Chart, left: number, right: number, top: number): Legend {
  const items: { label: string; swatch: string }[] = c.series.map((s) => ({
    label: s.label,
    swatch: `<line x1="0" y1="0" x2="18" y2="0" stroke="${s.color}" stroke-width="${Math.max(2, s.width ?? 1.5)}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
  }));
  if (c.bands.length > 0) items.push({ label: 'spike minutes', swatch: `<rect x="0" y="-5" width="18" height="10" fill="${SPIKE_FILL}" fill-opacity="0.3"/>` });
  let x = left;
  let row = 0;
  const parts: string[] = [];
  for (const item of items) {
    const w = 18 + 5 + textWidth(item.label) + 16;
    if (x > left && x + w > right) {
      x = left;
      row++;
    }
    parts.push(`<g transform="translate(${r1(x)},${top + row * 16})">${item.swatch}<text x="23" y="4">${escapeXml(item.label)}</text></g>`);
    x += w;
  }
  return { svg: parts.join(''), height: items.length === 0 ? 0 : (row + 1) * 16 };
}

/** Polylines for the finite runs of a series (a NaN breaks the line). */
function polylines(s: Series, sx: (x: number) => number, sy: (y: number) => number): string {
  const out: string[] = [];
  let run: string[] = [];
  const attrs = `data-series="${escapeXml(s.key)}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 1.5}" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}`;
  const flush = () => {
    // A lone point is drawn as a dot-length segment so it stays visible.
    if (run.length === 1) run.push(run[0]!);
    if (run.length > 0) out.push(`<polyline ${attrs} stroke-linecap="round" points="${run.join(' ')}"/>`);
    run = [];
  };
  for (const p of s.points) {
    if (Number.isFinite(p.y) && Number.isFinite(p.x)) run.push(`${r1(sx(p.x))},${r1(sy(p.y))}`);
    else flush();
  }
  flush();
  return out.join('');
}

/** Spike bands in pixels, merged where they touch, at least a pixel wide so short spikes still show. */
function bandRects(bands: readonly Window[], sx: (x: number) => number, left: number, right: number, top: number, bottom: number): string {
  const merged: [number, number][] = [];
  for (const b of bands) {
    const x0 = Math.max(left, sx(b.from - 0.5));
    const x1 = Math.min(right, Math.max(x0 + 1, sx(b.to - 0.5)));
    if (!(x1 > x0)) continue;
    const last = merged[merged.length - 1];
    if (last && x0 <= last[1] + 0.5) last[1] = Math.max(last[1], x1);
    else merged.push([x0, x1]);
  }
  return merged.map(([x0, x1]) => `<rect x="${r1(x0)}" y="${r1(top)}" width="${r1(x1 - x0)}" height="${r1(bottom - top)}" fill="${SPIKE_FILL}" fill-opacity="0.22"/>`).join('');
}

/** The chart's elements, drawn in a width × height box at the origin. */
function chartBody(c: Chart): string {
  const left = 64;
  const right = c.width - 16;
  const lg = legend(c, left, right, 38);
  const top = 38 + lg.height + 4;
  const bottom = c.height - 40;

  let max = 0;
  for (const s of c.series) for (const p of s.points) if (Number.isFinite(p.y) && p.y > max) max = p.y;
  for (const rule of c.rules ?? []) if (rule.y > max) max = rule.y;
  if (c.yCap !== undefined && Number.isFinite(c.yCap) && max > c.yCap) max = c.yCap;
  const { top: yTop, step } = niceScale(max);

  const { from, to } = c.window;
  const span = Math.max(1, to - 1 - from);
  const sx = (x: number) => left + ((x - from) / span) * (right - left);
  const sy = (y: number) => bottom - (Math.min(Math.max(y, 0), yTop) / yTop) * (bottom - top);

  const parts: string[] = [`<text x="${left}" y="20" font-size="14" font-weight="600">${escapeXml(c.title)}</text>`, lg.svg];
  parts.push(bandRects(c.bands, sx, left, right, top, bottom));

  // Horizontal grid and y labels.
  const digits = decimalsOf(step);
  for (let i = 0; i * step <= yTop + 1e-9; i++) {
    const y = r1(sy(i * step));
    parts.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 6}" y="${y}" dy="4" text-anchor="end">${formatNumber(i * step, digits)}</text>`);
  }
  // Vertical grid and time labels.
  for (const t of timeTicks(c, Math.max(2, Math.floor((right - left) / 90)))) {
    const x = r1(sx(t.m));
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${bottom}" stroke="#f0f0f0"/>`);
    parts.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 4}" stroke="#666"/>`);
    parts.push(`<text x="${x}" y="${bottom + 16}" text-anchor="middle">${escapeXml(t.label)}</text>`);
  }
  const rules = (c.rules ?? []).filter((rule) => rule.y >= 0 && rule.y <= yTop);
  for (const rule of rules) {
    const y = r1(sy(rule.y));
    parts.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="${rule.color}" stroke-dasharray="6 3"/>`);
  }
  for (const s of c.series) parts.push(polylines(s, sx, sy));
  // Rule labels over the data, with a white halo so a line under them does not strike them through.
  for (const rule of rules) {
    const anchor = rule.labelAt === 'left' ? `x="${left + 4}" text-anchor="start"` : `x="${right - 4}" text-anchor="end"`;
    parts.push(`<text ${anchor} y="${r1(sy(rule.y))}" dy="-4" fill="${rule.color}" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(rule.label)}</text>`);
  }
  // Axes last, over the data.
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#666"/>`);
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#666"/>`);
  const mid = r1((top + bottom) / 2);
  parts.push(`<text transform="translate(14,${mid}) rotate(-90)" text-anchor="middle">${escapeXml(c.yLabel)}</text>`);
  parts.push(`<text x="${r1((left + right) / 2)}" y="${c.height - 6}" text-anchor="middle">${escapeXml(`local time (UTC${formatUtcOffset(c.utcOffsetMinutes)})`)}</text>`);
  return parts.join('');
}

/** A chart as an inline <svg> of the HTML page (the HTML parser supplies the namespace). */
function inlineSvg(c: Chart): string {
  return (
    `<svg class="chart" width="${c.width}" height="${c.height}" viewBox="0 0 ${c.width} ${c.height}" role="img" aria-label="${escapeXml(c.title)}" font-family="${FONT}" font-size="11">` +
    `${chartBody(c)}</svg>`
  );
}

// ---------------------------------------------------------------------------------------------
// The charts

function bandsIn(d: ReportData, w: Window): Window[] {
  return d.episodes.filter((e) => e.to > w.from && e.from < w.to).map((e) => ({ from: Math.max(e.from, w.from), to: Math.min(e.to, w.to) }));
}

function baseChart(d: ReportData, w: Window, title: string, yLabel: string, height: number): Chart {
  return { title, yLabel, start: d.r.start, utcOffsetMinutes: d.r.utcOffsetMinutes, window: w, series: [], bands: bandsIn(d, w), width: WIDTH, height };
}

function loadChart(d: ReportData, w: Window, title: string, height = 300): Chart {
  const c = baseChart(d, w, title, 'load (req/s)', height);
  c.series.push({ key: 'load', label: 'actual load', color: COLORS.load!, points: sample(d.r.load.rate, w), width: 2 });
  if (d.r.plans) {
    c.series.push({ key: 'forecast', label: 'forecast max over horizon', color: COLORS.forecast!, points: sample(d.r.plans.forecastMax, w), dash: '5 3' });
    c.series.push({ key: 'planned', label: 'Amadeus planned', color: COLORS.amadeus!, points: sample(d.r.plans.planned, w) });
  }
  return c;
}

function replicasChart(d: ReportData, w: Window, title: string, withReady: boolean, height = 280): Chart {
  const c = baseChart(d, w, title, 'replicas (pods)', height);
  for (const run of d.runs) {
    c.series.push({ key: run.name, label: run.name, color: run.color, points: sample(run.replicas, w) });
    if (withReady) c.series.push({ key: `${run.name}-ready`, label: `${run.name} ready`, color: run.color, points: sample(run.ready, w, Math.min), width: 1, dash: '3 3' });
  }
  return c;
}

function latencyChart(d: ReportData, w: Window, title: string, height = 280): Chart {
  const cap = LATENCY_CAP * d.baselineMs;
  const c = baseChart(d, w, title, 'latency (ms)', height);
  for (const run of d.runs) c.series.push({ key: run.name, label: run.name, color: run.color, points: sample(run.latencyMs, w) });
  c.yCap = cap;
  const slo = d.r.params.sloFactor * d.baselineMs;
  c.rules = [
    { y: d.baselineMs, label: `baseline ${formatNumber(d.baselineMs, 0)} ms`, color: '#555', labelAt: 'left' },
    { y: slo, label: `SLO ${formatNumber(d.r.params.sloFactor, 2)}× = ${formatNumber(slo, 0)} ms`, color: '#b00', labelAt: 'right' },
  ];
  return c;
}

// ---------------------------------------------------------------------------------------------
// The HTML page

const CSS = `
body{font-family:${FONT};margin:24px auto;max-width:1000px;padding:0 16px;color:#222;line-height:1.45}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:8px 0;font-size:14px}th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #ccc;vertical-align:bottom}
.ratio{color:#777;font-size:12px;margin-left:6px}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
.muted{color:#666;font-size:14px}.grid{display:flex;flex-wrap:wrap;gap:0 32px}
.chosen td{font-weight:bold;background:#eef7ee}
figure{margin:16px 0}svg.chart{max-width:100%;height:auto;background:#fff}
`;

const FIGURE_COLUMNS: { key: keyof PolicyResult & string; label: string; digits: number; suffix?: string }[] = [
  { key: 'p95LatencyIncreasePct', label: 'p95 latency increase', digits: 1, suffix: '%' },
  { key: 'p99LatencyIncreasePct', label: 'p99 latency increase', digits: 1, suffix: '%' },
  { key: 'sloViolationMinutes', label: 'SLO-violation minutes', digits: 0 },
  { key: 'podHours', label: 'pod-hours', digits: 1 },
  { key: 'scaleEvents', label: 'scale events', digits: 0 },
];

/** `value / reference` as `0.45×`, or nothing where a ratio means nothing (a zero or negative side). */
function ratioText(value: number, reference: number): string {
  if (!(reference > 0 && value >= 0 && Number.isFinite(reference) && Number.isFinite(value))) return '';
  return `<span class="ratio" title="ratio to hpa-cpu">${formatNumber(value / reference, 2)}×</span>`;
}

function figuresTable(r: SimulationResult): string {
  const hpa = r.policies.find((p) => p.name === 'hpa-cpu') ?? null;
  const head = FIGURE_COLUMNS.map((c) => `<th scope="col">${escapeXml(c.label)}</th>`).join('');
  const rows = r.policies.map((p, i) => {
    const cells = FIGURE_COLUMNS.map((c) => {
      const v = p[c.key] as number;
      const ratio = hpa && p !== hpa ? ratioText(v, hpa[c.key] as number) : '';
      return `<td>${formatNumber(v, c.digits)}${Number.isFinite(v) ? (c.suffix ?? '') : ''}${ratio}</td>`;
    });
    return `<tr data-policy="${escapeXml(p.name)}"><th scope="row"><span class="swatch" style="background:${colorOf(p.name, i)}"></span>${escapeXml(p.name)}</th>${cells.join('')}</tr>`;
  });
  const note = hpa ? '<p class="muted">Small grey figures: the ratio to hpa-cpu’s (lower is better in every column).</p>' : '';
  return `<table class="figures"><thead><tr><th scope="col">policy</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>${note}`;
}

function keyValueTable(entries: [string, string][], cls: string): string {
  const rows = entries.map(([k, v]) => `<tr><th scope="row">${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`);
  return `<table class="${cls}"><tbody>${rows.join('')}</tbody></table>`;
}

const settingText = (v: string | number | boolean | null): string => (v === null ? '—' : String(v));

/** How often each reason (or model) was used, most used first, with its share. */
function countsTable(title: string, column: string, counts: Partial<Record<string, number>> | undefined): string {
  const entries = Object.entries(counts ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] > 0);
  if (entries.length === 0) return `<div><h3>${escapeXml(title)}</h3><p class="muted">none</p></div>`;
  entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const total = entries.reduce((s, e) => s + e[1], 0);
  const rows = entries.map(([k, n]) => `<tr><td>${escapeXml(k)}</td><td>${formatNumber(n)}</td><td>${formatNumber((n / total) * 100, 1)}%</td></tr>`);
  return `<div><h3>${escapeXml(title)}</h3><table><thead><tr><th>${escapeXml(column)}</th><th>minutes</th><th>share</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function amadeusSection(r: SimulationResult): string {
  const settings = r.amadeus
    ? keyValueTable(
        Object.entries(r.amadeus).map(([k, v]) => [k, settingText(v)]),
        'settings',
      )
    : '<p class="muted">Amadeus was not simulated.</p>';
  const result = r.policies.find((p) => p.name === 'amadeus');
  const counts = result
    ? `<div class="grid">${countsTable('Plan reasons', 'reason', result.planReasons)}${countsTable('Models planned with', 'model', result.models)}${countsTable('Gate reasons', 'reason', result.gateReasons)}</div>`
    : '';
  return `<h2>Amadeus</h2>${settings}${tuningSection(r)}${counts}`;
}

/** With --tune: every setting compared on the days before the span, the chosen one marked. */
function tuningSection(r: SimulationResult): string {
  const t = r.tuning;
  if (!t) return '';
  const goals = `p95 increase below ${formatNumber(t.goals.p95IncreasePct, 1)}% and at most ${formatNumber(t.goals.sloShareOfHpa * 100, 0)}% of hpa-cpu’s SLO-violation minutes`;
  const verdict = t.met ? `the cheapest setting meeting the goals (${goals}) there` : `no setting met the goals (${goals}) there; the one with the lowest p95 increase`;
  const rows = t.candidates.map((c) => {
    const mark = c === t.chosen ? ' class="chosen"' : '';
    return `<tr${mark}><td>${escapeXml(c.quantile)}</td><td>${formatNumber(c.headroom, 2)}</td><td>${formatNumber(c.noiseMargin, 2)}</td><td>${formatNumber(c.p95LatencyIncreasePct, 1)}%</td><td>${formatNumber(c.sloViolationMinutes)}</td><td>${formatNumber(c.podHours, 1)}</td><td>${c.meetsGoals ? 'yes' : 'no'}</td></tr>`;
  });
  return (
    `<h3>Tuning</h3><p>Quantile, headroom and noise margin were chosen on the ${formatNumber(t.minutes / 1440, 1)} days before the span (from ${escapeXml(t.from)}; ` +
    `hpa-cpu there: ${formatNumber(t.hpaCpu.sloViolationMinutes)} SLO-violation minutes, ${formatNumber(t.hpaCpu.podHours, 1)} pod-hours): ${verdict}, ` +
    `quantile ${escapeXml(t.chosen.quantile)}, headroom ${formatNumber(t.chosen.headroom, 2)}, noise margin ${formatNumber(t.chosen.noiseMargin, 2)}.</p>` +
    `<table id="tuning"><thead><tr><th>quantile</th><th>headroom</th><th>noise margin</th><th>p95 Δ</th><th>SLO min</th><th>pod-hours</th><th>meets goals</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function parametersSection(d: ReportData): string {
  const entries: [string, string][] = Object.entries(d.r.params).map(([k, v]) => [k, String(v)]);
  entries.push(['baseline latency (derived)', `${formatNumber(d.baselineMs, 1)} ms`]);
  return `<h2>Simulation parameters</h2>${keyValueTable(entries, 'params')}`;
}

function figure(id: string, c: Chart, caption?: string): string {
  return `<figure id="${id}">${inlineSvg(c)}${caption ? `<figcaption class="muted">${escapeXml(caption)}</figcaption>` : ''}</figure>`;
}

const TITLES = {
  load: 'Load vs Amadeus’s forecast',
  replicas: 'Replicas per policy',
  latency: 'Latency per policy',
};

function chartsSection(d: ReportData): string {
  const all: Window = { from: 0, to: d.minutes };
  const k = Math.max(1, Math.ceil(d.minutes / MAX_POINTS));
  const resolution = k > 1 ? `Each point is the maximum of ${k} minutes.` : 'One point per minute.';
  const noPlans = d.r.plans ? '' : ' Amadeus was not simulated: load only.';
  return [
    '<h2>Whole span</h2>',
    figure('chart-load', loadChart(d, all, TITLES.load), resolution + noPlans),
    figure('chart-replicas', replicasChart(d, all, TITLES.replicas, false), `${resolution} Pods ready or starting.`),
    figure('chart-latency', latencyChart(d, all, TITLES.latency), `${resolution} Latency is each minute’s worst tick; the axis stops at ${LATENCY_CAP}× the baseline.`),
  ].join('');
}

function zoomSection(d: ReportData): string {
  const zoom = zoomWindow(d);
  if (!zoom) return '';
  const { window: w, episode } = zoom;
  const at = (m: number) => localIso(d.r.start + m * MINUTE_MS, d.r.utcOffsetMinutes);
  const intro =
    `<p>The spike with the highest load: ${escapeXml(at(episode.from))} to ${escapeXml(at(episode.to))} ` +
    `(${formatNumber(episode.to - episode.from)} min, peak ${formatNumber(episode.peak, 1)} req/s), ` +
    `with ${ZOOM_MARGIN_MINUTES / 60} hours either side, ${w.to - w.from > MAX_POINTS ? 'downsampled' : 'one point per minute'}. Dashed lines: ready pods.</p>`;
  return (
    `<section id="zoom"><h2>Largest spike, zoomed</h2>${intro}` +
    figure('zoom-load', loadChart(d, w, `${TITLES.load} — largest spike`)) +
    figure('zoom-replicas', replicasChart(d, w, `${TITLES.replicas} — largest spike`, true)) +
    figure('zoom-latency', latencyChart(d, w, `${TITLES.latency} — largest spike`), `Each minute’s worst tick; the axis stops at ${LATENCY_CAP}× the baseline.`) +
    '</section>'
  );
}

function header(d: ReportData): string {
  const { r } = d;
  let observed = 0;
  for (const o of r.load.observed) observed += o;
  const slo = r.params.sloFactor * d.baselineMs;
  return (
    `<h1>Autoscaling simulation: ${escapeXml(r.trace)}</h1>` +
    `<p class="muted">${escapeXml(localIso(r.start, r.utcOffsetMinutes))} to ${escapeXml(localIso(r.start + r.minutes * MINUTE_MS, r.utcOffsetMinutes))} · ` +
    `${formatNumber(r.minutes)} minutes (${formatNumber(r.minutes / 1440, 1)} days), ${formatNumber(observed)} observed · ` +
    `${formatNumber(r.spikeMinutes)} spike minutes in ${formatNumber(d.episodes.length)} episodes · ` +
    `baseline latency ${formatNumber(d.baselineMs, 0)} ms, SLO ${formatNumber(slo, 0)} ms</p>`
  );
}

/** The whole report as one HTML page with nothing to fetch. */
export function renderReport(r: SimulationResult): string {
  const d = prepare(r);
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Autoscaling simulation: ${escapeXml(r.trace)}</title>`,
    `<style>${CSS}</style></head><body>`,
    header(d),
    '<h2>Figures</h2>',
    figuresTable(r),
    '<p class="muted">Latency increases: percentiles of the spike minutes’ tick latencies over the baseline. ' +
      'SLO-violation minutes: observed minutes whose worst tick exceeds the SLO. Pod-hours: pods ready or starting.</p>',
    parametersSection(d),
    amadeusSection(r),
    chartsSection(d),
    zoomSection(d),
    '</body></html>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The README chart

/**
 * A standalone SVG document: load with Amadeus's forecast above, replicas per policy below, on the
 * largest spike (the whole span, downsampled, when there is none).
 */
export function renderMainChartSvg(r: SimulationResult): string {
  const d = prepare(r);
  const zoom = zoomWindow(d);
  const w = zoom?.window ?? { from: 0, to: d.minutes };
  const where = zoom ? 'largest spike' : 'whole span (no spike)';
  const heading = `${r.trace}: ${where}, ${localIso(r.start + w.from * MINUTE_MS, r.utcOffsetMinutes)} to ${localIso(r.start + w.to * MINUTE_MS, r.utcOffsetMinutes)}`;
  const top = loadChart(d, w, TITLES.load, 300);
  const bottom = replicasChart(d, w, TITLES.replicas, false, 280);
  const headingHeight = 32;
  const height = headingHeight + top.height + bottom.height;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" font-size="11">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="22" font-size="15" font-weight="700">${escapeXml(heading)}</text>`,
    `<g transform="translate(0,${headingHeight})">${chartBody(top)}</g>`,
    `<g transform="translate(0,${headingHeight + top.height})">${chartBody(bottom)}</g>`,
    '</svg>',
    '',
  ].join('\n');
}
