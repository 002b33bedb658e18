/**
 * keda/: the kustomize base and overlays, checked offline.
 *
 * 1. Built without a kustomize binary, by `build()` below: a small resolver of exactly the
 *    kustomize features keda/ uses — `resources` (files, directories, remote URLs recorded but not
 *    fetched), `patches` with a `path` (strategic merge, matched by apiVersion/kind/name/namespace),
 *    `configMapGenerator` (`files`, `options.labels`, `disableNameSuffixHash: true` only),
 *    `namespace` and `images`. Any other field of a kustomization fails the build, so the resolver
 *    can never silently skip something kustomize would do. It also enforces kustomize's two loading
 *    rules that shape keda/'s layout: files only from inside the kustomization's directory, and no
 *    kustomization including one of its own ancestors.
 * 2. Every object is validated against the Kubernetes, KEDA and Prometheus Operator schemas of the
 *    `kubernetes-models` packages (types, enums, required fields, formats) and, because those
 *    validators let unknown fields through, checked field by field against the same packages'
 *    TypeScript declarations: a misspelt field anywhere is an error.
 * 3. Every ScaledObject's metadata goes through Amadeus's own metadata parser.
 * 4. Every AMADEUS_* variable is a real `amadeus serve` option, and the ConfigMap parses as one.
 * 5. The Deployment's security settings and probes, the Services, the dashboard ConfigMap and the
 *    ServiceMonitor are as the README promises.
 *
 * YAML is read with js-yaml, not @kubernetes/client-node's loadAllYaml: that one converts known
 * kinds into its typed models, which silently drops unknown fields (and `$patch` directives) —
 * exactly the mistakes this file is here to catch.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import ts from 'typescript';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim, type IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ScaledObject, type IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication, type ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { ServiceMonitor, type IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { envOf, parseOptions } from './config/options.js';
import { SERVE_OPTIONS } from './config/serve.js';
import { createMetadataParser, KEDA_CONNECTION_KEYS, metadataSchema } from './scaler/metadata.js';
import { prometheusConfigProblems } from './sources/prometheus.js';

const SRC = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(SRC, '..');
const KEDA = join(ROOT, 'keda');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/**
 * Environment variables the manifests may set besides `amadeus serve`'s own options (SERVE_OPTIONS,
 * as envOf names them). The Slack pair is listed here as well because the Slack Secret
 * (keda/base/slack-secret.example.yaml) was written against these names, whether or not the
 * options have landed in SERVE_OPTIONS; any other AMADEUS_* name must be a serve option.
 */
const EXTRA_AMADEUS_ENV = ['AMADEUS_SLACK_TOKEN', 'AMADEUS_SLACK_CHANNEL'] as const;
const SERVE_ENV = new Set(Object.keys(SERVE_OPTIONS).map(envOf));
/** Non-AMADEUS variables the Deployment sets: the downward API's pod identity for the healer. */
const DOWNWARD_ENV = { POD_NAME: 'metadata.name', POD_NAMESPACE: 'metadata.namespace' };

const SCALER_ADDRESS = 'amadeus.amadeus.svc.cluster.local:6000';
const IMAGE = 'ghcr.io/amadeus-autoscaler/amadeus:latest';

// ---------------------------------------------------------------------------------------------
// YAML

type Obj = Record<string, unknown>;
interface K8sObject extends Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } & Obj;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

function loadDocs(file: string): K8sObject[] {
  const docs = yaml.loadAll(readFileSync(file, 'utf8'), undefined, { filename: file }).filter((d) => d !== null && d !== undefined);
  for (const d of docs) {
    if (!isObj(d) || typeof d.apiVersion !== 'string' || typeof d.kind !== 'string' || !isObj(d.metadata) || typeof d.metadata.name !== 'string') {
      throw new Error(`${relative(ROOT, file)}: every document needs apiVersion, kind and metadata.name`);
    }
  }
  return docs as K8sObject[];
}

// ---------------------------------------------------------------------------------------------
// The kustomize resolver (see the header for what it does and does not do)

interface Built {
  objects: K8sObject[];
  /** Remote resources (URLs): recorded, never fetched. */
  remote: string[];
  /** Patches whose target is in a remote resource, so cannot be applied offline. */
  unapplied: { file: string; patch: K8sObject }[];
}

const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'patches', 'configMapGenerator', 'images']);
const REMOTE = /^(https?:\/\/|github\.com\/|git@|ssh:\/\/)/;
// The cluster-scoped kinds keda/ has; the namespace transformer leaves them alone.
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass']);
// Strategic-merge list keys of the lists keda/'s patches touch; any other list is replaced whole.
const MERGE_KEYS: Record<string, string> = { containers: 'name', initContainers: 'name', volumes: 'name', env: 'name', volumeMounts: 'mountPath' };

