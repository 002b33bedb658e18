/** The trace suite's members: discovery, roles, and traces it names but cannot find. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { generatedTrace, memberTrace, resolveSuite, SuiteError, TRACE_SCRIPTS_DIR, type SuiteSpec } from './suite.js';

let dir: string;
let traces: string;
let scripts: string;
let nasa: string;

/** A small valid trace CSV. */
const csv = (minutes: number) =>
  ['timestamp,requests', ...Array.from({ length: minutes }, (_, i) => `${new Date(Date.UTC(2025, 0, 6) + i * 60_000).toISOString()},${10 + (i % 7)}`)].join('\n') + '\n';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'amadeus-suite-'));
  traces = join(dir, 'traces');
  scripts = join(dir, 'scripts');
  nasa = join(dir, 'nasa.csv');
  mkdirSync(traces);
  writeFileSync(join(traces, 'shop.csv'), csv(10));
  writeFileSync(join(traces, 'blog.csv'), csv(10));
  writeFileSync(join(traces, 'notes.txt'), 'not a trace');
  mkdirSync(join(traces, 'sources.csv')); // a directory, whatever its name
  writeFileSync(nasa, csv(10));
  // shop has a script and its trace; wiki's README and cdn's build command promise traces that are not there; lib builds none.
  for (const d of ['shop', 'wiki', 'cdn', 'lib']) mkdirSync(join(scripts, d), { recursive: true });
  writeFileSync(join(scripts, 'shop', 'README.md'), '# shop');
  writeFileSync(join(scripts, 'wiki', 'README.md'), '# wiki');
  writeFileSync(join(scripts, 'cdn', 'build-cdn-csv.mjs'), '');
  writeFileSync(join(scripts, 'lib', 'common.mjs'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (suite: string, extra: Partial<SuiteSpec> = {}): SuiteSpec => ({
  suite,
  tracesDir: traces,
  scriptsDir: scripts,
  nasaTrace: nasa,
  familyScenario: 'flash-sale',
  tuneSeeds: [1, 2],
  reportSeeds: [101],
  familyDays: 1,
  ...extra,
});
const summary = (s: ReturnType<typeof resolveSuite>) => s.members.map((m) => `${m.name}:${m.role}:${m.family}`);

test('default: NASA by design, the real traces and the report seeds held out, the tuning seeds to tune on', () => {
  const s = resolveSuite(spec('default'));
  expect(s.name).toBe('default');
  expect(summary(s)).toEqual([
    'nasa:design:nasa',
    'blog:held-out:real',
    'shop:held-out:real',
    'flash-sale seed 1:tune:flash-sale',
    'flash-sale seed 2:tune:flash-sale',
    'flash-sale seed 101:held-out:flash-sale',
  ]);
  expect(s.members[1]!.source).toEqual({ kind: 'file', path: join(traces, 'blog.csv') });
  expect(s.members[3]!.source).toEqual({ kind: 'generator', scenario: 'flash-sale', seed: 1, days: 1 });
});

test('a trace a script promises but the traces directory lacks is reported missing with how to rebuild it', () => {
  const { missing } = resolveSuite(spec('default'));
  const rel = (p: string) => relative(process.cwd(), p);
  expect(missing).toEqual([
    { name: 'cdn', path: rel(join(traces, 'cdn.csv')), rebuild: rel(join(scripts, 'cdn', 'build-cdn-csv.mjs')) },
    { name: 'wiki', path: rel(join(traces, 'wiki.csv')), rebuild: rel(join(scripts, 'wiki', 'README.md')) },
  ]);
  // With no traces directory at all, every promised trace is missing.
  expect(resolveSuite(spec('held-out', { tracesDir: join(dir, 'nowhere') })).missing.map((m) => m.name)).toEqual(['cdn', 'shop', 'wiki']);
});

test('a missing NASA trace is reported with its rebuild script, not skipped', () => {
  const s = resolveSuite(spec('tune', { nasaTrace: join(dir, 'absent.csv') }));
  expect(s.members.map((m) => m.name)).toEqual(['flash-sale seed 1', 'flash-sale seed 2']);
  expect(s.missing).toHaveLength(1);
  expect(s.missing[0]).toMatchObject({ name: 'nasa' });
  expect(s.missing[0]!.rebuild).toMatch(/scripts\/nasa\/README\.md$/);
});

test('held-out has only held-out members; tune has NASA and the tuning seeds and misses no real trace', () => {
  const held = resolveSuite(spec('held-out'));
  expect(held.members.every((m) => m.role === 'held-out')).toBe(true);
  expect(summary(held)).toEqual(['blog:held-out:real', 'shop:held-out:real', 'flash-sale seed 101:held-out:flash-sale']);
  expect(held.missing.map((m) => m.name)).toEqual(['cdn', 'wiki']);
  const tune = resolveSuite(spec('tune'));
  expect(summary(tune)).toEqual(['nasa:design:nasa', 'flash-sale seed 1:tune:flash-sale', 'flash-sale seed 2:tune:flash-sale']);
  expect(tune.missing).toEqual([]);
});

test('a directory: each of its CSVs, held out; no directory or no CSV is an error', () => {
  const s = resolveSuite(spec(traces));
  expect(s.name).toBe(traces);
  expect(summary(s)).toEqual(['blog:held-out:real', 'shop:held-out:real']);
  expect(s.missing).toEqual([]);
  expect(() => resolveSuite(spec(join(dir, 'nowhere')))).toThrow(SuiteError);
  expect(() => resolveSuite(spec(join(dir, 'nowhere')))).toThrow(/neither a suite \(default, held-out, tune\) nor a directory/);
  expect(() => resolveSuite(spec(scripts))).toThrow(/no \*\.csv trace in directory/);
});

test('the randomized family describes each seed; the default family is random and the scripts are the repository\'s', () => {
  const s = resolveSuite(spec('held-out', { familyScenario: 'random', reportSeeds: [101, 102] }));
  const seeds = s.members.filter((m) => m.family === 'random');
  expect(seeds.map((m) => m.name)).toEqual(['random seed 101', 'random seed 102']);
  expect(seeds[0]!.describe).toMatch(/req\/s/);
  expect(seeds[0]!.describe).not.toBe(seeds[1]!.describe);
  expect(resolveSuite({ suite: 'tune', nasaTrace: nasa }).members.slice(1).map((m) => m.name)).toEqual(Array.from({ length: 10 }, (_, i) => `random seed ${i + 1}`));
  expect(resolveSuite({ suite: 'held-out', tracesDir: traces }).members.filter((m) => m.family === 'random').map((m) => m.source)).toEqual(
    Array.from({ length: 10 }, (_, i) => ({ kind: 'generator', scenario: 'random', seed: 101 + i, days: 21 })),
  );
  expect(TRACE_SCRIPTS_DIR).toMatch(/scripts\/traces$/);
});

test('members load: a file as read, a seed generated deterministically from a Monday', () => {
  const file = memberTrace({ name: 'shop', family: 'real', role: 'held-out', source: { kind: 'file', path: join(traces, 'shop.csv') } });
  expect(file.requests).toEqual([10, 11, 12, 13, 14, 15, 16, 10, 11, 12]);
  const a = generatedTrace({ scenario: 'flash-sale', seed: 3, days: 0.5 });
  expect(a.requests).toHaveLength(720);
  expect(new Date(a.start).getUTCDay()).toBe(1);
  expect(generatedTrace({ scenario: 'flash-sale', seed: 3, days: 0.5 }).requests).toEqual(a.requests);
  expect(generatedTrace({ scenario: 'flash-sale', seed: 4, days: 0.5 }).requests).not.toEqual(a.requests);
});

test('held-out seeds can be drawn afresh, but never from the tuning seeds', () => {
  const s = resolveSuite(spec('held-out', { familyScenario: 'random', reportSeeds: [201, 202, 203] }));
  expect(s.members.filter((m) => m.family === 'random').map((m) => `${m.name}:${m.role}`)).toEqual(['random seed 201:held-out', 'random seed 202:held-out', 'random seed 203:held-out']);
  expect(() => resolveSuite(spec('default', { reportSeeds: [2, 3] }))).toThrow(/held-out seeds must not be tuning seeds \(1-2\): 2/);
  expect(() => resolveSuite({ suite: 'held-out', tracesDir: traces, reportSeeds: [9, 10, 11] })).toThrow(/\(1-10\): 9, 10/);
});
