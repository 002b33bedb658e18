/**
 * How the trace suite is reported: one outcome table (trace × policy), the bar per trace, the eval
 * table (trace × model), grouped by role so held-out results stand apart from those the planner
 * was shaped or tuned on, with the worst of each family and role; and the `--json` object.
 */
import type { ModelScore } from '../eval/types.js';
import type { Bar, Verdict } from './suite-bar.js';
import { BAR } from './suite-bar.js';
import { cheapestMeeting } from './mean-oracle.js';
import { isFailure, type MemberFailure, type MemberResult, type SuiteReport } from './suite-run.js';
import { ROLES, type SuiteRole } from './suite.js';

const ROLE_NOTES: Record<SuiteRole, string> = {
  design: 'design: the planner was shaped on it, so these figures flatter it',
  tune: 'tune: settings may be chosen on these',
  'held-out': 'held-out: neither designed nor tuned on; the figures to report',
};

type Entry = MemberResult | MemberFailure;

export interface Group {
  role: SuiteRole;
  family: string;
  entries: Entry[];
}

/** Members by role (design, tune, held-out), then by family in the suite's order. */
export function groupsOf(entries: readonly Entry[]): Group[] {
  const groups: Group[] = [];
  for (const role of ROLES) {
    for (const e of entries) {
      if (e.member.role !== role) continue;
      let g = groups.find((x) => x.role === role && x.family === e.member.family);
      if (!g) groups.push((g = { role, family: e.member.family, entries: [] }));
      g.entries.push(e);
    }
  }
  return groups;
}

const p90Coverage = (m: ModelScore): number | null => m.quantiles?.['0.9']?.coverage ?? null;
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
const maxOf = (xs: (number | null)[]) => xs.reduce<number | null>((m, x) => (x === null ? m : m === null || x > m ? x : m), null);
const minOf = (xs: (number | null)[]) => xs.reduce<number | null>((m, x) => (x === null ? m : m === null || x < m ? x : m), null);

export interface WorstPolicy {
  name: string;
  p95LatencyIncreasePct: number | null;
  p99LatencyIncreasePct: number | null;
  sloViolationMinutes: number | null;
  podHoursRatioToHpa: number | null;
}

/** The worst figure of each column over a group's members (not one member's row). */
export interface Worst {
  role: SuiteRole;
  family: string;
  members: number;
  policies: WorstPolicy[];
  /** Members whose bar passed / failed / could not be judged in full. */
  bar: Record<Bar['verdict'], number>;
  /** Per model: the highest relative MAE, the lowest p90 coverage. */
  eval: { name: string; relMae: number | null; p90Coverage: number | null }[];
}

function policyRows(r: MemberResult) {
  const hpa = r.policies.find((p) => p.name === 'hpa-cpu');
  return [...r.policies, r.oracle5].map((p) => ({ ...p, podHoursRatioToHpa: hpa ? ratio(p.podHours, hpa.podHours) : null }));
}

const evalModels = (r: MemberResult): ModelScore[] => (r.eval && 'models' in r.eval ? r.eval.models : []);

export function worstOf(g: Group): Worst {
  const ok = g.entries.filter((e): e is MemberResult => !isFailure(e));
  const rows = ok.map(policyRows);
  const names = [...new Set(rows.flatMap((r) => r.map((p) => p.name)))];
  const policies = names.map((name): WorstPolicy => {
    const ps = rows.map((r) => r.find((p) => p.name === name)).filter((p) => p !== undefined);
    return {
      name,
      p95LatencyIncreasePct: maxOf(ps.map((p) => p.p95LatencyIncreasePct)),
      p99LatencyIncreasePct: maxOf(ps.map((p) => p.p99LatencyIncreasePct)),
      sloViolationMinutes: maxOf(ps.map((p) => p.sloViolationMinutes)),
      podHoursRatioToHpa: maxOf(ps.map((p) => p.podHoursRatioToHpa)),
    };
  });
  const bar: Worst['bar'] = { pass: 0, fail: 0, incomplete: 0 };
  for (const r of ok) bar[r.bar.verdict]++;
  const models = [...new Set(ok.flatMap((r) => evalModels(r).map((m) => m.name)))];
  const evalWorst = models.map((name) => {
    const ms = ok.map((r) => evalModels(r).find((m) => m.name === name)).filter((m) => m !== undefined);
    return { name, relMae: maxOf(ms.map((m) => m.relMae)), p90Coverage: minOf(ms.map(p90Coverage)) };
  });
  return { role: g.role, family: g.family, members: g.entries.length, policies, bar, eval: evalWorst };
}

/** Worst rows only where a group has more than one member. */
const worstGroups = (groups: Group[]) => groups.filter((g) => g.entries.length > 1);

