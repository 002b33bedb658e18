/**
 * keda/: the kustomize base, overlays and component, built by the real `kubectl kustomize` and checked.
 *
 * 1. Every kustomization under keda/ is built with `kubectl kustomize` (src/test-support/kustomize.ts:
 *    kubectl v1.32 / kustomize v5.5 in CI, nothing else installed), once per directory, and so is
 *    each component on the overlays it is meant for. The network is off during tests, so the one
 *    remote base — Online Boutique, which keda/overlays/online-boutique/shop pulls from GitHub at a
 *    pinned release — cannot be fetched: those two overlays are built from a copy of keda/ in a
 *    temporary directory in which that URL, and nothing else, is replaced by the path of a local
 *    stand-in (src/test-support/online-boutique-stand-in: the Deployments, Services and
 *    ServiceAccounts the overlay refers to, minimal and schema-valid). Every other kustomization is
 *    built from keda/ itself. The overlay in keda/ keeps its pinned URL.
 * 2. Every object kubectl prints is validated against the Kubernetes, KEDA and Prometheus Operator
 *    schemas of the `kubernetes-models` packages (types, enums, required fields, formats) and,
 *    because those validators let unknown fields through, checked field by field against the same
 *    packages' TypeScript declarations: a misspelt field anywhere is an error. Patch files are
 *    checked the same way.
 * 3. Every ScaledObject's metadata goes through Amadeus's own metadata parser.
 * 4. Every AMADEUS_* variable is a real `amadeus serve` option, and the ConfigMap parses as one.
 * 5. The Deployment's security settings and probes, the Services, the dashboard ConfigMap and the
 *    ServiceMonitor are as the README promises.
 * 6. What the replica model needs (README, "Deploying on Kubernetes"): the Lease verbs in Amadeus's
 *    namespace, one weights volume shared by every replica, a PodDisruptionBudget over the pods.
 *
 * YAML is read with js-yaml, not @kubernetes/client-node's loadAllYaml: that one converts known
 * kinds into its typed models, which silently drops unknown fields (and `$patch` directives) —
 * exactly the mistakes this file is here to catch.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import ts from 'typescript';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role, type IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding, type IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { NetworkPolicy, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace, type INamespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim, type IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ScaledObject, type IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication, type ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor, type IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { envOf, parseOptions } from './config/options.js';
import { SERVE_OPTIONS } from './cli/options/serve.js';
import { createMetadataParser, KEDA_CONNECTION_KEYS, metadataSchema } from './scaler/metadata.js';
import { prometheusConfigProblems } from './sources/prometheus.js';
import { isRemote, kustomizationFile, kustomize, offlineCopy, readKustomization, remoteResources, ROOT } from './test-support/kustomize.js';

const SRC = dirname(fileURLToPath(import.meta.url));
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

/** A file's documents as they are written: for patch files, a component's resources and the Slack Secret template. */
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
  'networking.k8s.io/v1/NetworkPolicy': model(NetworkPolicy, 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy#INetworkPolicy'),
  'rbac.authorization.k8s.io/v1/ClusterRole': model(ClusterRole, 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole#IClusterRole'),
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': model(ClusterRoleBinding, 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding#IClusterRoleBinding'),
  'rbac.authorization.k8s.io/v1/Role': model(Role, 'kubernetes-models/rbac.authorization.k8s.io/v1/Role#IRole'),
  'rbac.authorization.k8s.io/v1/RoleBinding': model(RoleBinding, 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding#IRoleBinding'),
  'keda.sh/v1alpha1/ScaledObject': model(ScaledObject, '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject#IScaledObject'),
  'keda.sh/v1alpha1/TriggerAuthentication': model(TriggerAuthentication, '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication#ITriggerAuthentication'),
  'monitoring.coreos.com/v1/ServiceMonitor': model(ServiceMonitor, '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor#IServiceMonitor'),
  'monitoring.coreos.com/v1/PrometheusRule': model(PrometheusRule, '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule#IPrometheusRule'),
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
// The kustomizations, built by the real `kubectl kustomize`

const KUSTOMIZATIONS = ['keda/base', 'keda/grafana', 'keda/overlays/online-boutique', 'keda/overlays/online-boutique/shop', 'keda/overlays/kind-online-boutique', 'keda/overlays/kind'];
const COMPONENTS = ['keda/components/namespaced-healer', 'keda/components/network-policy', 'keda/components/no-prometheus-operator'];
/** The kustomizations each component is meant to be used from (keda/README.md): it is built on each. */
const COMPONENT_BASES: Record<string, string[]> = {
  'keda/components/namespaced-healer': ['keda/base', 'keda/overlays/online-boutique'],
  'keda/components/network-policy': ['keda/base', 'keda/overlays/online-boutique'],
  'keda/components/no-prometheus-operator': ['keda/base'],
};
const OB = 'keda/overlays/online-boutique';

/**
 * keda/ copied to a temporary directory with each remote resource replaced by its local stand-in
 * (offlineCopy in src/test-support/kustomize.ts), for the builds that would otherwise fetch from
 * GitHub. Nothing else in the copy differs from keda/.
 */
const offline = offlineCopy('keda');
afterAll(() => offline.remove());

/** Where `k` is built: keda/ itself, unless it or a kustomization it includes has a remote resource. */
const buildDir = (k: string) => (remoteResources(join(ROOT, k)).length > 0 ? offline.at(k) : join(ROOT, k));

/**
 * An overlay of `base` using `component`, as keda/README.md tells users to write one, in the offline
 * copy (kustomize takes relative paths only). Its name is the build's key.
 */
function withComponent(base: string, component: string): string {
  const dir = offline.at(`keda/overlays/test-${basename(component)}-on-${base.replace(/^keda\//, '').replace(/\//g, '-')}`);
  mkdirSync(dir, { recursive: true });
  const k = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [relative(dir, offline.at(base))], components: [relative(dir, offline.at(component))] };
  writeFileSync(join(dir, 'kustomization.yaml'), yaml.dump(k));
  return dir;
}
const COMPONENT_BUILDS = COMPONENTS.flatMap((c) => COMPONENT_BASES[c]!.map((base) => ({ component: c, base, dir: withComponent(base, c) })));

/** Each build, once per directory: a kustomization's path relative to ROOT, or an absolute directory. */
const builds = new Map<string, { objects: K8sObject[] } | { error: Error }>();
function buildOf(k: string): { objects: K8sObject[] } | { error: Error } {
  let b = builds.get(k);
  if (!b) {
    try {
      b = { objects: kustomize<K8sObject>(isAbsolute(k) ? k : buildDir(k)) };
    } catch (err) {
      b = { error: err as Error };
    }
    builds.set(k, b);
  }
  return b;
}
/** The objects `kubectl kustomize` printed for `k`; its failure, thrown, if it failed. */
function objectsOf(k: string): K8sObject[] {
  const b = buildOf(k);
  if ('error' in b) throw b.error;
  return b.objects;
}
/**
 * For the case lists of test.each, made while this file loads: a build that failed gives no cases
 * (its own test, 'builds with the real `kubectl kustomize`', fails with kubectl's error) instead of
 * failing the whole file.
 */
const objectsOrNone = (k: string): K8sObject[] => {
  const b = buildOf(k);
  return 'error' in b ? [] : b.objects;
};

function find<T>(k: string, apiVersion: string, kind: string, name: string, namespace?: string): T {
  const all = objectsOf(k).filter((o) => o.apiVersion === apiVersion && o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (all.length !== 1) throw new Error(`${k}: ${all.length} × ${kind} ${namespace ?? '*'}/${name}`);
  return all[0] as unknown as T;
}
const all = <T>(k: string, kind: string) => objectsOf(k).filter((o) => o.kind === kind) as unknown as T[];
const amadeusOf = (k: string) => find<IDeployment>(k, 'apps/v1', 'Deployment', 'amadeus', 'amadeus');
const containerOf = (d: IDeployment) => d.spec!.template.spec!.containers.find((c) => c.name === 'amadeus')!;
const configOf = (k: string) => find<IConfigMap>(k, 'v1', 'ConfigMap', 'amadeus-config', 'amadeus').data!;
/** Online Boutique on kind (scripts/kind-online-boutique.sh): a sibling, as kustomize refuses a child including its parent. */
const KIND_OB = 'keda/overlays/kind-online-boutique';
const AMADEUS_BUILDS = ['keda/base', OB, KIND_OB, 'keda/overlays/kind'];
/** Builds for kind's single node: the weights claim ReadWriteOnce, shared by the replicas on it. */
const SINGLE_NODE = new Set(['keda/overlays/kind', KIND_OB]);
const ids = (objects: K8sObject[]) => objects.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort();

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
const yamlFiles = allFiles(KEDA).filter((f) => /\.ya?ml$/.test(f));
/** Every patch file a kustomization or component under keda/ names (they all use `path`). */
const patchFiles = [...KUSTOMIZATIONS, ...COMPONENTS].flatMap((k) =>
  (readKustomization(join(ROOT, k)).patches ?? []).map((p) => {
    if (typeof p.path !== 'string' || Object.keys(p).length !== 1) throw new Error(`${k}: a patch that is not { path }: ${JSON.stringify(p)}`);
    return join(k, p.path);
  }),
);

describe('kustomize builds', () => {
  test('every kustomization under keda/ is built here', () => {
    const found = allFiles(KEDA).filter((f) => /(^|\/)kustomization\.ya?ml$|\/Kustomization$/.test(f)).map((f) => relative(ROOT, dirname(f)));
    expect(found.sort()).toEqual([...KUSTOMIZATIONS, ...COMPONENTS].sort());
  });

  test.each(KUSTOMIZATIONS)('%s builds with the real `kubectl kustomize`', (k) => {
    expect(objectsOf(k).length).toBeGreaterThan(0);
  });

  test.each(COMPONENT_BUILDS.map((b) => [b.component, b.base, b.dir] as const))('%s builds with the real `kubectl kustomize` on %s', (_c, _base, dir) => {
    expect(objectsOf(dir).length).toBeGreaterThan(0);
  });

  test('keda/overlays/kind, which scripts/kind-e2e.sh applies, builds from keda/ itself (kustomize 5.5 panicked on its two deletions in one file)', () => {
    // It has no remote resource, so this is exactly `kubectl kustomize keda/overlays/kind`, and what
    // `kubectl apply -k keda/overlays/kind` builds.
    expect(buildDir('keda/overlays/kind')).toBe(join(ROOT, 'keda/overlays/kind'));
    const built = ids(objectsOf('keda/overlays/kind'));
    expect(built.filter((id) => /^(ServiceMonitor|PrometheusRule) /.test(id))).toEqual([]);
    expect(built).toContain('Deployment amadeus/amadeus');
    expect(built).toContain('PersistentVolumeClaim amadeus/amadeus-weights');
  });

  // README.md's "Deploying on Kubernetes" tells users to apply the base through an overlay of their
  // own (the base alone names a placeholder image and a claim without a storage class): that overlay,
  // as printed there, builds, with and without the component its comment offers.
  test('the README\'s own overlay (`my-amadeus`) builds: the image replaced, the claim given a storage class; with the component, no Prometheus Operator objects', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /```yaml\n# my-amadeus\/kustomization\.yaml\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    for (const withComponentToo of [false, true]) {
      const text = withComponentToo ? block![1]!.replace(/^# components:\n# {3}- /m, 'components:\n  - ') : block![1]!;
      const dir = offline.at(`my-amadeus-${withComponentToo ? 'no-operator' : 'plain'}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'kustomization.yaml'), text);
      const objects = kustomize<K8sObject>(dir);
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'amadeus') as unknown as IDeployment;
      expect(deployment.spec!.template.spec!.containers.map((c) => c.image)).toEqual(['ghcr.io/you/amadeus:1']);
      const claim = objects.find((o) => o.kind === 'PersistentVolumeClaim') as unknown as IPersistentVolumeClaim;
      expect(claim.spec!.storageClassName).toBe('nfs-client');
      expect(claim.spec!.accessModes).toEqual(['ReadWriteMany']);
      expect(objects.filter((o) => o.kind === 'ServiceMonitor' || o.kind === 'PrometheusRule')).toHaveLength(withComponentToo ? 0 : 2);
    }
  });

  test('a `$patch: delete` patch file holds that one document (kustomize 5.5 panics on a deletion followed by another patch in the same file)', () => {
    // The panic (nil pointer in GetApiVersion) comes when the document after a deletion looks for its
    // target; kubectl 1.32 ships kustomize 5.5. The builds above catch it with the kubectl CI has;
    // this keeps the files buildable by it even if CI's kubectl moves on.
    for (const f of patchFiles) {
      const docs = loadDocs(join(ROOT, f));
      if (docs.some((d) => d.$patch === 'delete')) expect([f, docs.length]).toEqual([f, 1]);
    }
  });

  test('what each build holds', () => {
    expect(ids(objectsOf('keda/base'))).toEqual([
      'ClusterRole -/amadeus-healer',
      'ClusterRoleBinding -/amadeus-healer',
      'ConfigMap amadeus/amadeus-config',
      'ConfigMap amadeus/amadeus-dashboard',
      'Deployment amadeus/amadeus',
      'Namespace -/amadeus',
      'PersistentVolumeClaim amadeus/amadeus-weights',
      'PodDisruptionBudget amadeus/amadeus',
      'PrometheusRule amadeus/amadeus',
      'Role amadeus/amadeus-leader-election',
      'RoleBinding amadeus/amadeus-leader-election',
      'Service amadeus/amadeus',
      'Service amadeus/amadeus-metrics',
      'ServiceAccount amadeus/amadeus',
      'ServiceMonitor amadeus/amadeus',
    ]);
    const base = ids(objectsOf('keda/base'));
    expect(ids(objectsOf('keda/overlays/kind'))).toEqual(base.filter((id) => !id.startsWith('ServiceMonitor') && !id.startsWith('PrometheusRule')));
    expect(ids(objectsOf('keda/grafana'))).toEqual(['ConfigMap amadeus/amadeus-dashboard']);
    // The shop: Amadeus's additions, and the stand-in's objects where upstream's would be.
    const standIn = ['frontend', 'cartservice', 'checkoutservice'].flatMap((n) => [`Deployment online-boutique/${n}`, `Service online-boutique/${n}`, `ServiceAccount online-boutique/${n}`]);
    const shop = ['Namespace -/online-boutique', 'ScaledObject online-boutique/cartservice', 'ScaledObject online-boutique/checkoutservice', 'ScaledObject online-boutique/frontend', 'TriggerAuthentication online-boutique/amadeus-tls', ...standIn];
    expect(ids(objectsOf(`${OB}/shop`))).toEqual(shop.sort());
    expect(ids(objectsOf(OB))).toEqual([...base, ...shop].sort());
  });

  test('only the Online Boutique overlays need the network: everything else is built from keda/ itself', () => {
    for (const k of [...KUSTOMIZATIONS, ...COMPONENTS]) {
      if (k.startsWith(OB) || k === KIND_OB) expect(buildDir(k)).toBe(offline.at(k));
      else expect([k, remoteResources(join(ROOT, k)), buildDir(k)]).toEqual([k, [], join(ROOT, k)]);
    }
  });

  test('Online Boutique comes from upstream at a pinned release; offline, the stand-in takes its place and the heal patches apply to it', () => {
    const pinned = /^https:\/\/github\.com\/GoogleCloudPlatform\/microservices-demo\/\/kustomize\/base\?ref=v\d+\.\d+\.\d+$/;
    expect(remoteResources(join(ROOT, OB))).toEqual([expect.stringMatching(pinned)]);
    expect(readKustomization(join(ROOT, `${OB}/shop`)).resources!.filter(isRemote)).toEqual([expect.stringMatching(pinned)]);
    // In the copy, that one line and nothing else.
    expect(offline.replaced).toEqual([{ kustomization: `keda/overlays/online-boutique/shop/${basename(kustomizationFile(join(ROOT, `${OB}/shop`)))}`, url: expect.stringMatching(pinned), standIn: 'src/test-support/online-boutique-stand-in' }]);
    const original = read(`keda/overlays/online-boutique/shop/${basename(kustomizationFile(join(ROOT, `${OB}/shop`)))}`).split('\n');
    const copied = readFileSync(kustomizationFile(offline.at(`${OB}/shop`)), 'utf8').split('\n');
    expect(copied.filter((line, i) => line !== original[i])).toEqual([expect.stringMatching(/^ {2}- (\.\.\/)+stand-ins\/online-boutique-stand-in$/)]);
    // heal.yaml annotates exactly the Deployments the ScaledObjects scale, and kustomize applied it.
    const targets = all<IScaledObject>(OB, 'ScaledObject').map((s) => s.spec.scaleTargetRef.name).sort();
    const patches = loadDocs(join(ROOT, `${OB}/shop/heal.yaml`));
    expect(patches.map((p) => p.metadata.name).sort()).toEqual(targets);
    for (const patch of patches) expect(patch).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: patch.metadata.name, annotations: { 'amadeus.io/heal': 'true' } } });
    for (const name of targets) {
      const d = find<IDeployment>(OB, 'apps/v1', 'Deployment', name, 'online-boutique');
      expect(d.metadata!.annotations).toEqual({ 'amadeus.io/heal': 'true' });
    }
  });
});

