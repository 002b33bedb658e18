import type { Forecaster } from '../forecast/types.js';
import { SIM_DEFAULTS } from './params.js';
import { escapeXml, formatNumber, largestSpike, MAX_POINTS, renderMainChartSvg, renderReport, spikeEpisodes, ZOOM_MARGIN_MINUTES } from './report.js';
import { simulate, type SimulationResult } from './simulate.js';

const DAY = 1440;
const START = Date.UTC(2025, 0, 6);

/** Three days: a daily sine, and three step spikes in the simulated (second) half, the middle one the largest. */
function syntheticRequests(): number[] {
  const spikes = [
    { at: 2600, minutes: 20, factor: 2 },
    { at: 3200, minutes: 30, factor: 3.5 },
    { at: 3900, minutes: 15, factor: 2.5 },
  ];
  return Array.from({ length: 3 * DAY }, (_, i) => {
    const base = 1000 + 500 * Math.sin((2 * Math.PI * i) / DAY);
    const spike = spikes.find((s) => i >= s.at && i < s.at + s.minutes);
    return Math.round(base * (spike?.factor ?? 1));
  });
}

const NAME = 'synthetic <&>';

function run(requests: number[], policies: ('hpa-cpu' | 'keda-reactive' | 'oracle' | 'amadeus')[], amadeus = false): Promise<SimulationResult> {
  const forecaster: Forecaster = {
    name: 'persistence-like',
    historyMinutes: (r) => r,
    forecast: async ({ history, horizon }) => {
      const last = [...history.requests].reverse().find((v): v is number => v !== null) ?? 0;
      return { model: 'x', values: Array(horizon).fill(last) };
    },
  };
  return simulate({
    name: NAME,
    trace: { start: START, utcOffsetMinutes: 0, requests },
    split: 0.5,
    params: SIM_DEFAULTS,
    policies,
    ...(amadeus ? { amadeus: { forecaster, horizonMinutes: 10, historyMinutes: 60, headroom: 0, describe: { forecaster: 'x' } } } : {}),
  });
}

/** The opening and closing tags balance, for the elements the report emits (self-closing ones aside). */
function balanced(markup: string): boolean {
  const stack: string[] = [];
  for (const m of markup.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(name!);
    else if (stack.pop() !== name) return false;
  }
  return stack.length === 0;
}

/** Element `id`'s markup (figures and sections are not nested in themselves). */
function element(html: string, tag: string, id: string): string {
  const from = html.indexOf(`<${tag} id="${id}"`);
  if (from < 0) return '';
  return html.slice(from, html.indexOf(`</${tag}>`, from) + tag.length + 3);
}

/** Points per data-series, summed over its polylines. */
function pointsPerSeries(markup: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of markup.matchAll(/<polyline data-series="([^"]*)"[^>]*points="([^"]*)"/g)) {
    out.set(m[1]!, (out.get(m[1]!) ?? 0) + m[2]!.trim().split(/\s+/).length);
  }
  return out;
}

