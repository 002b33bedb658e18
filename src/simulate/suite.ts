/**
 * The trace suite (design §5, "judged on many traces, reported on held-out ones"): which traces a
 * planner is judged on, and in which role. NASA is where the planner was designed; the real traces
 * that `scripts/traces/*` build into a traces directory and the report seeds of the randomized
 * scenario family are held out; the family's tuning seeds are where settings may be chosen.
 * A trace the suite names but cannot find is reported with the script that rebuilds it.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator, isScenario, type Scenario } from '../sources/generator.js';
import { describeScenario } from '../sources/scenario-family.js';
import { loadTrace, type Trace } from '../sources/trace.js';
import { MINUTE_MS } from '../series/minute.js';

export const SUITE_NAMES = ['default', 'held-out', 'tune'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/**
 * `design`: the planner was shaped on it, so its figures flatter it. `tune`: settings may be chosen
 * on it. `held-out`: neither; the figures to report.
 */
export type SuiteRole = 'design' | 'tune' | 'held-out';
export const ROLES: readonly SuiteRole[] = ['design', 'tune', 'held-out'];

/**
 * The randomized scenario family: `random` once the generator has it; until then flash-sale seeds
 * stand in (and are named so), so the suite runs end to end either way.
 */
export const FAMILY_SCENARIO: Scenario = isScenario('random') ? 'random' : 'flash-sale';
export const TUNE_SEEDS: readonly number[] = Array.from({ length: 10 }, (_, i) => 1 + i);
export const REPORT_SEEDS: readonly number[] = Array.from({ length: 10 }, (_, i) => 101 + i);
export const FAMILY_DAYS = 21;

export const DEFAULT_TRACES_DIR = 'data/traces';
export const DEFAULT_NASA_TRACE = '../shared/datasets/nasa-http-1995/nasa_http_1995_1min.csv';
/** Where the scripts that rebuild traces live: `<name>/README.md` says how to rebuild `<name>.csv`. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TRACE_SCRIPTS_DIR = join(REPO_ROOT, 'scripts/traces');
const NASA_SCRIPT = join(REPO_ROOT, 'scripts/nasa/README.md');

export type MemberSource = { kind: 'file'; path: string } | { kind: 'generator'; scenario: Scenario; seed: number; days: number };

export interface SuiteMember {
  name: string;
  /** Members of one family and role are summarised together (their worst). */
  family: string;
  role: SuiteRole;
  source: MemberSource;
  /** What a generated member's workload is (the randomized family's draw), for the report. */
  describe?: string;
}

export interface MissingTrace {
  name: string;
  /** Where the suite looked for it. */
  path: string;
  /** The README of the script that rebuilds it, when there is one. */
  rebuild: string | null;
}

export interface Suite {
  /** A suite name, or the directory given. */
  name: string;
  members: SuiteMember[];
  missing: MissingTrace[];
}

export interface SuiteSpec {
  /** A suite name (`default`, `held-out`, `tune`) or a directory of trace CSVs. */
  suite: string;
  tracesDir?: string;
  nasaTrace?: string;
  /** Where `<name>/README.md` of each trace-building script is; its names are the traces expected. */
  scriptsDir?: string;
  familyScenario?: Scenario;
  tuneSeeds?: readonly number[];
  reportSeeds?: readonly number[];
  familyDays?: number;
}

/** A `--suite` value that is neither a suite name nor a directory, or a directory without traces. */
export class SuiteError extends Error {
  override name = 'SuiteError';
}

const isDirectory = (path: string) => existsSync(path) && statSync(path).isDirectory();
/** Paths as a reader at the command line would type them. */
const shown = (path: string) => relative(process.cwd(), path) || '.';