describe('schemas', () => {
  const cases = [...AMADEUS_BUILDS, 'keda/grafana'].flatMap((k) => objectsOrNone(k).map((o) => [k, `${o.kind} ${o.metadata.name}`, o] as const));

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
    expect(patchFiles.length).toBeGreaterThan(4);
    for (const f of patchFiles) for (const p of loadDocs(join(ROOT, f))) expect([f, unknownFields(p, { patch: true })]).toEqual([f, []]);
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
  /** The component's kustomization (a Component) and its build on a base, every object valid. */
  const validBuild = (c: string, dir: string) => {
    const k = readKustomization(join(ROOT, c));
    expect([k.apiVersion, k.kind]).toEqual(['kustomize.config.k8s.io/v1alpha1', 'Component']);
    const objects = objectsOf(dir);
    for (const o of objects) {
      expect(schemaErrors(o)).toEqual([]);
      expect(unknownFields(o)).toEqual([]);
    }
    return { k, objects };
  };
  const healerBuilds = COMPONENT_BUILDS.filter((b) => b.component === 'keda/components/namespaced-healer');
  test.each(healerBuilds.map((b) => [b.component, b.base, b.dir] as const))('%s on %s: every object valid, the ClusterRole replaced by a Role in each healed namespace', (c, base, dir) => {
    const { k, objects } = validBuild(c, dir);
    // What the build holds: the base's objects, less what the component deletes, plus what it adds.
    const deleted = (k.patches ?? []).flatMap((p) => loadDocs(join(ROOT, c, p.path as string))).filter((p) => p.$patch === 'delete');
    const added = (k.resources ?? []).flatMap((r) => loadDocs(join(ROOT, c, r)));
    expect(deleted.map((d) => `${d.kind} ${d.metadata.name}`).sort()).toEqual(['ClusterRole amadeus-healer', 'ClusterRoleBinding amadeus-healer']);
    const gone = new Set(ids(deleted));
    expect(ids(objects)).toEqual([...ids(objectsOf(base)).filter((id) => !gone.has(id)), ...ids(added)].sort());
    // A Role and RoleBinding amadeus-healer in each namespace AMADEUS_HEAL_NAMESPACES lists, and nowhere else.
    const namespaces = configOf(dir).AMADEUS_HEAL_NAMESPACES!.split(',').map((n) => n.trim()).sort();
    for (const kind of ['Role', 'RoleBinding']) {
      expect(objects.filter((o) => o.kind === kind && o.metadata.name === 'amadeus-healer').map((o) => o.metadata.namespace).sort()).toEqual(namespaces);
    }
    expect(objects.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
  });

  const policyBuilds = COMPONENT_BUILDS.filter((b) => b.component === 'keda/components/network-policy');
  test.each(policyBuilds.map((b) => [b.component, b.base, b.dir] as const))('%s on %s: the base plus one valid NetworkPolicy over the scaler pods — gRPC from KEDA\'s namespace only, the metrics port from anywhere', (c, base, dir) => {
    const { objects } = validBuild(c, dir);
    expect(ids(objects)).toEqual([...ids(objectsOf(base)), 'NetworkPolicy amadeus/amadeus'].sort());
    const policy = objects.find((o) => o.kind === 'NetworkPolicy') as unknown as INetworkPolicy;
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'amadeus') as unknown as IDeployment;
    // It selects the scaler's pods, and names ports the container declares.
    const labels = deployment.spec!.template.metadata!.labels!;
    expect(Object.entries(policy.spec!.podSelector!.matchLabels!).every(([key, v]) => labels[key] === v)).toBe(true);
    const ports = new Map(deployment.spec!.template.spec!.containers[0]!.ports!.map((p) => [p.name, p.containerPort]));
    expect(policy.spec!.policyTypes).toEqual(['Ingress']);
    const rules = policy.spec!.ingress!.map((r) => ({ from: r.from ?? null, ports: r.ports!.map((p) => ports.get(String(p.port))) }));
    expect(rules).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } }], ports: [6000] },
      { from: null, ports: [9464] },
    ]);
  });
});