function expectNoUrlsOrScripts(markup: string): void {
  const urls = markup.match(/https?:\/\/[^\s"']*/g) ?? [];
  expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg')).toEqual([]);
  expect(markup).not.toMatch(/<script/i);
  expect(markup).not.toMatch(/NaN|Infinity/);
}

describe('the report of a run with spikes', () => {
  let r: SimulationResult;
  let html: string;
  beforeAll(async () => {
    r = await run(syntheticRequests(), ['hpa-cpu', 'keda-reactive', 'oracle']);
    html = renderReport(r);
  });

  test('a self-contained page: doctype, no URL, no script, the trace name escaped', () => {
    expect(r.spikeMinutes).toBeGreaterThan(0);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expectNoUrlsOrScripts(html);
    expect(html).toContain('synthetic &lt;&amp;&gt;');
    expect(html).not.toContain(NAME);
    expect(html).toContain('2025-01-07T12:00+00:00'); // span start: the split at 1.5 days
    expect(html).toContain('2025-01-09T00:00+00:00'); // span end
  });

  test('one table row per policy with its figures, ratios to hpa-cpu on the others', () => {
    const rows = [...html.matchAll(/<tr data-policy="([^"]*)">(.*?)<\/tr>/g)];
    expect(rows.map((m) => m[1])).toEqual(['hpa-cpu', 'keda-reactive', 'oracle']);
    for (const [i, p] of r.policies.entries()) {
      const row = rows[i]![2]!;
      expect(row).toContain(`<td>${formatNumber(p.p95LatencyIncreasePct, 1)}%`);
      expect(row).toContain(`<td>${formatNumber(p.sloViolationMinutes)}`);
      expect(row).toContain(`<td>${formatNumber(p.podHours, 1)}`);
      expect(row).toContain(`<td>${formatNumber(p.scaleEvents)}`);
    }
    expect(rows[0]![2]).not.toContain('class="ratio"');
    const oracle = r.policies[2]!;
    const hpa = r.policies[0]!;
    expect(rows[2]![2]).toContain(`${formatNumber(oracle.podHours / hpa.podHours, 2)}×`);
  });

  test('parameters and the absent Amadeus are stated', () => {
    expect(html).toContain('<th scope="row">startupSeconds</th><td>90</td>');
    expect(html).toContain('Amadeus was not simulated');
  });

  test('the four charts, with the full-span series downsampled and the zoom at full resolution', () => {
    for (const title of ['Load vs Amadeus’s forecast', 'Replicas per policy', 'Latency per policy', 'Largest spike, zoomed']) expect(html).toContain(title);
    expect(html).toContain('<section id="zoom">');

    const full = pointsPerSeries(element(html, 'figure', 'chart-load') + element(html, 'figure', 'chart-replicas'));
    expect([...full.keys()].sort()).toEqual(['hpa-cpu', 'keda-reactive', 'load', 'oracle']);
    for (const n of full.values()) expect(n).toBeLessThanOrEqual(MAX_POINTS);
    const latency = pointsPerSeries(element(html, 'figure', 'chart-latency'));
    expect(latency.size).toBe(3);
    for (const n of latency.values()) expect(n).toBeLessThanOrEqual(MAX_POINTS);

    // The largest spike is the 3.5× one at trace minute 3200; the zoom shows it ± 3 hours, minute by minute.
    const episode = largestSpike(spikeEpisodes(r.load.spike, r.load.rate))!;
    expect(episode.from + r.load.offset).toBeGreaterThanOrEqual(3200);
    expect(episode.from + r.load.offset).toBeLessThan(3230);
    const zoomMinutes = Math.min(r.minutes, episode.to + ZOOM_MARGIN_MINUTES) - Math.max(0, episode.from - ZOOM_MARGIN_MINUTES);
    expect(pointsPerSeries(element(html, 'figure', 'zoom-load')).get('load')).toBe(zoomMinutes);
    expect(pointsPerSeries(element(html, 'figure', 'zoom-replicas')).get('oracle-ready')).toBe(zoomMinutes);

    for (const svg of html.match(/<svg[\s\S]*?<\/svg>/g)!) expect(balanced(svg)).toBe(true);
    expect(html.match(/<svg/g)).toHaveLength(6);
    expect(html).toContain('spike minutes');
  });

  test('the README chart: a standalone SVG document of the largest spike', () => {
    const svg = renderMainChartSvg(r);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toMatch(/^<svg[^>]* width="\d+" height="\d+"/);
    expect(svg).toContain('fill="#fff"');
    expect(svg).toContain('synthetic &lt;&amp;&gt;: largest spike');
    expect(balanced(svg)).toBe(true);
    expectNoUrlsOrScripts(svg);
    expect([...pointsPerSeries(svg).keys()].sort()).toEqual(['hpa-cpu', 'keda-reactive', 'load', 'oracle']);
  });
});

test('with Amadeus: its forecast and plan in the load chart, its settings and reason counts', async () => {
  const r = await run(syntheticRequests(), ['hpa-cpu', 'amadeus'], true);
  const html = renderReport(r);
  expectNoUrlsOrScripts(html);
  const series = pointsPerSeries(element(html, 'figure', 'chart-load'));
  expect([...series.keys()].sort()).toEqual(['forecast', 'load', 'planned']);
  for (const n of series.values()) expect(n).toBeLessThanOrEqual(MAX_POINTS);
  expect(html).toContain('<th scope="row">forecaster</th><td>x</td>');
  expect(html).toContain('Plan reasons');
  expect(html).toContain('Models planned with');
  expect(html).toMatch(/<td>x<\/td><td>[\d,]+<\/td><td>100\.0%<\/td>/);
  const svg = renderMainChartSvg(r);
  expect(balanced(svg)).toBe(true);
  expect(pointsPerSeries(svg).has('planned')).toBe(true);
});

test('without spike minutes there is no zoom section, and the README chart shows the whole span', async () => {
  const r = await run(Array<number>(DAY).fill(100), ['hpa-cpu', 'oracle']);
  expect(r.spikeMinutes).toBe(0);
  const html = renderReport(r);
  expect(html).not.toContain('id="zoom"');
  expect(html).not.toContain('zoom-load');
  expect(html).not.toContain('spike minutes</text>');
  expectNoUrlsOrScripts(html);
  const svg = renderMainChartSvg(r);
  expect(svg).toContain('whole span (no spike)');
  expect(balanced(svg)).toBe(true);
});

test('degenerate results (zero latency and load, one minute, no minute, no runs) draw no NaN', async () => {
  const r = await run(syntheticRequests(), ['hpa-cpu', 'keda-reactive']);
  const zeros: SimulationResult = {
    ...r,
    load: { ...r.load, rate: new Float64Array(r.minutes) },
    runs: r.runs.map((run) => ({ ...run, latency: new Float64Array(run.latency.length), replicas: new Uint16Array(run.replicas.length), ready: new Uint16Array(run.ready.length) })),
  };
  const empty: SimulationResult = {
    ...r,
    minutes: 0,
    spikeMinutes: 0,
    load: { ...r.load, rate: new Float64Array(0), observed: new Uint8Array(0), spike: new Uint8Array(0) },
    runs: r.runs.map((run) => ({ ...run, latency: new Float64Array(0), replicas: new Uint16Array(0), ready: new Uint16Array(0) })),
  };
  const one: SimulationResult = {
    ...r,
    minutes: 1,
    spikeMinutes: 1,
    load: { ...r.load, rate: Float64Array.of(5), observed: Uint8Array.of(1), spike: Uint8Array.of(1) },
    runs: r.runs.map((run) => ({ ...run, latency: run.latency.slice(0, 4), replicas: run.replicas.slice(0, 4), ready: run.ready.slice(0, 4) })),
  };
  const noRuns: SimulationResult = { ...r, runs: [], policies: [] };
  for (const result of [zeros, empty, one, noRuns]) {
    const html = renderReport(result);
    const svg = renderMainChartSvg(result);
    expect(html).not.toMatch(/NaN|Infinity/);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(balanced(svg)).toBe(true);
  }
});

test('escaping covers markup characters, quotes and control characters', () => {
  expect(escapeXml(`a<b>&"c'\u0001`)).toBe('a&lt;b&gt;&amp;&quot;c&#39;');
  expect(formatNumber(NaN)).toBe('—');
  expect(formatNumber(1234.567, 1)).toBe('1,234.6');
});