const inside = (root: string, path: string) => path === root || path.startsWith(root + sep);
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');
const idOf = (o: K8sObject) => `${groupOf(o.apiVersion)}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function kustomizationFile(dir: string): string {
  const found = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).filter((f) => existsSync(f));
  if (found.length !== 1) throw new Error(`${dir}: expected exactly one kustomization file, found ${found.length}`);
  return found[0]!;
}

/** Builds the kustomization in `dir`; `visited` are the directories of the kustomizations including it. */
function build(dir: string, visited: string[] = []): Built {
  dir = resolve(dir);
  for (const v of visited) if (inside(dir, v)) throw new Error(`cycle detected: ${dir} contains visited root ${v}`);
  const file = kustomizationFile(dir);
  const k = yaml.load(readFileSync(file, 'utf8')) as Obj;
  const unknown = Object.keys(k).filter((f) => !KUSTOMIZATION_FIELDS.has(f));
  if (unknown.length) throw new Error(`${relative(ROOT, file)}: ${unknown.join(', ')}: not implemented by this test's resolver`);
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization') throw new Error(`${file}: not a Kustomization`);
  const local = (path: string) => {
    const p = resolve(dir, path);
    // kustomize's default load restrictor (LoadRestrictionsRootOnly).
    if (!inside(dir, p)) throw new Error(`security; file '${p}' is not in or below '${dir}'`);
    return p;
  };

  const out: Built = { objects: [], remote: [], unapplied: [] };
  for (const r of (k.resources ?? []) as string[]) {
    if (REMOTE.test(r)) {
      out.remote.push(r);
      continue;
    }
    const p = resolve(dir, r);
    if (statSync(p).isDirectory()) {
      const sub = build(p, [...visited, dir]);
      out.objects.push(...sub.objects);
      out.remote.push(...sub.remote);
      out.unapplied.push(...sub.unapplied);
    } else out.objects.push(...loadDocs(local(r)));
  }

  for (const g of (k.configMapGenerator ?? []) as Obj[]) {
    const extra = Object.keys(g).filter((f) => !['name', 'namespace', 'files', 'options'].includes(f));
    const options = (g.options ?? {}) as Obj;
    const extraOpts = Object.keys(options).filter((f) => !['labels', 'annotations', 'disableNameSuffixHash'].includes(f));
    if (extra.length || extraOpts.length) throw new Error(`${file}: configMapGenerator ${[...extra, ...extraOpts].join(', ')}: not implemented`);
    // With a hash suffix, kustomize would also rename every reference to the ConfigMap.
    if (options.disableNameSuffixHash !== true) throw new Error(`${file}: configMapGenerator name hashes are not implemented`);
    const data: Record<string, string> = {};
    for (const entry of (g.files ?? []) as string[]) {
      const eq = entry.indexOf('=');
      const path = eq === -1 ? entry : entry.slice(eq + 1);
      const key = eq === -1 ? path.split('/').pop()! : entry.slice(0, eq);
      if (key in data) throw new Error(`${file}: configMapGenerator key ${key} twice`);
      data[key] = readFileSync(local(path), 'utf8');
    }
    const metadata: K8sObject['metadata'] = { name: g.name as string };
    if (g.namespace) metadata.namespace = g.namespace as string;
    if (options.labels) metadata.labels = { ...(options.labels as Record<string, string>) };
    if (options.annotations) metadata.annotations = { ...(options.annotations as Record<string, string>) };
    out.objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data });
  }

  for (const p of (k.patches ?? []) as Obj[]) {
    if (Object.keys(p).join() !== 'path') throw new Error(`${file}: patches support only { path } here (no target, no inline or JSON 6902 patches)`);
    const patchFile = local(p.path as string);
    for (const patch of loadDocs(patchFile)) {
      const ns = patch.metadata.namespace ?? '';
      const targets = out.objects.filter(
        (o) => o.apiVersion === patch.apiVersion && o.kind === patch.kind && o.metadata.name === patch.metadata.name && (o.metadata.namespace ?? '') === ns,
      );
      if (targets.length > 1) throw new Error(`${patchFile}: ${idOf(patch)} matches ${targets.length} objects`);
      if (targets.length === 0) {
        if (out.remote.length === 0) throw new Error(`${patchFile}: no target for ${idOf(patch)}`);
        out.unapplied.push({ file: relative(ROOT, patchFile), patch });
        continue;
      }
      if (patch.$patch === 'delete') out.objects = out.objects.filter((o) => o !== targets[0]);
      else strategicMerge(targets[0]!, patch);
    }
  }

  if (typeof k.namespace === 'string') {
    for (const o of out.objects) {
      if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') throw new Error(`${file}: rewriting binding subjects' namespaces is not implemented`);
      if (o.kind === 'Namespace' && o.apiVersion === 'v1') o.metadata.name = k.namespace;
      else if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    }
  }

  for (const img of (k.images ?? []) as Obj[]) {
    for (const o of out.objects) {
      const pod = ((o.spec as Obj | undefined)?.template as Obj | undefined)?.spec as Obj | undefined;
      for (const c of [...((pod?.containers ?? []) as Obj[]), ...((pod?.initContainers ?? []) as Obj[])]) {
        const ref = parseImage(c.image as string);
        if (ref.name !== img.name) continue;
        c.image = `${(img.newName as string | undefined) ?? ref.name}${img.digest ? `@${img.digest as string}` : `:${(img.newTag as string | undefined) ?? ref.tag ?? 'latest'}`}`;
      }
    }
  }

  const seen = new Set<string>();
  for (const o of out.objects) {
    if (seen.has(idOf(o))) throw new Error(`${file}: ${idOf(o)} defined twice`);
    seen.add(idOf(o));
  }
  return out;
}

function parseImage(image: string): { name: string; tag?: string } {
  const at = image.indexOf('@');
  const base = at === -1 ? image : image.slice(0, at);
  const colon = base.lastIndexOf(':');
  return colon > base.lastIndexOf('/') ? { name: base.slice(0, colon), tag: base.slice(colon + 1) } : { name: base };
}

/** A strategic merge of `patch` into `target` (in place): maps merge, null deletes, keyed lists merge by key. */
function strategicMerge(target: Obj, patch: Obj): void {
  for (const [key, value] of Object.entries(patch)) {
    // `$patch: delete` of a whole object or list item is handled by the callers; nothing else is.
    if (key.startsWith('$')) throw new Error(`strategic-merge directive ${key} is not implemented here`);
    const current = target[key];
    if (value === null) delete target[key];
    else if (isObj(value) && isObj(current)) strategicMerge(current, value);
    else if (Array.isArray(value) && Array.isArray(current) && MERGE_KEYS[key]) {
      const mk = MERGE_KEYS[key]!;
      for (const item of value as Obj[]) {
        const i = (current as Obj[]).findIndex((c) => c[mk] === item[mk]);
        if (item.$patch === 'delete') {
          if (i !== -1) current.splice(i, 1);
        } else if (i === -1) current.push(clone(item));
        else strategicMerge(current[i] as Obj, item);
      }
    } else target[key] = clone(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Schemas: the kubernetes-models validators, plus a strict field check from their declarations

interface Kind {
  validate(o: K8sObject): void;
  /** The model's interface, as `module#Interface`, for the unknown-field check. */
  type: string;
}
const model = (Cls: new (data: never) => { validate(): void }, type: string): Kind => ({ validate: (o) => new Cls(clone(o) as never).validate(), type });
const KINDS: Record<string, Kind> = {
  'v1/Namespace': model(Namespace, 'kubernetes-models/v1/Namespace#INamespace'),
  'v1/ServiceAccount': model(ServiceAccount, 'kubernetes-models/v1/ServiceAccount#IServiceAccount'),
  'v1/ConfigMap': model(ConfigMap, 'kubernetes-models/v1/ConfigMap#IConfigMap'),
  'v1/Secret': model(Secret, 'kubernetes-models/v1/Secret#ISecret'),
  'v1/Service': model(Service, 'kubernetes-models/v1/Service#IService'),
  'v1/PersistentVolumeClaim': model(PersistentVolumeClaim, 'kubernetes-models/v1/PersistentVolumeClaim#IPersistentVolumeClaim'),
  'apps/v1/Deployment': model(Deployment, 'kubernetes-models/apps/v1/Deployment#IDeployment'),
  'policy/v1/PodDisruptionBudget': model(PodDisruptionBudget, 'kubernetes-models/policy/v1/PodDisruptionBudget#IPodDisruptionBudget'),
  'rbac.authorization.k8s.io/v1/ClusterRole': model(ClusterRole, 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole#IClusterRole'),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': model(ClusterRoleBinding, 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding#IClusterRoleBinding'),
  'rbac.authorization.k8s.io/v1/Role': model(Role, 'kubernetes-models/rbac.authorization.k8s.io/v1/Role#IRole'),
  'rbac.authorization.k8s.io/v1/RoleBinding': model(RoleBinding, 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding#IRoleBinding'),
  'keda.sh/v1alpha1/ScaledObject': model(ScaledObject, '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject#IScaledObject'),
  'keda.sh/v1alpha1/TriggerAuthentication': model(TriggerAuthentication, '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication#ITriggerAuthentication'),
  'monitoring.coreos.com/v1/ServiceMonitor': model(ServiceMonitor, '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor#IServiceMonitor'),
};
const kindOf = (o: K8sObject): Kind => {
  const kind = KINDS[`${o.apiVersion}/${o.kind}`];
  if (!kind) throw new Error(`no schema for ${o.apiVersion} ${o.kind} (${o.metadata.name})`);
  return kind;
};

/** The models' declarations, loaded once into a TypeScript program. */
function loadDeclarations(): { checker: ts.TypeChecker; types: Map<string, ts.Type> } {
  const specs = [...new Set(Object.values(KINDS).map((k) => k.type))];
  const virtual = join(SRC, '__manifest_models__.ts');
  const text =
    specs.map((s, i) => `import type { ${s.split('#')[1]} as T${i} } from '${s.split('#')[0]}';`).join('\n') +
    `\nexport interface Models {\n${specs.map((s, i) => `  ${JSON.stringify(s)}: T${i};`).join('\n')}\n}\n`;
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === virtual ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === virtual || fileExists(name);
  const program = ts.createProgram([virtual], options, host);
  const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (problems.length) throw new Error(`the models' declarations do not load: ${problems.join('; ')}`);
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(virtual)!;
  const decl = sf.statements.find(ts.isInterfaceDeclaration)!;
  const models = checker.getTypeAtLocation(decl.name);
  const types = new Map(specs.map((s) => [s, checker.getTypeOfSymbol(checker.getPropertyOfType(models, s)!)]));
  return { checker, types };
}

let declarations: ReturnType<typeof loadDeclarations> | undefined;

/** Fields of `value` that its model does not declare, as paths; `$patch` allowed where `patch`. */
function unknownFields(o: K8sObject, opts: { patch?: boolean } = {}): string[] {
  declarations ??= loadDeclarations();
  const { checker } = declarations;
  const errors: string[] = [];
  const walk = (value: unknown, type: ts.Type, path: string): string[] => {
    if (value === null || typeof value !== 'object') return []; // scalars: the schema validators check them
    type = checker.getNonNullableType(type);
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return [];
    if (type.isUnion()) {
      const structured = ts.TypeFlags.Object | ts.TypeFlags.NonPrimitive | ts.TypeFlags.Intersection | ts.TypeFlags.Any | ts.TypeFlags.Unknown;
      const tries = type.types.filter((t) => t.flags & structured).map((t) => walk(value, t, path));
      if (tries.length === 0) return [`${path}: an object or list where the model has a scalar`];
      return tries.some((t) => t.length === 0) ? [] : tries.sort((a, b) => a.length - b.length)[0]!;
    }
    if (Array.isArray(value)) {
      const element = checker.isArrayType(type) ? checker.getTypeArguments(type as ts.TypeReference)[0] : checker.getIndexTypeOfType(type, ts.IndexKind.Number);
      if (!element) return [`${path}: a list where the model has none`];
      return value.flatMap((v, i) => walk(v, element, `${path}[${i}]`));
    }
    const index = checker.getIndexTypeOfType(type, ts.IndexKind.String);
    return Object.entries(value).flatMap(([key, v]) => {
      if (opts.patch && key === '$patch') return [];
      const prop = checker.getPropertyOfType(type, key);
      if (prop) return walk(v, checker.getTypeOfSymbol(prop), `${path}.${key}`);
      if (index) return walk(v, index, `${path}.${key}`);
      return [`${path}.${key}: unknown field`];
    });
  };
  errors.push(...walk(o, declarations.types.get(kindOf(o).type)!, `${o.kind}/${o.metadata.name}`));
  return errors;
}

function schemaErrors(o: K8sObject): string[] {
  try {
    kindOf(o).validate(o);
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message?: string }[] }).errors;
    return errors?.map((e) => `${o.kind}/${o.metadata.name}${e.instancePath}: ${e.message ?? 'invalid'}`) ?? [String(err)];
  }
}