describe('ScaledObjects', () => {
  const scaledObjects = objectsOrNone(OB).filter((o) => o.kind === 'ScaledObject') as unknown as IScaledObject[];
  const accepted = new Set([...Object.keys(metadataSchema()), ...KEDA_CONNECTION_KEYS]);
  const parse: ReturnType<typeof createMetadataParser> = (metadata) => createMetadataParser(configOf(OB).AMADEUS_DEFAULT_FORECASTER)(metadata);

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
      expect(opts.replicas).toBe('on');
      // scripts/kind-e2e.sh's ScaledObject has no query: only this test overlay turns replay on.
      expect(opts.replay).toBe(true);
    } else {
      expect([opts.heal, opts.replicas]).toEqual(['auto', 'auto']);
      // Synthetic load for a trigger without a query: never where real workloads are scaled.
      expect([opts.replay, opts.demo, opts.replayTrace]).toEqual([false, false, undefined]);
    }
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
    expect(weights).toEqual({ name: 'weights', persistentVolumeClaim: { claimName: 'amadeus-weights' } });
    const pvc = find<IPersistentVolumeClaim>(k, 'v1', 'PersistentVolumeClaim', 'amadeus-weights', 'amadeus');
    // Two replicas on any nodes mount it; on kind's single node, ReadWriteOnce is shared by its pods.
    expect(pvc.spec!.accessModes).toEqual([SINGLE_NODE.has(k) ? 'ReadWriteOnce' : 'ReadWriteMany']);
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
    const services = all<IService>(k, 'Service').filter((s) => s.metadata!.namespace === 'amadeus');
    expect(services.map((s) => s.metadata!.name).sort()).toEqual(['amadeus', 'amadeus-metrics']);
    for (const s of services) expect(selects(s.spec!.selector!)).toBe(true);
    const headless = services.find((s) => s.metadata!.name === 'amadeus')!;
    expect(headless.spec!.clusterIP).toBe('None');
    expect(headless.spec!.ports).toEqual([expect.objectContaining({ name: 'grpc', port: 6000, targetPort: 'grpc' })]);
    const pdb = find<IPodDisruptionBudget>(k, 'policy/v1', 'PodDisruptionBudget', 'amadeus', 'amadeus');
    expect(selects(pdb.spec!.selector!.matchLabels!)).toBe(true);
    expect(pdb.spec!.selector!.matchExpressions).toBeUndefined();
    // One replica at a time, whatever the replica count: a drain can proceed, and KEDA keeps a scaler.
    expect(pdb.spec).toMatchObject({ maxUnavailable: 1 });
    expect(pdb.spec!.minAvailable).toBeUndefined();
    expect(d.spec!.replicas).toBeGreaterThan(1);
  });
});

