import type { V1LimitRange } from '@kubernetes/client-node';
import { containerMemory, effectiveMemoryCap, limitRangeCap, memoryJsonPatch, oomBumpTarget, planMemoryBump, planOomBump, withLimitRange } from './memory.js';
import { GiB, MiB, parseMemoryQuantity } from './quantity.js';
import { HEAL_RULES, resolveHealRules } from './rules.js';

const Mi = (n: number) => n * MiB;

describe('oomBumpTarget: max(limit × 1.2, limit + 100Mi), whole MiB up', () => {
  test.each([
    // min-bump path: small limits
    [Mi(64), Mi(164)],
    [Mi(256), Mi(356)],
    [Mi(499), Mi(599)],
    // the crossover: 500Mi × 1.2 = 600Mi = 500Mi + 100Mi exactly (no extra MiB from float noise)
    [Mi(500), Mi(600)],
    // factor path
    [Mi(512), Mi(615)], // 614.4 → 615
    [GiB, Mi(1229)], // 1228.8 → 1229
    [Mi(1500), Mi(1800)],
    [4 * GiB, Mi(4916)], // 4915.2 → 4916
    // not a whole MiB to begin with: 1G = 953.67Mi → × 1.2 = 1144.4 → 1145
    [1e9, Mi(1145)],
  ])('%d → %d', (limit, target) => {
    expect(oomBumpTarget(limit)).toBe(target);
  });

  test('the constants are rules', () => {
    expect(oomBumpTarget(GiB, resolveHealRules({ oomFactor: 1.5 }))).toBe(Mi(1536));
    expect(oomBumpTarget(Mi(256), resolveHealRules({ oomMinBumpBytes: '200Mi' }))).toBe(Mi(456));
  });
});

describe('planMemoryBump', () => {
  test('no limit: nothing to raise', () => {
    expect(planMemoryBump({ limitBytes: null, requestBytes: Mi(128), capBytes: 8 * GiB })).toEqual({ action: 'no-limit' });
  });

  test('plain bump; a request below the limit stays as it is', () => {
    expect(planMemoryBump({ limitBytes: Mi(256), requestBytes: Mi(128), capBytes: 8 * GiB })).toEqual({
      action: 'bump',
      limitBytes: Mi(356),
      requestBytes: Mi(128),
      requestChanged: false,
      clamped: false,
    });
  });

  test('no request set: stays unset', () => {
    expect(planMemoryBump({ limitBytes: GiB, requestBytes: null, capBytes: null })).toMatchObject({
      action: 'bump',
      limitBytes: Mi(1229),
      requestBytes: null,
      requestChanged: false,
    });
  });

  test('request == limit (Guaranteed QoS): raised with the limit, so it stays Guaranteed', () => {
    expect(planMemoryBump({ limitBytes: Mi(512), requestBytes: Mi(512), capBytes: 8 * GiB })).toMatchObject({
      action: 'bump',
      limitBytes: Mi(615),
      requestBytes: Mi(615),
      requestChanged: true,
    });
  });

  test('inconsistent input, request above the limit: raised to the new limit at most', () => {
    expect(planMemoryBump({ limitBytes: Mi(256), requestBytes: Mi(300), capBytes: null })).toMatchObject({
      limitBytes: Mi(356),
      requestBytes: Mi(356),
      requestChanged: true,
    });
  });

  test('cap: clamp to the cap once, then max-reached', () => {
    const cap = 2 * GiB;
    const first = planMemoryBump({ limitBytes: Mi(1800), requestBytes: Mi(512), capBytes: cap });
    expect(first).toEqual({ action: 'bump', limitBytes: cap, requestBytes: Mi(512), requestChanged: false, clamped: true });
    if (first.action !== 'bump') throw new Error('unreachable');
    expect(planMemoryBump({ limitBytes: first.limitBytes, requestBytes: Mi(512), capBytes: cap })).toEqual({
      action: 'max-reached',
      limitBytes: cap,
      capBytes: cap,
    });
  });

  test('a target exactly at the cap is a normal bump', () => {
    expect(planMemoryBump({ limitBytes: Mi(500), requestBytes: null, capBytes: Mi(600) })).toMatchObject({ action: 'bump', limitBytes: Mi(600), clamped: false });
  });

  test('limit already above the cap: max-reached, never lowered', () => {
    expect(planMemoryBump({ limitBytes: 10 * GiB, requestBytes: null, capBytes: 8 * GiB })).toEqual({
      action: 'max-reached',
      limitBytes: 10 * GiB,
      capBytes: 8 * GiB,
    });
  });

  test('a cap that is not a whole MiB clamps down to whole MiB (the patch is written in Mi)', () => {
    // 1G = 953.67Mi: the clamp is 953Mi, never 954Mi (above the cap)
    expect(planMemoryBump({ limitBytes: Mi(900), requestBytes: null, capBytes: 1e9 })).toMatchObject({ action: 'bump', limitBytes: Mi(953), clamped: true });
    // within the last fraction of a MiB below the cap: nothing left to give
    expect(planMemoryBump({ limitBytes: Mi(953) + 1, requestBytes: null, capBytes: 1e9 })).toMatchObject({ action: 'max-reached' });
  });

  test('Guaranteed request follows a clamped limit', () => {
    expect(planMemoryBump({ limitBytes: Mi(1900), requestBytes: Mi(1900), capBytes: 2 * GiB })).toMatchObject({
      limitBytes: 2 * GiB,
      requestBytes: 2 * GiB,
      clamped: true,
    });
  });
});