// ---------------------------------------------------------------------------------------------
// The kustomizations

const KUSTOMIZATIONS = ['keda/base', 'keda/grafana', 'keda/overlays/online-boutique', 'keda/overlays/online-boutique/shop', 'keda/overlays/kind'];
/** Components: built on the base by the real kubectl in src/healer/rbac.test.ts; their files are checked here. */
const COMPONENTS = ['keda/components/namespaced-healer'];
const built = new Map(KUSTOMIZATIONS.map((k) => [k, build(join(ROOT, k))]));
const objectsOf = (k: string) => built.get(k)!.objects;

function find<T>(k: string, apiVersion: string, kind: string, name: string, namespace?: string): T {
  const all = objectsOf(k).filter((o) => o.apiVersion === apiVersion && o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (all.length !== 1) throw new Error(`${k}: ${all.length} × ${kind} ${namespace ?? '*'}/${name}`);
  return all[0] as unknown as T;
}
const all = <T>(k: string, kind: string) => objectsOf(k).filter((o) => o.kind === kind) as unknown as T[];
const amadeusOf = (k: string) => find<IDeployment>(k, 'apps/v1', 'Deployment', 'amadeus', 'amadeus');
const containerOf = (d: IDeployment) => d.spec!.template.spec!.containers.find((c) => c.name === 'amadeus')!;
const configOf = (k: string) => find<IConfigMap>(k, 'v1', 'ConfigMap', 'amadeus-config', 'amadeus').data!;
const AMADEUS_BUILDS = ['keda/base', 'keda/overlays/online-boutique', 'keda/overlays/kind'];

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
const yamlFiles = allFiles(KEDA).filter((f) => /\.ya?ml$/.test(f));

describe('kustomize builds', () => {
  test('every kustomization under keda/ is built here', () => {
    const found = allFiles(KEDA).filter((f) => /(^|\/)kustomization\.ya?ml$|\/Kustomization$/.test(f)).map((f) => relative(ROOT, dirname(f)));
    expect(found.sort()).toEqual([...KUSTOMIZATIONS, ...COMPONENTS].sort());
  });

  test('what each build holds', () => {
    const ids = (k: string) => objectsOf(k).map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort();
    expect(ids('keda/base')).toEqual([
      'ClusterRole -/amadeus-healer',
      'ClusterRoleBinding -/amadeus-healer',
      'ConfigMap amadeus/amadeus-config',
      'ConfigMap amadeus/amadeus-dashboard',
      'Deployment amadeus/amadeus',
      'Namespace -/amadeus',
      'PersistentVolumeClaim amadeus/amadeus-weights',
      'PodDisruptionBudget amadeus/amadeus',
      'Role amadeus/amadeus-leader-election',
      'RoleBinding amadeus/amadeus-leader-election',
      'Service amadeus/amadeus',
      'Service amadeus/amadeus-metrics',
      'ServiceAccount amadeus/amadeus',
      'ServiceMonitor amadeus/amadeus',
    ]);
    const base = ids('keda/base');
    expect(ids('keda/overlays/kind')).toEqual(base.filter((id) => !id.startsWith('PersistentVolumeClaim') && !id.startsWith('ServiceMonitor')));
    expect(ids('keda/overlays/online-boutique')).toEqual(
      [...base, 'Namespace -/online-boutique', 'ScaledObject online-boutique/cartservice', 'ScaledObject online-boutique/checkoutservice', 'ScaledObject online-boutique/frontend', 'TriggerAuthentication online-boutique/amadeus-tls'].sort(),
    );
    expect(built.get('keda/base')!.remote).toEqual([]);
    expect(built.get('keda/overlays/kind')!.remote).toEqual([]);
  });

  test('Online Boutique comes from upstream at a pinned release, and only the heal patches wait for it', () => {
    const shop = built.get('keda/overlays/online-boutique')!;
    expect(shop.remote).toEqual([expect.stringMatching(/^https:\/\/github\.com\/GoogleCloudPlatform\/microservices-demo\/\/kustomize\/base\?ref=v\d+\.\d+\.\d+$/)]);
    // Offline, the upstream Deployments are not here to patch: check the patches themselves.
    expect(shop.unapplied.map((u) => u.file)).toEqual(Array(3).fill('keda/overlays/online-boutique/shop/heal.yaml'));
    const targets = all<IScaledObject>('keda/overlays/online-boutique', 'ScaledObject').map((s) => s.spec.scaleTargetRef.name).sort();
    expect(shop.unapplied.map((u) => u.patch.metadata.name).sort()).toEqual(targets);
    for (const { patch } of shop.unapplied) {
      expect(patch).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: patch.metadata.name, annotations: { 'amadeus.io/heal': 'true' } } });
      expect(unknownFields(patch, { patch: true })).toEqual([]);
    }
  });

});