/** The `*.csv` files of a directory, by name; none when it does not exist. */
export function traceFiles(dir: string): string[] {
  if (!isDirectory(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.csv') && statSync(join(dir, f)).isFile())
    .sort()
    .map((f) => join(dir, f));
}

/** A folder of the scripts directory builds a trace when it has a README or a `build-*` command (`lib/` has neither). */
const BUILD_SCRIPT = /^build-.+\.(mjs|js|ts|sh|py)$/;

/** How to rebuild a trace the scripts directory promises: its README, else its build command. */
function rebuildPointer(folder: string): string | null {
  const readme = join(folder, 'README.md');
  if (existsSync(readme)) return readme;
  const script = readdirSync(folder).find((f) => BUILD_SCRIPT.test(f));
  return script === undefined ? null : join(folder, script);
}

/** The traces the scripts directory promises: `<name>` for each folder that builds one, with how. */
function expectedTraces(scriptsDir: string): { name: string; rebuild: string }[] {
  if (!isDirectory(scriptsDir)) return [];
  return readdirSync(scriptsDir)
    .sort()
    .flatMap((name) => {
      const folder = join(scriptsDir, name);
      const rebuild = isDirectory(folder) ? rebuildPointer(folder) : null;
      return rebuild === null ? [] : [{ name, rebuild }];
    });
}

const traceName = (path: string) => basename(path, '.csv');

/** The real traces of `dir` as held-out members, and those the scripts promise that are not there. */
function realTraces(dir: string, scriptsDir: string): { members: SuiteMember[]; missing: MissingTrace[] } {
  const files = traceFiles(dir);
  const found = new Set(files.map(traceName));
  const members = files.map((path): SuiteMember => ({ name: traceName(path), family: 'real', role: 'held-out', source: { kind: 'file', path } }));
  const missing = expectedTraces(scriptsDir)
    .filter((t) => !found.has(t.name))
    .map((t): MissingTrace => ({ name: t.name, path: shown(join(dir, `${t.name}.csv`)), rebuild: shown(t.rebuild) }));
  return { members, missing };
}

function familyMembers(scenario: Scenario, seeds: readonly number[], role: SuiteRole, days: number): SuiteMember[] {
  return seeds.map((seed) => ({
    name: `${scenario} seed ${seed}`,
    family: scenario,
    role,
    source: { kind: 'generator', scenario, seed, days },
    ...(scenario === 'random' && { describe: describeScenario(seed) }),
  }));
}

export function resolveSuite(spec: SuiteSpec): Suite {
  const tracesDir = spec.tracesDir ?? DEFAULT_TRACES_DIR;
  const scriptsDir = spec.scriptsDir ?? TRACE_SCRIPTS_DIR;
  const nasaPath = spec.nasaTrace ?? DEFAULT_NASA_TRACE;
  const scenario = spec.familyScenario ?? FAMILY_SCENARIO;
  const days = spec.familyDays ?? FAMILY_DAYS;
  const tuneSeeds = spec.tuneSeeds ?? TUNE_SEEDS;
  const reportSeeds = spec.reportSeeds ?? REPORT_SEEDS;
  // A seed settings were chosen on cannot also be the evidence that they hold.
  const reused = reportSeeds.filter((seed) => tuneSeeds.includes(seed));
  if (reused.length) throw new SuiteError(`held-out seeds must not be tuning seeds (${tuneSeeds[0]}-${tuneSeeds.at(-1)}): ${reused.slice(0, 5).join(', ')}${reused.length > 5 ? ', …' : ''}`);
  const tune = familyMembers(scenario, tuneSeeds, 'tune', days);
  const report = familyMembers(scenario, reportSeeds, 'held-out', days);
  const nasa = (): { members: SuiteMember[]; missing: MissingTrace[] } =>
    existsSync(nasaPath)
      ? { members: [{ name: 'nasa', family: 'nasa', role: 'design', source: { kind: 'file', path: nasaPath } }], missing: [] }
      : { members: [], missing: [{ name: 'nasa', path: shown(nasaPath), rebuild: shown(NASA_SCRIPT) }] };

  if (!(SUITE_NAMES as readonly string[]).includes(spec.suite)) {
    if (!isDirectory(spec.suite)) throw new SuiteError(`"${spec.suite}" is neither a suite (${SUITE_NAMES.join(', ')}) nor a directory`);
    const members = realTraces(spec.suite, scriptsDir).members;
    if (members.length === 0) throw new SuiteError(`no *.csv trace in directory "${spec.suite}"`);
    return { name: spec.suite, members, missing: [] };
  }
  const name = spec.suite as SuiteName;
  const parts = {
    default: () => [nasa(), realTraces(tracesDir, scriptsDir), { members: [...tune, ...report], missing: [] }],
    'held-out': () => [realTraces(tracesDir, scriptsDir), { members: report, missing: [] }],
    tune: () => [nasa(), { members: tune, missing: [] }],
  }[name]();
  return { name, members: parts.flatMap((p) => p.members), missing: parts.flatMap((p) => p.missing) };
}

/** The generator's traces start on a Monday, so weekday effects line up from the first day. */
export const GENERATOR_START = Date.UTC(2025, 0, 6);

/** `days` of the built-in generator as a trace (one value a minute from GENERATOR_START). */
export function generatedTrace(o: { scenario: Scenario; seed: number; days: number; utcOffsetMinutes?: number }): Trace {
  const utcOffsetMinutes = o.utcOffsetMinutes ?? 0;
  const g = createGenerator({ scenario: o.scenario, seed: o.seed, utcOffsetMinutes });
  const requests = Array.from({ length: Math.round(o.days * 1440) }, (_, i) => g.requests(GENERATOR_START + i * MINUTE_MS));
  return { start: GENERATOR_START, utcOffsetMinutes, requests };
}

/** A member's load: its file read, or its seed generated. */
export function memberTrace(member: SuiteMember): Trace {
  const s = member.source;
  return s.kind === 'file' ? loadTrace(s.path) : generatedTrace(s);
}
