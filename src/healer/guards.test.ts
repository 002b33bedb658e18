import { cooldownLeft, gitOpsManager, HourlyLimit, lastBumpOf, nextMark, readMark, writeMark } from './guards.js';

test.each([
  [{ labels: { 'argocd.argoproj.io/instance': 'shop' } }, 'argocd'],
  [{ annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/web' } }, 'argocd'],
  [{ labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } }, 'flux'],
  [{ labels: { 'helm.toolkit.fluxcd.io/name': 'web' } }, 'flux'],
  [{ labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, null],
  [undefined, null],
])('GitOps manager of %j is %s', (meta, tool) => {
  expect(gitOpsManager(meta)?.tool ?? null).toBe(tool);
});

test('action marks round-trip; garbage reads as no mark', () => {
  const mark = { at: Date.UTC(2026, 10, 29, 3, 0), key: 'uid/app/containerd://abc', keys: ['uid/app/containerd://abc'], containers: null };
  const meta = { annotations: { 'amadeus.io/last-oom-bump': writeMark(mark) } };
  expect(readMark(meta, 'amadeus.io/last-oom-bump')).toEqual(mark);
  expect(readMark({ annotations: { x: 'not json' } }, 'x')).toBeNull();
  expect(readMark({ annotations: { x: '{"at":"yesterday","key":"k"}' } }, 'x')).toBeNull();
  expect(readMark(undefined, 'x')).toBeNull();
});

// Issue 19, defect 3: what the OOM bookkeeping keeps — recent keys, each container's last bump.
test('marks keep the recent keys (bounded) and each container\'s last bump; an old mark stands for every container', () => {
  let mark = nextMark(null, 1000, 'k1', 'web');
  mark = nextMark(mark, 2000, 'k2', 'log-shipper');
  expect(mark).toEqual({ at: 2000, key: 'k2', keys: ['k1', 'k2'], containers: { web: 1000, 'log-shipper': 2000 } });
  const back = readMark({ annotations: { m: writeMark(mark) } }, 'm');
  expect(back).toEqual(mark);
  expect(lastBumpOf(back, 'web')).toBe(1000);
  expect(lastBumpOf(back, 'sidecar')).toBeNull();
  for (let i = 3; i < 40; i++) mark = nextMark(mark, i * 1000, `k${i}`, 'web');
  expect(mark.keys).toHaveLength(20);
  expect(mark.keys.at(-1)).toBe('k39');
  const old = readMark({ annotations: { m: '{"at":"2026-11-29T03:00:00.000Z","key":"k"}' } }, 'm');
  expect(lastBumpOf(old, 'anything')).toBe(Date.UTC(2026, 10, 29, 3, 0));
});

test('cooldown: seconds left after the last action, none without one', () => {
  const at = 1_000_000;
  expect(cooldownLeft({ at, key: 'k' }, 3600, at + 600_000)).toBe(3000);
  expect(cooldownLeft({ at, key: 'k' }, 3600, at + 3_600_000)).toBe(0);
  expect(cooldownLeft(null, 3600, at)).toBe(0);
});

test('the hourly limit slides', () => {
  const l = new HourlyLimit(2);
  expect(l.allows(0)).toBe(true);
  l.record(0);
  l.record(1000);
  expect(l.allows(2000)).toBe(false);
  expect(l.allows(3_600_000)).toBe(true); // the first has left the window
  expect(l.allows(3_600_999)).toBe(true);
});

// Issue 19, defect 6: Argo CD's default tracking label (2.x), Argo's annotation tracking and both
// of Flux's label pairs. `app.kubernetes.io/instance` is also Helm's: explained by a Helm release
// of the same name it is Helm's; unexplained it may be Argo CD's, and the healer does not patch.
describe('GitOps tracking as Argo CD, Flux, Config Sync, Fleet and kapp apply it', () => {
  const helm = { labels: { 'app.kubernetes.io/instance': 'web', 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'web', 'meta.helm.sh/release-namespace': 'shop' } };
  test.each([
    ['Argo CD 2.x label tracking (the default)', { labels: { 'app.kubernetes.io/instance': 'shop' } }, 'argocd'],
    ['a Helm chart rendered by Argo CD (no Helm release annotations)', { labels: { 'app.kubernetes.io/instance': 'shop', 'app.kubernetes.io/managed-by': 'Helm' } }, 'argocd'],
    ['a Helm release installed by Helm itself', helm, null],
    ['a Helm release adopted by an Argo CD app of another name', { labels: { ...helm.labels, 'app.kubernetes.io/instance': 'shop' }, annotations: helm.annotations }, 'argocd'],
    ['the instance label, and the operator says no GitOps tool manages it', { labels: { 'app.kubernetes.io/instance': 'shop' }, annotations: { 'amadeus.io/gitops': 'none' } }, null],
    ['Argo CD annotation tracking (3.x default), whatever the operator says', { annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/web', 'amadeus.io/gitops': 'none' } }, 'argocd'],
    ['Flux kustomize-controller (namespace label)', { labels: { 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } }, 'flux'],
    ['Flux helm-controller (namespace label)', { labels: { 'helm.toolkit.fluxcd.io/namespace': 'flux-system' } }, 'flux'],
    ['Config Sync (managed annotation)', { annotations: { 'configmanagement.gke.io/managed': 'enabled', 'configsync.gke.io/resource-id': 'apps_deployment_shop_web' } }, 'config-sync'],
    ['Config Sync (managed-by label)', { labels: { 'app.kubernetes.io/managed-by': 'configmanagement.gke.io' } }, 'config-sync'],
    ['an object Config Sync was told to leave unmanaged', { annotations: { 'configmanagement.gke.io/managed': 'disabled' } }, null],
    ['a Rancher Fleet bundle (a Helm release Fleet deployed)', { labels: helm.labels, annotations: { ...helm.annotations, 'objectset.rio.cattle.io/id': 'default-web' } }, 'fleet'],
    ["a k3s manifest add-on (wrangler's empty objectset id)", { annotations: { 'objectset.rio.cattle.io/id': '', 'objectset.rio.cattle.io/owner-gvk': 'k3s.cattle.io/v1, Kind=Addon' } }, null],
    ['kapp or kapp-controller', { labels: { 'kapp.k14s.io/app': '1718000000000000000', 'kapp.k14s.io/association': 'v1.abc' } }, 'kapp'],
    ['kapp, and the operator says nothing syncs it (the CLI run once)', { labels: { 'kapp.k14s.io/app': '1718000000000000000' }, annotations: { 'amadeus.io/gitops': 'none' } }, null],
    ['Config Sync, whatever the operator says', { annotations: { 'configmanagement.gke.io/managed': 'enabled', 'amadeus.io/gitops': 'none' } }, 'config-sync'],
    ['a Helm managed-by label alone', { labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, null],
  ])('%s', (_what, meta, tool) => {
    expect(gitOpsManager(meta)?.tool ?? null).toBe(tool);
  });

  test('the evidence says which key, and whether it is certain', () => {
    expect(gitOpsManager({ labels: { 'app.kubernetes.io/instance': 'shop' } })).toMatchObject({ tool: 'argocd', certain: false, evidence: 'label app.kubernetes.io/instance=shop' });
    expect(gitOpsManager({ annotations: { 'argocd.argoproj.io/tracking-id': 'x' } })).toMatchObject({ certain: true });
    expect(gitOpsManager({ labels: { 'kapp.k14s.io/app': '17' } })).toMatchObject({ tool: 'kapp', certain: false, doubt: 'which the kapp CLI, run once, sets too' });
  });
});