// ---- formatting ----

const dash = '-';
const signed = (x: number | null, digits = 1) =>
  x === null ? dash : `${x > 0 ? '+' : ''}${x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
const plain = (x: number | null, digits: number) => (x === null ? dash : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const pct = (x: number | null) => (x === null ? dash : `${(x * 100).toFixed(1)}%`);

/** Columns padded to their widest cell; the first `left` columns left-aligned, numbers right-aligned. */
export function renderTable(header: string[], rows: string[][], left: number): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < left ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const familyLabel = (family: string) => (family === 'real' ? 'real traces' : `${family} seeds`);
const worstLabel = (g: Group) => `worst of ${g.entries.length} ${familyLabel(g.family)}`;
const roleCell = (role: SuiteRole) => (role === 'held-out' ? 'HELD-OUT' : role);

function outcomeTable(groups: Group[]): string[] {
  const header = ['trace', 'role', 'policy', 'p95 Δ%', 'p99 Δ%', 'SLO min', 'pod-hours', 'pods ÷ hpa'];
  const rows: string[][] = [];
  for (const g of groups) {
    for (const e of g.entries) {
      if (isFailure(e)) {
        rows.push([e.member.name, roleCell(g.role), 'failed (below)']);
        continue;
      }
      for (const p of policyRows(e)) {
        rows.push([e.member.name, roleCell(g.role), p.name, signed(p.p95LatencyIncreasePct), signed(p.p99LatencyIncreasePct, 0), plain(p.sloViolationMinutes, 0), plain(p.podHours, 1), plain(p.podHoursRatioToHpa, 2)]);
      }
    }
    if (g.entries.length > 1) {
      for (const p of worstOf(g).policies) {
        rows.push([worstLabel(g), roleCell(g.role), p.name, signed(p.p95LatencyIncreasePct), signed(p.p99LatencyIncreasePct, 0), plain(p.sloViolationMinutes, 0), dash, plain(p.podHoursRatioToHpa, 2)]);
      }
    }
  }
  return renderTable(header, rows, 3);
}

const mark = (v: Verdict) => ({ pass: 'pass', fail: 'FAIL', 'not-required': 'not required', 'n/a': 'n/a' })[v];

export function barCells(b: Bar): string[] {
  const p95 =
    b.p95.verdict === 'n/a'
      ? 'n/a'
      : `${mark(b.p95.verdict)} ${signed(b.p95.amadeus)}%` + (b.p95.verdict === 'pass' ? '' : ` (oracle+5% ${signed(b.p95.oracle5)}%)`);
  const n = b.vsNaive;
  let vsNaive = 'n/a';
  if (n.amadeus && n.naive) {
    const where = n.naive.position === 'inside' ? `naive k ${n.naive.factor.toFixed(2)}` : `${n.naive.position} naive's curve; k ${n.naive.factor.toFixed(2)} at ${plain(n.naive.podHours, 1)} pod-h`;
    vsNaive = `${mark(n.verdict)} ${signed(n.amadeus.p95LatencyIncreasePct)}%/${n.amadeus.sloViolationMinutes} min vs ${signed(n.naive.p95LatencyIncreasePct)}%/${plain(n.naive.sloViolationMinutes, 0)} min (${where})`;
  }
  const pods = b.podHours.ratioToHpa === null ? 'n/a' : `${mark(b.podHours.verdict)} ${b.podHours.ratioToHpa.toFixed(2)}×`;
  const ft = b.finetuned.relMae === null || !b.finetuned.bestBaseline ? 'n/a' : `${mark(b.finetuned.verdict)} ${b.finetuned.relMae.toFixed(3)} vs ${b.finetuned.bestBaseline.name} ${b.finetuned.bestBaseline.relMae.toFixed(3)}`;
  const pt = b.pretrained.relMae === null ? 'n/a' : `${mark(b.pretrained.verdict)} ${b.pretrained.relMae.toFixed(3)}`;
  return [p95, vsNaive, pods, ft, pt, b.verdict === 'pass' ? 'PASS' : b.verdict === 'fail' ? 'FAIL' : 'incomplete'];
}