describe('schemas', () => {
  const cases = [...AMADEUS_BUILDS, 'keda/grafana'].flatMap((k) => objectsOf(k).map((o) => [k, `${o.kind} ${o.metadata.name}`, o] as const));

  test.each(cases)('%s: %s is valid and has no unknown field', (_k, _name, o) => {
    expect(schemaErrors(o)).toEqual([]);
    expect(unknownFields(o)).toEqual([]);
  });

  test('the Slack Secret template is valid too', () => {
    const [secret, ...rest] = loadDocs(join(KEDA, 'base/slack-secret.example.yaml'));
    expect(rest).toEqual([]);
    expect(schemaErrors(secret!)).toEqual([]);
    expect(unknownFields(secret!)).toEqual([]);
  });

  test('every patch file only names fields its kind has', () => {
    const patchFiles = ['keda/overlays/kind/deployment.yaml', 'keda/overlays/kind/config.yaml', 'keda/overlays/kind/remove.yaml', 'keda/overlays/online-boutique/shop/heal.yaml'];
    for (const f of patchFiles) for (const p of loadDocs(join(ROOT, f))) expect(unknownFields(p, { patch: true })).toEqual([]);
  });

  test('a misspelt field is caught, however deep, and so is a wrong type', () => {
    const d = clone(amadeusOf('keda/base')) as unknown as K8sObject;
    const c = containerOf(d as unknown as IDeployment) as unknown as Obj;
    (c.securityContext as Obj).readOnlyRootFilesytem = true;
    (d.spec as Obj).replica = 2;
    expect(unknownFields(d).sort()).toEqual([
      'Deployment/amadeus.spec.replica: unknown field',
      'Deployment/amadeus.spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem: unknown field',
    ]);
    const so = clone(find<K8sObject>('keda/overlays/online-boutique', 'keda.sh/v1alpha1', 'ScaledObject', 'frontend'));
    (so.spec as Obj).fallbak = (so.spec as Obj).fallback;
    ((so.spec as Obj).triggers as Obj[])[0]!.useCachedMetric = true;
    expect(unknownFields(so).sort()).toEqual(['ScaledObject/frontend.spec.fallbak: unknown field', 'ScaledObject/frontend.spec.triggers[0].useCachedMetric: unknown field']);
    (((so.spec as Obj).triggers as Obj[])[0]!.metadata as Obj).targetValue = 20;
    expect(schemaErrors(so)).toEqual(['ScaledObject/frontend/spec/triggers/0/metadata/targetValue: must be string']);
  });

  test('no value that YAML 1.1 (kubectl, KEDA) would read as a boolean where js-yaml reads a string', () => {
    // sigs.k8s.io/yaml reads unquoted on/off/yes/no/y/n as booleans; js-yaml (YAML 1.2) as strings.
    for (const f of yamlFiles) {
      const lines = readFileSync(f, 'utf8').split('\n');
      const bad = lines.filter((l) => /^\s*(- |[^#]*:\s+)(y|n|yes|no|on|off)\s*(#.*)?$/i.test(l) && !/^\s*#/.test(l));
      expect([relative(ROOT, f), bad]).toEqual([relative(ROOT, f), []]);
    }
  });
});

describe('components', () => {
  test.each(COMPONENTS)('%s: valid objects, and one patch per file naming fields its kind has and an object of keda/base', (c) => {
    const k = yaml.load(readFileSync(kustomizationFile(join(ROOT, c)), 'utf8')) as Obj;
    expect([k.apiVersion, k.kind]).toEqual(['kustomize.config.k8s.io/v1alpha1', 'Component']);
    expect(Object.keys(k).sort()).toEqual(['apiVersion', 'kind', 'patches', 'resources']);
    for (const r of k.resources as string[]) {
      for (const o of loadDocs(join(ROOT, c, r))) {
        expect(schemaErrors(o)).toEqual([]);
        expect(unknownFields(o)).toEqual([]);
      }
    }
    const base = objectsOf('keda/base').map(idOf);
    for (const p of k.patches as Obj[]) {
      expect(Object.keys(p)).toEqual(['path']);
      // kustomize 5.5 crashes on two `$patch: delete` documents in one file.
      const [patch, ...more] = loadDocs(join(ROOT, c, p.path as string));
      expect(more).toEqual([]);
      expect(unknownFields(patch!, { patch: true })).toEqual([]);
      expect(base).toContain(idOf(patch!));
    }
  });
});

describe('ScaledObjects', () => {
  const scaledObjects = all<IScaledObject>('keda/overlays/online-boutique', 'ScaledObject');
  const config = configOf('keda/overlays/online-boutique');
  const parse = createMetadataParser(config.AMADEUS_DEFAULT_FORECASTER);
  const accepted = new Set([...Object.keys(metadataSchema()), ...KEDA_CONNECTION_KEYS]);

  test('one each for frontend, cartservice and checkoutservice, in the shop\'s namespace', () => {
    expect(scaledObjects.map((s) => `${s.metadata!.namespace}/${s.metadata!.name}→${s.spec.scaleTargetRef.name}`).sort()).toEqual([
      'online-boutique/cartservice→cartservice',
      'online-boutique/checkoutservice→checkoutservice',
      'online-boutique/frontend→frontend',
    ]);
  });

  test.each(scaledObjects.map((s) => [s.metadata!.name!, s] as const))('%s: external trigger on Amadeus with metadata Amadeus accepts', (_name, so) => {
    expect(so.spec.triggers).toHaveLength(1);
    const trigger = so.spec.triggers[0]!;
    expect(trigger.type).toBe('external');
    expect(trigger.useCachedMetrics).toBe(true);
    // Fallback applies only to AverageValue metrics, the default: nothing may change it.
    expect(trigger.metricType).toBeUndefined();
    const metadata = trigger.metadata;
    expect(metadata.scalerAddress).toBe(SCALER_ADDRESS);
    expect(Object.keys(metadata).filter((key) => !accepted.has(key))).toEqual([]);
    for (const key of ['targetValue', 'metricName', 'quantile', 'headroom', 'mode', 'forecaster', 'serverAddress', 'query']) expect(metadata).toHaveProperty(key);
    // How far ahead to plan: stated, or derived from the pods' start-up time.
    expect('horizonMinutes' in metadata || 'podStartupSeconds' in metadata).toBe(true);
    const parsed = parse(metadata);
    // The Prometheus source's own checks (query present, auth files, the URL), as serve makes them.
    expect(prometheusConfigProblems({ ...parsed, serverAddress: parsed.serverAddress! })).toEqual([]);
    expect(parsed.query).toMatch(/^sum\(/); // one series, as the README asks
    expect(parsed.query).toContain(`destination_workload="${so.spec.scaleTargetRef.name}"`);
  });

  test.each(scaledObjects.map((s) => [s.metadata!.name!, s] as const))('%s: replicas, fallback and scale-down stabilization', (_name, so) => {
    const { minReplicaCount, maxReplicaCount, fallback, advanced } = so.spec;
    expect(minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(maxReplicaCount).toBeGreaterThan(minReplicaCount!);
    expect(fallback!.failureThreshold).toBeGreaterThanOrEqual(1);
    expect(fallback!.replicas).toBeGreaterThanOrEqual(minReplicaCount!);
    expect(fallback!.replicas).toBeLessThanOrEqual(maxReplicaCount!);
    expect(advanced!.horizontalPodAutoscalerConfig!.behavior!.scaleDown!.stabilizationWindowSeconds).toBeGreaterThanOrEqual(300);
  });

  test('scalerAddress names the headless Service and its gRPC port', () => {
    const [host, port] = SCALER_ADDRESS.split(':');
    const [name, namespace] = host!.split('.');
    const svc = find<IService>('keda/overlays/online-boutique', 'v1', 'Service', name!, namespace);
    expect(svc.spec!.clusterIP).toBe('None');
    expect(svc.spec!.ports!.map((p) => p.port)).toContain(Number(port));
  });

  test('the TLS TriggerAuthentication gives KEDA\'s external scaler its three parameters from one Secret', () => {
    const auth = find<ITriggerAuthentication>('keda/overlays/online-boutique', 'keda.sh/v1alpha1', 'TriggerAuthentication', 'amadeus-tls', 'online-boutique');
    const refs = auth.spec.secretTargetRef!;
    expect(refs.map((r) => r.parameter).sort()).toEqual(['caCert', 'tlsClientCert', 'tlsClientKey']);
    expect(new Set(refs.map((r) => r.name)).size).toBe(1);
    // KEDA's parameters, which Amadeus ignores should they ever reach its metadata.
    for (const r of refs) expect(KEDA_CONNECTION_KEYS.has(r.parameter)).toBe(true);
    // The comment names the serve flags that match.
    const text = read('keda/overlays/online-boutique/shop/triggerauthentication.yaml');
    for (const key of ['tlsCert', 'tlsKey', 'tlsClientCa']) {
      expect(SERVE_OPTIONS).toHaveProperty(key);
      expect(text).toContain(envOf(key));
    }
  });
});

describe('amadeus serve configuration', () => {
  test.each(AMADEUS_BUILDS)('%s: every AMADEUS_* variable is a serve option (or the Slack pair)', (k) => {
    const d = amadeusOf(k);
    const c = containerOf(d);
    const names = [...Object.keys(configOf(k)), ...(c.env ?? []).map((e) => e.name)];
    const slack = loadDocs(join(KEDA, 'base/slack-secret.example.yaml'))[0] as unknown as ISecret;
    names.push(...Object.keys(slack.stringData!));
    const allowed = new Set<string>([...SERVE_ENV, ...EXTRA_AMADEUS_ENV]);
    expect(names.filter((n) => n.startsWith('AMADEUS_') && !allowed.has(n))).toEqual([]);
    expect(names.filter((n) => !n.startsWith('AMADEUS_'))).toEqual(Object.keys(DOWNWARD_ENV));
    for (const e of c.env ?? []) expect(e.valueFrom?.fieldRef?.fieldPath).toBe(DOWNWARD_ENV[e.name as keyof typeof DOWNWARD_ENV]);
    // The Secret is the one the Deployment reads, and it may be missing.
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'amadeus-config' } }, { secretRef: { name: slack.metadata!.name, optional: true } }]);
  });

  test.each(AMADEUS_BUILDS)('%s: the ConfigMap and args parse as `amadeus serve` options', (k) => {
    const c = containerOf(amadeusOf(k));
    expect(c.args?.[0]).toBe('serve');
    const opts = parseOptions(SERVE_OPTIONS, c.args!.slice(1), configOf(k));
    const port = (address: string) => Number(address.split(':').pop());
    const containerPort = (name: string) => c.ports!.find((p) => p.name === name)!.containerPort;
    expect(port(opts.address)).toBe(containerPort('grpc'));
    expect(port(opts.metricsAddress)).toBe(containerPort('metrics'));
    // Fine-tuned weights go to a mounted volume, not the read-only root filesystem.
    expect(opts.weightsDir.startsWith('/app/.amadeus/')).toBe(true);
    expect(c.volumeMounts!.map((m) => m.mountPath)).toContain('/app/.amadeus');
    if (k === 'keda/overlays/kind') {
      expect(opts.healKnownGood).toBe(30);
      expect(opts.heal).toBe('on');
      expect(opts.healNamespaces).toBe('e2e');
    } else expect(opts.heal).toBe('auto');
  });
});

describe('the Amadeus Deployment', () => {
  test.each(AMADEUS_BUILDS)('%s: non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', (k) => {
    const d = amadeusOf(k);
    const pod = d.spec!.template.spec!;
    expect(d.spec!.replicas).toBe(2);
    expect(pod.serviceAccountName).toBe('amadeus');
    expect(find(k, 'v1', 'ServiceAccount', 'amadeus', 'amadeus')).toBeDefined();
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(containerOf(d).securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(containerOf(d).securityContext!.capabilities!.add).toBeUndefined();
    // Writable places: the weights and /tmp, each a volume.
    const volumes = new Map(pod.volumes!.map((v) => [v.name, v]));
    const mounts = new Map(containerOf(d).volumeMounts!.map((m) => [m.mountPath, m]));
    expect([...mounts.keys()].sort()).toEqual(['/app/.amadeus', '/tmp']);
    expect(mounts.get('/app/.amadeus')!.readOnly).toBeFalsy();
    expect(volumes.get(mounts.get('/tmp')!.name)!.emptyDir).toBeDefined();
    const weights = volumes.get(mounts.get('/app/.amadeus')!.name)!;
    if (k === 'keda/overlays/kind') expect(weights).toEqual({ name: 'weights', emptyDir: {} });
    else {
      expect(weights.persistentVolumeClaim!.claimName).toBe('amadeus-weights');
      const pvc = find<IPersistentVolumeClaim>(k, 'v1', 'PersistentVolumeClaim', 'amadeus-weights', 'amadeus');
      // Two replicas on any nodes mount it.
      expect(pvc.spec!.accessModes).toEqual(['ReadWriteMany']);
    }
  });

  test.each(AMADEUS_BUILDS)('%s: ports, and HTTP probes on the metrics port', (k) => {
    const c = containerOf(amadeusOf(k));
    expect(c.ports!.map((p) => [p.name, p.containerPort])).toEqual([['grpc', 6000], ['metrics', 9464]]);
    const portOf = (p: number | string) => (typeof p === 'number' ? p : c.ports!.find((x) => x.name === p)!.containerPort);
    expect(c.readinessProbe!.httpGet!.path).toBe('/readyz');
    expect(c.livenessProbe!.httpGet!.path).toBe('/healthz');
    expect(c.startupProbe!.httpGet!.path).toBe('/healthz');
    for (const probe of [c.readinessProbe!, c.livenessProbe!, c.startupProbe!]) expect(portOf(probe.httpGet!.port)).toBe(9464);
    expect(c.resources!.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources!.limits!.memory).toBeDefined();
  });

  test('the image: the placeholder in the base, the local build on kind', () => {
    expect(containerOf(amadeusOf('keda/base')).image).toBe(IMAGE);
    expect(containerOf(amadeusOf('keda/overlays/online-boutique')).image).toBe(IMAGE);
    const kind = containerOf(amadeusOf('keda/overlays/kind'));
    expect([kind.image, kind.imagePullPolicy]).toEqual(['amadeus:e2e', 'Never']);
  });

  test.each(AMADEUS_BUILDS)('%s: the Services and the PodDisruptionBudget select its pods', (k) => {
    const d = amadeusOf(k);
    const labels = d.spec!.template.metadata!.labels!;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([key, v]) => labels[key] === v);
    const services = all<IService>(k, 'Service');
    expect(services.map((s) => s.metadata!.name).sort()).toEqual(['amadeus', 'amadeus-metrics']);
    for (const s of services) expect(selects(s.spec!.selector!)).toBe(true);
    const headless = services.find((s) => s.metadata!.name === 'amadeus')!;
    expect(headless.spec!.clusterIP).toBe('None');
    expect(headless.spec!.ports).toEqual([expect.objectContaining({ name: 'grpc', port: 6000, targetPort: 'grpc' })]);
    const pdb = find<IPodDisruptionBudget>(k, 'policy/v1', 'PodDisruptionBudget', 'amadeus', 'amadeus');
    expect(selects(pdb.spec!.selector!.matchLabels!)).toBe(true);
    expect(pdb.spec!.minAvailable).toBeLessThan(d.spec!.replicas!);
  });
});

describe('dashboard and ServiceMonitor', () => {
  test.each([...AMADEUS_BUILDS, 'keda/grafana'])('%s: the dashboard ConfigMap holds the JSON unchanged, labelled for the Grafana sidecar', (k) => {
    const cm = find<IConfigMap>(k, 'v1', 'ConfigMap', 'amadeus-dashboard', 'amadeus');
    expect(cm.metadata!.labels!.grafana_dashboard).toBe('1');
    expect(Object.keys(cm.data!)).toEqual(['amadeus-dashboard.json']);
    expect(cm.data!['amadeus-dashboard.json']).toBe(read('keda/grafana/amadeus-dashboard.json'));
  });

  test.each(['keda/base', 'keda/overlays/online-boutique'])('%s: the ServiceMonitor scrapes the metrics Service by its port name, once per pod', (k) => {
    const sm = find<IServiceMonitor>(k, 'monitoring.coreos.com/v1', 'ServiceMonitor', 'amadeus', 'amadeus');
    const matchLabels = sm.spec.selector.matchLabels!;
    const selected = all<IService>(k, 'Service').filter(
      (s) => sm.spec.namespaceSelector!.matchNames!.includes(s.metadata!.namespace!) && Object.entries(matchLabels).every(([key, v]) => s.metadata!.labels?.[key] === v),
    );
    // Exactly one Service: two would scrape every pod twice.
    expect(selected.map((s) => s.metadata!.name)).toEqual(['amadeus-metrics']);
    const port = selected[0]!.spec!.ports!.find((p) => p.name === sm.spec.endpoints![0]!.port)!;
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    expect(port.targetPort).toBe('metrics');
    expect(containerOf(amadeusOf(k)).ports!.find((p) => p.name === port.targetPort)!.containerPort).toBe(9464);
  });
});

describe('the resolver itself', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kustomize-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  const KUSTOMIZATION = 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n';

  test('refuses what kustomize refuses: files outside the root, ancestors, unknown fields', () => {
    write('a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
    write('k/kustomization.yaml', `${KUSTOMIZATION}resources: [../a.yaml]\n`);
    expect(() => build(join(dir, 'k'))).toThrow(/is not in or below/);
    write('kustomization.yaml', `${KUSTOMIZATION}resources: [a.yaml]\n`);
    write('k/kustomization.yaml', `${KUSTOMIZATION}resources: [..]\n`);
    expect(() => build(join(dir, 'k'))).toThrow(/cycle detected/);
    write('k/kustomization.yaml', `${KUSTOMIZATION}commonLabels: {a: b}\n`);
    expect(() => build(join(dir, 'k'))).toThrow(/commonLabels: not implemented/);
  });

  test('strategic merge: maps merge, null deletes, keyed lists merge, $patch: delete removes', () => {
    const target = { spec: { a: 1, b: { c: 2 }, containers: [{ name: 'x', image: 'i' }, { name: 'y' }], volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'p' } }], args: ['1', '2'] } };
    strategicMerge(target, { spec: { b: { d: 3 }, containers: [{ name: 'x', imagePullPolicy: 'Never' }, { name: 'y', $patch: 'delete' }], volumes: [{ name: 'v', persistentVolumeClaim: null, emptyDir: {} }], args: ['3'] } });
    expect(target).toEqual({ spec: { a: 1, b: { c: 2, d: 3 }, containers: [{ name: 'x', image: 'i', imagePullPolicy: 'Never' }], volumes: [{ name: 'v', emptyDir: {} }], args: ['3'] } });
    expect(() => strategicMerge({}, { $setElementOrder: [] })).toThrow(/not implemented/);
    expect(parseImage('registry:5000/a/b:1.2@sha256:0')).toEqual({ name: 'registry:5000/a/b', tag: '1.2' });
    expect(parseImage('registry:5000/a/b')).toEqual({ name: 'registry:5000/a/b' });
  });
});
