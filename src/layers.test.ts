/**
 * The folders of src/ import one way (README "Layout"). Every .ts file under src/ — tests included —
 * is read, each relative import (static `import`/`export … from`, side-effect `import '…'`, dynamic
 * `import('…')`, type-only ones too) is mapped to the top-level folder it lands in, and:
 *
 * - a file imports only its own folder and the folders of lower rows of LAYERS, except that a test
 *   may use the helpers of test-support/ (a test is imported by nothing, so it closes no loop);
 * - the rules issue 20 named hold whatever LAYERS says: the ground floor imports nothing else in
 *   src/, plan/ (pure) and config/ (a leaf) import only the ground floor, sources/ never imports
 *   forecast/, forecast/ never imports scaler/, simulate/, cli/ or healer/;
 * - no two top-level folders import each other, directly or around a loop;
 * - no two files import each other, directly or around a loop (eval/models.ts ⇄ eval/lstm-models.ts
 *   once did).
 *
 * A failure names the file, the line and the import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = dirname(fileURLToPath(import.meta.url));
/** The files directly in src/ (tests across the whole tree, like this one). */
const TOP = '(src)';
const GROUND = 'series';

/** Bottom to top. A file may import its own folder and the folders of lower rows, nothing else. */
const LAYERS: readonly (readonly string[])[] = [
  // The ground floor: the minute grid, the history window, gap-aware series helpers, what a forecast is;
  // deadlines on I/O (Prometheus reads and Kubernetes requests share them); bounded reads of small files;
  // bounded reads of paged lists (the healer's lists and the replica set's Leases); name lookups that
  // cannot tie up the thread pool (dns).
  [GROUND, 'deadline', 'dns', 'files', 'paging'],
  // Leaves: flag/env and metadata field parsing; logs, metrics and the /metrics server.
  ['config', 'telemetry'],
  // Pure planning: forecast + observation → the value KEDA scales on.
  ['plan'],
  // Metric sources (replay, generator, Prometheus); notices of a plan (the notifier, Slack);
  // coordination of replicas (Lease membership, rendezvous ownership, published model versions).
  ['sources', 'notify', 'replicas'],
  // The forecasters: baselines, the gate, the LSTM.
  ['forecast'],
  // The backtest.
  ['eval'],
  // What runs: the KEDA scaler, the autoscaling simulator, the healer.
  ['scaler', 'simulate', 'healer'],
  // The commands and their option schemas (cli/options): they wire everything together.
  ['cli'],
  // Test helpers: fakes, harnesses, stand-in servers (a fake Prometheus, a fake Kubernetes API).
  ['test-support'],
  // Benchmarks (the fault soak runs against test-support's misbehaving Prometheus), tests across
  // components, the tests directly in src/.
  ['bench', 'integration', TOP],
];

/**
 * Folder imports against LAYERS tolerated for now, each as [from, to] with a comment saying why and
 * what would remove it. None: keep it so. A listed edge is left out of both the row check and the
 * cycle check; any other edge of a cycle still fails.
 */
const ALLOWED_FOLDER_EDGES: readonly (readonly [string, string])[] = [];
const allowed = (i: Import): boolean => ALLOWED_FOLDER_EDGES.some(([a, b]) => a === i.from && b === i.to);

interface Import {
  /** The importing file, relative to src/ (forward slashes). */
  file: string;
  line: number;
  /** The specifier as written. */
  spec: string;
  /** The imported file, relative to src/, `.js` read as `.ts`. */
  target: string;
  from: string;
  to: string;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const rel = (abs: string): string => relative(SRC, abs).split('\\').join('/');
const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : TOP);
const isTest = (file: string): boolean => file.endsWith('.test.ts');

const FILES = tsFiles(SRC).map(rel).sort();
const IMPORTS: Import[] = FILES.flatMap((file) => {
  const text = readFileSync(join(SRC, file), 'utf8');
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.filter((f) => f.fileName.startsWith('.'))
    .flatMap((f): Import[] => {
      const target = rel(resolve(SRC, dirname(file), f.fileName)).replace(/\.js$/, '.ts');
      if (target.startsWith('../')) return []; // outside src/ (scripts, package.json): not a layer
      const line = text.slice(0, f.pos).split('\n').length;
      return [{ file, line, spec: f.fileName, target, from: folderOf(file), to: folderOf(target) }];
    });
});
const CROSSING = IMPORTS.filter((i) => i.from !== i.to);

const describeImport = (i: Import): string => `${i.file}:${i.line} imports '${i.spec}' (${i.to}/)`;
const rankOf = new Map(LAYERS.flatMap((row, rank) => row.map((folder) => [folder, rank] as const)));