describe('effectiveMemoryCap', () => {
  test.each([
    [undefined, 8 * GiB, 'global'],
    [{}, 8 * GiB, 'global'],
    [{ 'amadeus.io/max-memory': '2Gi' }, 2 * GiB, 'workload'],
    [{ 'amadeus.io/max-memory': '16Gi' }, 8 * GiB, 'global'], // the workload cannot raise the global cap
  ])('%j → %d (%s)', (annotations, cap, source) => {
    expect(effectiveMemoryCap(annotations)).toEqual({ capBytes: cap, source });
  });

  test('a garbage annotation is ignored and reported', () => {
    const cap = effectiveMemoryCap({ 'amadeus.io/max-memory': 'two gigs' });
    expect(cap.capBytes).toBe(8 * GiB);
    expect(cap.invalid).toMatch(/amadeus.io\/max-memory.*"two gigs"/);
  });

  test('the global cap is configurable', () => {
    expect(effectiveMemoryCap({}, resolveHealRules({ globalMemoryCapBytes: '32Gi' })).capBytes).toBe(32 * GiB);
  });
});

describe('limitRangeCap: what the namespace admits, since admission checks pods, not templates', () => {
  const range = (name: string, limits: NonNullable<V1LimitRange['spec']>['limits']): V1LimitRange => ({ metadata: { name }, spec: { limits } });
  const subject = { requestBytes: 200 * MiB, requestFollowsLimit: false, otherLimitsBytes: 100 * MiB };

  test('the lowest of a Container max, a limit/request ratio and a Pod max less the other containers, named', () => {
    expect(limitRangeCap([], subject)).toBeNull();
    expect(limitRangeCap([range('mem', [{ type: 'Container', max: { memory: '1Gi' } }])], subject)).toEqual({ capBytes: GiB, detail: 'LimitRange mem: max memory per container 1024Mi' });
    expect(limitRangeCap([range('mem', [{ type: 'Container', max: { memory: '1Gi' }, maxLimitRequestRatio: { memory: '2' } }])], subject)).toEqual({
      capBytes: 400 * MiB,
      detail: 'LimitRange mem: memory limit at most 2× the request (200Mi)',
    });
    expect(limitRangeCap([range('a', [{ type: 'Container', max: { memory: '1Gi' } }]), range('b', [{ type: 'Pod', max: { memory: '600Mi' } }])], subject)).toEqual({
      capBytes: 500 * MiB,
      detail: 'LimitRange b: max memory per pod 600Mi, 100Mi of it the other containers\'',
    });
  });

  test('a request raised with the limit (Guaranteed) or unset is bound by no ratio; unreadable quantities and other types are skipped', () => {
    const ratio = [range('r', [{ type: 'Container', maxLimitRequestRatio: { memory: '1.5' } }])];
    expect(limitRangeCap(ratio, { ...subject, requestFollowsLimit: true })).toBeNull();
    expect(limitRangeCap(ratio, { ...subject, requestBytes: null })).toBeNull();
    expect(limitRangeCap([range('x', [{ type: 'Container', max: { memory: 'lots' } }, { type: 'PersistentVolumeClaim', max: { storage: '1Gi' } }])], subject)).toBeNull();
  });

  test('withLimitRange: the smaller cap wins, in whole MiB', () => {
    const global = effectiveMemoryCap(undefined);
    expect(withLimitRange(global, null)).toBe(global);
    expect(withLimitRange(global, { capBytes: 300.5 * MiB, detail: 'd' })).toEqual({ capBytes: 300 * MiB, source: 'limit-range', detail: 'd' });
    expect(withLimitRange(global, { capBytes: global.capBytes * 2, detail: 'd' })).toBe(global);
  });
});

