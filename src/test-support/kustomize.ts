/**
 * The real `kubectl kustomize`, for the tests of keda/ (src/manifests.test.ts, src/integration/healer-rbac.test.ts).
 *
 * kubectl must be on the PATH (CI has kubectl v1.32 with kustomize v5.5, and nothing else: no
 * standalone kustomize). The network is off while tests run, so a kustomization with a remote
 * resource (a URL, which kustomize fetches with git) is built from `offlineCopy()`: a copy of the
 * tree in a temporary directory in which each remote resource is replaced by a local stand-in
 * (STAND_INS). Only the copy is rewritten; the files in the repository keep their URLs.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

/** The repository's root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Per build: kustomize takes well under a second here, but the test machines are shared. */
export const KUSTOMIZE_TIMEOUT_MS = 60_000;

/** `kubectl kustomize dir`'s output. Throws with kubectl's stderr (a panic's trace included) when it fails or times out. */
export function kustomizeText(dir: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: KUSTOMIZE_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; status?: number | null; signal?: string | null; message: string };
    const how = e.signal ? `killed by ${e.signal}${e.signal === 'SIGTERM' ? ` (timeout ${KUSTOMIZE_TIMEOUT_MS} ms?)` : ''}` : `exit ${e.status ?? '?'}`;
    throw new Error(`\`kubectl kustomize ${dir}\` failed (${how}):\n${(e.stderr || e.message).slice(0, 4000)}`, { cause: err });
  }
}

/** `kubectl kustomize dir`'s objects, as parsed YAML (js-yaml: unknown fields and all, nothing converted). */
export function kustomize<T = Record<string, unknown>>(dir: string): T[] {
  return (yaml.loadAll(kustomizeText(dir)) as (T | null | undefined)[]).filter((o): o is T => o !== null && o !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Kustomization files, read (not resolved: kubectl does that)

export type Kustomization = Record<string, unknown> & { resources?: string[]; components?: string[]; patches?: Record<string, unknown>[] };

/** The kustomization file of `dir` (kustomize accepts exactly one of these names). */
export function kustomizationFile(dir: string): string {
  const found = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).filter((f) => existsSync(f));
  if (found.length !== 1) throw new Error(`${dir}: expected exactly one kustomization file, found ${found.length}`);
  return found[0]!;
}

export const readKustomization = (dir: string): Kustomization => yaml.load(readFileSync(kustomizationFile(dir), 'utf8')) as Kustomization;

/** What kustomize fetches rather than reads: URLs and git references. */
export const isRemote = (resource: string): boolean => /^(https?:\/\/|github\.com\/|gitlab\.com\/|bitbucket\.org\/|git@|ssh:\/\/|git::|file:\/\/)/.test(resource);

/** The remote resources of the kustomization in `dir` and of every local kustomization it includes. */
export function remoteResources(dir: string): string[] {
  const k = readKustomization(dir);
  return [...(k.resources ?? []), ...(k.components ?? [])].flatMap((r) => {
    if (isRemote(r)) return [r];
    const path = resolve(dir, r);
    return existsSync(path) && statSync(path).isDirectory() ? remoteResources(path) : [];
  });
}

// ---------------------------------------------------------------------------------------------
// Offline builds of kustomizations with remote resources

/**
 * The remote resources keda/ uses, each with the local directory that stands in for it offline.
 * Online Boutique: keda/overlays/online-boutique/shop pulls upstream's kustomize base at a release
 * tag; the stand-in holds the objects the overlay refers to (see its kustomization.yaml).
 */
export const STAND_INS: readonly { url: RegExp; dir: string }[] = [
  {
    url: /^https:\/\/github\.com\/GoogleCloudPlatform\/microservices-demo\/\/kustomize\/base\?ref=v\d+\.\d+\.\d+$/,
    dir: join(ROOT, 'src/test-support/online-boutique-stand-in'),
  },
];

export interface OfflineCopy {
  /** The copy of `ROOT/<path>` (a path relative to the repository's root, inside the copied tree). */
  at(path: string): string;
  /** Each remote resource replaced: in which kustomization (relative to ROOT), the URL, and the stand-in used. */
  replaced: { kustomization: string; url: string; standIn: string }[];
  remove(): void;
}

/**
 * Copies `ROOT/<tree>` (e.g. `keda`) into a new temporary directory, keeping its layout, and in the
 * copy replaces every remote resource of every kustomization with the path of a copy of its stand-in.
 * The replacement is textual — the one `- <url>` line becomes `- <path>` — so the rest of each
 * file is byte for byte what the repository has. A remote resource with no stand-in is an error.
 */
export function offlineCopy(tree: string): OfflineCopy {
  const base = mkdtempSync(join(tmpdir(), 'amadeus-kustomize-'));
  const copy = join(base, 'repo');
  const replaced: OfflineCopy['replaced'] = [];
  try {
    cpSync(join(ROOT, tree), join(copy, tree), { recursive: true });
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
    for (const file of walk(join(copy, tree)).filter((f) => ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].includes(basename(f)))) {
      const k = yaml.load(readFileSync(file, 'utf8')) as Kustomization;
      const remote = [...(k.resources ?? []), ...(k.components ?? [])].filter(isRemote);
      if (remote.length === 0) continue;
      let text = readFileSync(file, 'utf8');
      for (const url of remote) {
        const standIn = STAND_INS.find((s) => s.url.test(url));
        const where = relative(copy, file);
        if (!standIn) throw new Error(`${where}: remote resource ${url} has no stand-in for the offline build (src/test-support/kustomize.ts STAND_INS)`);
        const target = join(base, 'stand-ins', basename(standIn.dir));
        if (!existsSync(target)) cpSync(standIn.dir, target, { recursive: true });
        const line = new RegExp(`^(\\s*-\\s*)${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(\\s*(#.*)?)$`, 'm');
        if ((text.match(new RegExp(line.source, 'gm')) ?? []).length !== 1) throw new Error(`${where}: expected ${url} on a line of its own, once`);
        text = text.replace(line, (_m, pre: string, post: string) => `${pre}${relative(dirname(file), target)}${post}`);
        replaced.push({ kustomization: where, url, standIn: relative(ROOT, standIn.dir) });
      }
      writeFileSync(file, text);
      const after = yaml.load(text) as Kustomization;
      if ([...(after.resources ?? []), ...(after.components ?? [])].some(isRemote)) throw new Error(`${relative(copy, file)}: a remote resource is left`);
    }
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  return { at: (path) => join(copy, path), replaced, remove: () => rmSync(base, { recursive: true, force: true }) };
}