function barTable(groups: Group[]): string[] {
  const header = ['trace', 'role', 'span min (spike)', `p95 < ${BAR.p95IncreasePct}%`, 'vs naive at equal pod-hours (p95/SLO)', `pods ≤ ${BAR.podHoursRatioToHpa}× hpa`, 'lstm-finetuned ≤ best baseline', `lstm-pretrained ≤ ${BAR.pretrainedRelMae.toFixed(1)}`, 'bar'];
  const rows: string[][] = [];
  for (const g of groups) {
    for (const e of g.entries) {
      if (isFailure(e)) rows.push([e.member.name, roleCell(g.role), '', 'failed (below)']);
      else rows.push([e.member.name, roleCell(g.role), `${e.minutes.toLocaleString('en-US')} (${e.spikeMinutes.toLocaleString('en-US')})`, ...barCells(e.bar)]);
    }
    if (g.entries.length > 1) {
      const w = worstOf(g);
      const counts = (['pass', 'fail', 'incomplete'] as const).map((k) => `${w.bar[k]} ${k}`).join(', ');
      rows.push([worstLabel(g), roleCell(g.role), '', ...perCriterion(g), counts]);
    }
  }
  return renderTable(header, rows, 9);
}

/** Per criterion, how many of a group's members passed it (of those it was judged on). */
function perCriterion(g: Group): string[] {
  const bars = g.entries.filter((e): e is MemberResult => !isFailure(e)).map((e) => e.bar);
  const keys = ['p95', 'vsNaive', 'podHours', 'finetuned', 'pretrained'] as const;
  return keys.map((k) => {
    const vs = bars.map((b) => b[k].verdict);
    const judged = vs.filter((v) => v === 'pass' || v === 'fail').length;
    const notRequired = vs.filter((v) => v === 'not-required').length;
    if (judged === 0) return notRequired ? `${notRequired} not required` : 'n/a';
    return `${vs.filter((v) => v === 'pass').length}/${judged} pass` + (notRequired ? `, ${notRequired} not required` : '');
  });
}

/** Generated members: Amadeus beside the mean-knowing oracle's cheapest point that meets the p95 goal. */
function meanOracleTable(groups: Group[]): string[] {
  const header = ['trace', 'role', 'amadeus p95 Δ% / pods ÷ hpa', `mean-oracle: cheapest q with p95 < ${BAR.p95IncreasePct}%`, `within ${BAR.podHoursRatioToHpa}× hpa`];
  const rows: string[][] = [];
  for (const g of groups) {
    for (const e of g.entries) {
      if (isFailure(e) || !e.meanOracle) continue;
      const hpa = e.policies.find((p) => p.name === 'hpa-cpu');
      const am = e.policies.find((p) => p.name === 'amadeus');
      const toHpa = (podHours: number) => (hpa ? ratio(podHours, hpa.podHours) : null);
      const amCell = am ? `${signed(am.p95LatencyIncreasePct)} / ${plain(toHpa(am.podHours), 2)}×` : dash;
      if (e.spikeMinutes === 0) {
        rows.push([e.member.name, roleCell(g.role), amCell, 'no spike minutes', dash]);
        continue;
      }
      const best = cheapestMeeting(e.meanOracle, BAR.p95IncreasePct);
      const last = e.meanOracle[e.meanOracle.length - 1];
      const cell = best
        ? `q${best.q}: ${signed(best.p95LatencyIncreasePct)}%, ${best.sloViolationMinutes} SLO min, ${plain(toHpa(best.podHours), 2)}×`
        : `none up to q${last?.q ?? dash} (${signed(last?.p95LatencyIncreasePct ?? null)}% at ${plain(last ? toHpa(last.podHours) : null, 2)}×)`;
      const ratioToHpa = best ? toHpa(best.podHours) : null;
      rows.push([e.member.name, roleCell(g.role), amCell, cell, ratioToHpa === null ? 'no' : ratioToHpa <= BAR.podHoursRatioToHpa ? 'yes' : 'no']);
    }
  }
  return renderTable(header, rows, 2);
}

function evalTable(groups: Group[], models: readonly string[]): string[] {
  const withCoverage = models.filter((name) => groups.some((g) => g.entries.some((e) => !isFailure(e) && evalModels(e).some((m) => m.name === name && p90Coverage(m) !== null))));
  const header = ['trace', 'role', ...models.map((m) => `${m} relMAE`), ...withCoverage.map((m) => `${m} p90 cov`)];
  const rows: string[][] = [];
  for (const g of groups) {
    for (const e of g.entries) {
      if (isFailure(e)) continue;
      if (e.eval && !('models' in e.eval)) {
        rows.push([e.member.name, roleCell(g.role), 'skipped' in e.eval ? 'not evaluated (below)' : 'failed (below)']);
        continue;
      }
      const score = (name: string) => evalModels(e).find((m) => m.name === name);
      rows.push([e.member.name, roleCell(g.role), ...models.map((m) => plain(score(m)?.relMae ?? null, 3)), ...withCoverage.map((m) => pct(score(m) ? p90Coverage(score(m)!) : null))]);
    }
    if (g.entries.length > 1) {
      const w = worstOf(g).eval;
      const of = (name: string) => w.find((m) => m.name === name);
      rows.push([worstLabel(g), roleCell(g.role), ...models.map((m) => plain(of(m)?.relMae ?? null, 3)), ...withCoverage.map((m) => pct(of(m)?.p90Coverage ?? null))]);
    }
  }
  return renderTable(header, rows, 2);
}