describe('memoryJsonPatch', () => {
  test('limit only', () => {
    expect(memoryJsonPatch(0, Mi(356), undefined)).toEqual([{ op: 'replace', path: '/spec/template/spec/containers/0/resources/limits/memory', value: '356Mi' }]);
  });

  test('with the request; sizes rounded up to whole MiB', () => {
    expect(memoryJsonPatch(1, 1e9, 5e8)).toEqual([
      { op: 'replace', path: '/spec/template/spec/containers/1/resources/limits/memory', value: '954Mi' },
      { op: 'replace', path: '/spec/template/spec/containers/1/resources/requests/memory', value: '477Mi' },
    ]);
  });

  test('init containers', () => {
    expect(memoryJsonPatch(0, Mi(200), null, { init: true })).toEqual([{ op: 'replace', path: '/spec/template/spec/initContainers/0/resources/limits/memory', value: '200Mi' }]);
  });

  test('end to end: plan → patch values parse back to the plan', () => {
    const current = containerMemory({ name: 'web', resources: { limits: { memory: '256Mi', cpu: '500m' }, requests: { memory: '128Mi' } } });
    expect(current).toEqual({ limitBytes: Mi(256), requestBytes: Mi(128) });
    const plan = planMemoryBump({ ...current, capBytes: HEAL_RULES.globalMemoryCapBytes });
    if (plan.action !== 'bump') throw new Error(`unexpected ${plan.action}`);
    const ops = memoryJsonPatch(0, plan.limitBytes, plan.requestChanged ? plan.requestBytes : undefined);
    expect(ops).toHaveLength(1);
    expect(parseMemoryQuantity(ops[0]!.value as string)).toBe(plan.limitBytes);
  });

  test('containerMemory: unset is null', () => {
    expect(containerMemory({ name: 'x' })).toEqual({ limitBytes: null, requestBytes: null });
  });
});

// Issue 19, defect 3: from the limit the container was killed at, never below the template's.
describe('planOomBump', () => {
  const cap = 8 * GiB;
  test('from the killed-at limit when it is above the template\'s', () => {
    expect(planOomBump({ killedAtBytes: Mi(512), templateLimitBytes: Mi(256), templateRequestBytes: Mi(128), capBytes: cap })).toMatchObject({ action: 'bump', limitBytes: Mi(615), requestChanged: false });
  });

  test('killed below the template\'s limit: already raised, nothing to do', () => {
    expect(planOomBump({ killedAtBytes: Mi(256), templateLimitBytes: Mi(356), templateRequestBytes: Mi(128), capBytes: cap })).toEqual({ action: 'already-raised', killedAtBytes: Mi(256), templateLimitBytes: Mi(356) });
  });

  test('no limit in the pod: the template\'s; no limit in the template: nothing to raise', () => {
    expect(planOomBump({ killedAtBytes: null, templateLimitBytes: Mi(256), templateRequestBytes: null, capBytes: cap })).toMatchObject({ action: 'bump', limitBytes: Mi(356) });
    expect(planOomBump({ killedAtBytes: Mi(256), templateLimitBytes: null, templateRequestBytes: null, capBytes: cap })).toEqual({ action: 'no-limit' });
  });

  test('Guaranteed stays Guaranteed: a request equal to the template\'s limit follows the new limit', () => {
    expect(planOomBump({ killedAtBytes: Mi(1024), templateLimitBytes: Mi(1024), templateRequestBytes: Mi(1024), capBytes: cap })).toMatchObject({ limitBytes: Mi(1229), requestBytes: Mi(1229), requestChanged: true });
  });

  test('the cap still holds', () => {
    expect(planOomBump({ killedAtBytes: Mi(2048), templateLimitBytes: Mi(2048), templateRequestBytes: null, capBytes: Mi(2048) })).toMatchObject({ action: 'max-reached' });
  });
});