test('the scan sees the tree (every top-level folder has a row, the known imports are found)', () => {
  const folders = [...new Set(FILES.map(folderOf))].sort();
  expect(folders.filter((f) => !rankOf.has(f)).map((f) => `${f}/ is in no row of LAYERS`)).toEqual([]);
  expect(FILES.length).toBeGreaterThan(100);
  // Static, type-only and dynamic imports are all read.
  expect(IMPORTS).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ file: 'plan/plan.ts', target: 'plan/noise.ts' }),
      expect.objectContaining({ file: 'forecast/types.ts', target: 'series/history.ts' }),
      expect.objectContaining({ file: 'eval/lstm-models.ts', target: 'forecast/lstm/io.ts' }),
    ]),
  );
});

test('every import goes to the same folder or a lower row of LAYERS (tests may also use test-support/)', () => {
  const bad = CROSSING.filter((i) => {
    if (allowed(i) || (i.to === 'test-support' && isTest(i.file))) return false;
    return !(rankOf.get(i.to)! < rankOf.get(i.from)!);
  });
  expect(bad.map((i) => `${describeImport(i)}: ${i.from}/ is not above ${i.to}/ in LAYERS`)).toEqual([]);
});

describe('the rules of issue 20, whatever LAYERS says', () => {
  const only = (folder: string, may: readonly string[]) =>
    CROSSING.filter((i) => i.from === folder && !may.includes(i.to)).map((i) => `${describeImport(i)}: ${folder}/ may import only ${may.map((a) => `${a}/`).join(', ') || 'itself'}`);
  const never = (folder: string, forbidden: readonly string[]) =>
    CROSSING.filter((i) => i.from === folder && forbidden.includes(i.to)).map((i) => `${describeImport(i)}: ${folder}/ never imports ${i.to}/`);

  test(`the ground floor (${GROUND}/) imports nothing else in src/`, () => expect(only(GROUND, [])).toEqual([]));
  test('deadline/ (ground floor too) imports nothing else in src/', () => expect(only('deadline', [])).toEqual([]));
  test('files/ (ground floor too) imports nothing else in src/', () => expect(only('files', [])).toEqual([]));
  test('paging/ (ground floor too) imports nothing else in src/', () => expect(only('paging', [])).toEqual([]));
  test('plan/ is pure: it imports only the ground floor', () => expect(only('plan', [GROUND])).toEqual([]));
  test('config/ is a leaf: it imports only the ground floor', () => expect(only('config', [GROUND])).toEqual([]));
  test('sources/ never imports forecast/', () => expect(never('sources', ['forecast'])).toEqual([]));
  test('forecast/ never imports scaler/, simulate/, cli/ or healer/', () => expect(never('forecast', ['scaler', 'simulate', 'cli', 'healer'])).toEqual([]));
});

/** Tarjan's strongly connected components with more than one node (or a node reaching itself). */
function cycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || edges.get(v)?.has(v)) out.push(scc.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

function graph(imports: readonly Import[], node: (i: Import) => [string, string]): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const i of imports) {
    const [a, b] = node(i);
    if (!edges.has(a)) edges.set(a, new Set());
    edges.get(a)!.add(b);
  }
  return edges;
}

test('no import cycle between top-level folders', () => {
  // A test's use of test-support/ closes no loop: nothing imports a test.
  const counted = CROSSING.filter((i) => !allowed(i) && !(i.to === 'test-support' && isTest(i.file)));
  const found = cycles(graph(counted, (i) => [i.from, i.to]));
  const report = found.map((scc) => {
    const inside = counted.filter((i) => scc.includes(i.from) && scc.includes(i.to));
    return `${scc.join(' ⇄ ')}:\n${inside.map((i) => `  ${describeImport(i)}`).join('\n')}`;
  });
  expect(report).toEqual([]);
});

test('no import cycle between files (eval/ included: models.ts ⇄ lstm-models.ts was one)', () => {
  const found = cycles(graph(IMPORTS, (i) => [i.file, i.target]));
  const report = found.map((scc) => {
    const inside = IMPORTS.filter((i) => scc.includes(i.file) && scc.includes(i.target));
    return `${scc.join(' ⇄ ')}:\n${inside.map((i) => `  ${i.file}:${i.line} imports '${i.spec}'`).join('\n')}`;
  });
  expect(report).toEqual([]);
  expect(found.filter((scc) => scc.some((f) => f.startsWith('eval/')))).toEqual([]);
});