/** `lstm 81%, holt-winters 12%, …`, largest first. */
function modelShares(models: Record<string, number>): string {
  const total = Object.values(models).reduce((a, b) => a + b, 0);
  if (total === 0) return 'no forecast';
  return Object.entries(models)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${((n / total) * 100).toFixed(0)}%`)
    .join(', ');
}

function factorRange(r: SuiteReport): string {
  const curve = r.members.find((e): e is MemberResult => !isFailure(e))?.naiveCurve ?? [];
  const ks = curve.map((c) => c.factor);
  return ks.length ? `${Math.min(...ks).toFixed(2)}…${Math.max(...ks).toFixed(2)}` : dash;
}

export function formatSuite(r: SuiteReport): string {
  const groups = groupsOf(r.members);
  const count = (role: SuiteRole) => r.members.filter((e) => e.member.role === role).length;
  const failed = r.members.filter(isFailure).length;
  const p = r.params;
  const out = [
    `suite ${r.suite}: ${r.members.length} traces (${ROLES.map((role) => `${role} ${count(role)}`).join(', ')})` +
      (failed ? `, ${failed} failed` : '') +
      (r.missing.length ? `, ${r.missing.length} missing` : '') +
      `; the last ${Math.round((1 - r.split) * 1000) / 10}% of each simulated and evaluated`,
    `peak-pods ${p.peakPods}, mu ${p.mu}, start-up ${p.startupSeconds} s` + (r.amadeus ? `; amadeus ${Object.entries(r.amadeus).map(([k, v]) => `${k}=${v}`).join(' ')} (the same for every trace)` : ''),
    `roles — ${ROLES.map((role) => ROLE_NOTES[role]).join('; ')}. "worst of" rows: each column's worst over the group, not one trace's row.`,
    '',
    'Autoscaling outcome (p95/p99: latency increase during spike minutes over the baseline; oracle+5%: the oracle with 5% headroom)',
    ...outcomeTable(groups),
    '',
    `The planner's bar (amadeus with the settings above; p95 required only where oracle+5% reaches it; naive's curve over k ${factorRange(r)}, interpolated at amadeus's pod-hours)`,
    ...barTable(groups),
  ];
  if (r.members.some((e) => !isFailure(e) && e.meanOracle)) {
    out.push(
      '',
      "The mean-knowing oracle (generated traces; a reference, not a policy: it knows the generator's noise-free rate, sales and surges included, but not each minute's draw; it provisions for the q-quantile of the minute's count under the generator's noise law, never below the current load, × (1 + the planner's headroom), at KEDA's poll). Where even it needs more than the pod budget, no forecast meets the p95 goal within it",
      ...meanOracleTable(groups),
    );
  }
  if (r.evalModels.length > 0) out.push('', `Forecast accuracy (amadeus eval's backtest, +10 min: relative MAE, p90 coverage of the horizon's maximum)`, ...evalTable(groups, r.evalModels));
  const chose = r.members.flatMap((e) => {
    const models = isFailure(e) ? undefined : e.policies.find((p) => p.name === 'amadeus')?.models;
    return models ? [`  ${e.member.name}: ${modelShares(models)}`] : [];
  });
  if (chose.length > 0) out.push('', "Amadeus's forecasts: the model the gate chose, share of the span's minutes", ...chose);
  const described = r.members.filter((e) => e.member.describe);
  if (described.length > 0) out.push('', 'Scenario family members:', ...described.map((e) => `  ${e.member.name} (${e.member.role}): ${e.member.describe}`));
  const notes = r.missing.map((m) => `missing: ${m.name}, expected at ${m.path}${m.rebuild ? `; rebuild it with ${m.rebuild}` : ''}`);
  for (const e of r.members) {
    if (isFailure(e)) notes.push(`failed: ${e.member.name}: ${e.error}`);
    else if (e.eval && 'skipped' in e.eval) notes.push(`not evaluated: ${e.member.name}: ${e.eval.skipped}`);
    else if (e.eval && 'failed' in e.eval) notes.push(`eval failed: ${e.member.name}: ${e.eval.failed}`);
  }
  if (notes.length > 0) out.push('', ...notes);
  out.push('', `took ${r.seconds.toFixed(1)} s`);
  return out.join('\n');
}

/** The `--json` object: the report and the worst of each group. */
export function suiteJson(r: SuiteReport): object {
  return { ...r, worst: worstGroups(groupsOf(r.members)).map(worstOf) };
}
