import { cooldownLeft, gitOpsManager, HourlyLimit, readMark, writeMark } from './guards.js';

test.each([
  [{ labels: { 'argocd.argoproj.io/instance': 'shop' } }, 'argocd'],
  [{ annotations: { 'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/web' } }, 'argocd'],
  [{ labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps' } }, 'flux'],
  [{ labels: { 'helm.toolkit.fluxcd.io/name': 'web' } }, 'flux'],
  [{ labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, null],
  [undefined, null],
])('GitOps manager of %j is %s', (meta, tool) => {
  expect(gitOpsManager(meta)).toBe(tool);
});

test('action marks round-trip; garbage reads as no mark', () => {
  const mark = { at: Date.UTC(2026, 10, 29, 3, 0), key: 'uid/app/containerd://abc' };
  const meta = { annotations: { 'amadeus.io/last-oom-bump': writeMark(mark) } };
  expect(readMark(meta, 'amadeus.io/last-oom-bump')).toEqual(mark);
  expect(readMark({ annotations: { x: 'not json' } }, 'x')).toBeNull();
  expect(readMark({ annotations: { x: '{"at":"yesterday","key":"k"}' } }, 'x')).toBeNull();
  expect(readMark(undefined, 'x')).toBeNull();
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