describe('the replica model', () => {
  /** Every build with the Amadeus Deployment: the overlays, and the component on each of its bases. */
  const REPLICA_BUILDS = [...AMADEUS_BUILDS, ...COMPONENT_BUILDS.map((b) => b.dir)];
  const name = (k: string) => (isAbsolute(k) ? relative(offline.at('keda'), k) : k);
  const LEASE_VERBS = ['create', 'delete', 'get', 'list', 'update'];

  /**
   * The verbs on coordination.k8s.io leases granted to `sa` in `namespace` (all names: a replica's
   * Lease is named after its pod), through RoleBindings there and ClusterRoleBindings.
   */
  function leaseVerbs(k: string, sa: { namespace: string; name: string }, namespace: string): string[] {
    const objects = objectsOf(k);
    const bound = (b: IRoleBinding) => (b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === sa.name && s.namespace === sa.namespace);
    const roles = objects
      .filter((o) => (o.kind === 'RoleBinding' && o.metadata.namespace === namespace) || o.kind === 'ClusterRoleBinding')
      .filter((b) => bound(b as unknown as IRoleBinding))
      .map((b) => (b as unknown as IRoleBinding).roleRef)
      .map((ref) => objects.find((o) => o.kind === ref.kind && o.metadata.name === ref.name && (ref.kind === 'ClusterRole' || o.metadata.namespace === namespace)) as unknown as IRole | undefined);
    const rules = roles.flatMap((r) => r?.rules ?? []);
    const leases = rules.filter((r) => r.apiGroups?.includes('coordination.k8s.io') && r.resources?.includes('leases') && !r.resourceNames?.length);
    return [...new Set(leases.flatMap((r) => r.verbs))].sort();
  }

  test.each(REPLICA_BUILDS.map((k) => [name(k), k]))('%s: the pods\' service account may get, list, create, update and delete Leases in Amadeus\'s namespace, and nowhere else', (_name, k) => {
    const d = amadeusOf(k);
    const namespace = d.metadata!.namespace!;
    const sa = { namespace, name: d.spec!.template.spec!.serviceAccountName! };
    expect(leaseVerbs(k, sa, namespace)).toEqual(LEASE_VERBS);
    // Both Leases live in the pod's own namespace (POD_NAMESPACE): nothing moves them elsewhere.
    const config = configOf(k);
    for (const key of ['AMADEUS_HEAL_LEASE_NAMESPACE', 'AMADEUS_REPLICA_NAMESPACE']) expect([key, config[key] ?? namespace]).toEqual([key, namespace]);
    // No ClusterRole grants Leases: they would be writable in every namespace.
    const clusterRoles = objectsOf(k).filter((o) => o.kind === 'ClusterRole') as unknown as IRole[];
    expect(clusterRoles.flatMap((r) => r.rules ?? []).filter((r) => r.resources?.includes('leases'))).toEqual([]);
    expect(leaseVerbs(k, sa, 'elsewhere')).toEqual([]);
  });

  test.each(REPLICA_BUILDS.map((k) => [name(k), k]))('%s: the weights directory is on one volume that every replica mounts, never one of its own', (_name, k) => {
    const d = amadeusOf(k);
    const pod = d.spec!.template.spec!;
    const c = containerOf(d);
    const { weightsDir } = parseOptions(SERVE_OPTIONS, c.args!.slice(1), configOf(k));
    const holding = c.volumeMounts!.filter((m) => weightsDir === m.mountPath || weightsDir.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
    expect(holding).toHaveLength(1);
    expect(holding[0]!.readOnly).toBeFalsy();
    expect(holding[0]!.subPathExpr).toBeUndefined(); // a per-pod subdirectory would split it again
    const volume = pod.volumes!.find((v) => v.name === holding[0]!.name)!;
    // A claim: the same volume for every pod of the Deployment. An emptyDir (or a per-pod ephemeral
    // volume) would give each replica its own directory: non-owners would never load a workload's
    // fine-tuned weights. A hostPath is refused by the namespace's restricted Pod Security Standard.
    expect(Object.keys(volume).sort()).toEqual(['name', 'persistentVolumeClaim']);
    const pvc = find<IPersistentVolumeClaim>(k, 'v1', 'PersistentVolumeClaim', volume.persistentVolumeClaim!.claimName, d.metadata!.namespace);
    const modes = pvc.spec!.accessModes!;
    if (SINGLE_NODE.has(k)) {
      // ReadWriteOnce is per node: kind's single node shares it between the replicas, as long as
      // nothing forces them onto different nodes.
      expect(modes).toEqual(['ReadWriteOnce']);
      expect(pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
      for (const t of pod.topologySpreadConstraints ?? []) expect(t.whenUnsatisfiable).toBe('ScheduleAnyway');
    } else expect(modes).toEqual(['ReadWriteMany']);
    expect(find<INamespace>(k, 'v1', 'Namespace', d.metadata!.namespace!).metadata!.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  test.each(REPLICA_BUILDS.map((k) => [name(k), k]))('%s: a PodDisruptionBudget selects the replicas and lets one go at a time', (_name, k) => {
    const d = amadeusOf(k);
    const labels = d.spec!.template.metadata!.labels!;
    const pdbs = all<IPodDisruptionBudget>(k, 'PodDisruptionBudget').filter((p) => p.metadata!.namespace === d.metadata!.namespace && Object.entries(p.spec!.selector!.matchLabels ?? {}).every(([key, v]) => labels[key] === v));
    expect(pdbs).toHaveLength(1);
    expect(pdbs[0]!.spec!.maxUnavailable).toBe(1);
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
