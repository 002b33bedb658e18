import type { V1Container, V1DaemonSet, V1Deployment, V1LimitRange, V1ResourceQuota, V1StatefulSet } from '@kubernetes/client-node';
import {
  alongside,
  asAdmitted,
  containerMemory,
  effectiveMemoryCap,
  limitRangeCap,
  memoryJsonPatch,
  memoryUndoJsonPatch,
  oomBumpTarget,
  planMemoryBump,
  planOomBump,
  podLevelCap,
  resourceQuotaCap,
  rolloutPods,
  withNamespaceCap,
  type QuotaSubject,
} from './memory.js';
import { GiB, MiB, parseMemoryQuantity } from './quantity.js';
import { applyJsonPatch, PatchError } from '../test-support/fake-kube-patch.js';
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

  test('a raise the cap cuts short of minClampedShare of the step is refused (max-reached)', () => {
    // The step is 100Mi: 25% of it is 25Mi.
    expect(planMemoryBump({ limitBytes: Mi(256), requestBytes: null, capBytes: Mi(280), minClampedShare: 0.25 })).toEqual({ action: 'max-reached', limitBytes: Mi(256), capBytes: Mi(280) });
    expect(planMemoryBump({ limitBytes: Mi(256), requestBytes: null, capBytes: Mi(281), minClampedShare: 0.25 })).toMatchObject({ action: 'bump', limitBytes: Mi(281), clamped: true });
    expect(planMemoryBump({ limitBytes: Mi(256), requestBytes: null, capBytes: Mi(280) })).toMatchObject({ action: 'bump', limitBytes: Mi(280), clamped: true });
    // Not clamped: the share does not matter.
    expect(planMemoryBump({ limitBytes: Mi(256), requestBytes: null, capBytes: Mi(356), minClampedShare: 1 })).toMatchObject({ action: 'bump', limitBytes: Mi(356), clamped: false });
    expect(planOomBump({ killedAtBytes: Mi(256), templateLimitBytes: Mi(256), templateRequestBytes: null, capBytes: Mi(270), minClampedShare: 0.25 })).toMatchObject({ action: 'max-reached' });
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
  const subject = { requestBytes: 200 * MiB, requestFollowsLimit: false, otherLimitsBytes: 100 * MiB, otherRequestsBytes: 50 * MiB };

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

  test('a Pod item\'s limit/request ratio: the pod\'s summed limits at most ratio × its summed requests, this request kept', () => {
    // Requests 50Mi + 200Mi = 250Mi; × 1.5 = 375Mi for all limits, 100Mi of them the others' → 275Mi,
    // below the Container ratio's 3 × 200Mi = 600Mi.
    const ranges = [range('c', [{ type: 'Container', maxLimitRequestRatio: { memory: '3' } }]), range('p', [{ type: 'Pod', maxLimitRequestRatio: { memory: '1.5' } }])];
    expect(limitRangeCap(ranges, subject)).toEqual({ capBytes: 275 * MiB, detail: "LimitRange p: pod memory limits at most 1.5× its requests (250Mi), 100Mi of the limits the other containers'" });
    // With a Pod max beside it, the lower wins: max 1Gi − 100Mi = 924Mi against 2 × 250Mi − 100Mi = 400Mi.
    expect(limitRangeCap([range('p', [{ type: 'Pod', max: { memory: '1Gi' }, maxLimitRequestRatio: { memory: '2' } }])], subject)).toMatchObject({ capBytes: 400 * MiB });
    // A request raised with the limit (or unset, defaulted to it) only eases the ratio: no cap from it.
    expect(limitRangeCap([range('p', [{ type: 'Pod', maxLimitRequestRatio: { memory: '1.5' } }])], { ...subject, requestFollowsLimit: true })).toBeNull();
    expect(limitRangeCap([range('p', [{ type: 'Pod', maxLimitRequestRatio: { memory: '1.5' } }])], { ...subject, requestBytes: null })).toBeNull();
  });

  test('a request raised with the limit (Guaranteed) or unset is bound by no ratio; unreadable quantities and other types are skipped', () => {
    const ratio = [range('r', [{ type: 'Container', maxLimitRequestRatio: { memory: '1.5' } }])];
    expect(limitRangeCap(ratio, { ...subject, requestFollowsLimit: true })).toBeNull();
    expect(limitRangeCap(ratio, { ...subject, requestBytes: null })).toBeNull();
    expect(limitRangeCap([range('x', [{ type: 'Container', max: { memory: 'lots' } }, { type: 'PersistentVolumeClaim', max: { storage: '1Gi' } }])], subject)).toBeNull();
  });

  test('withNamespaceCap: the smaller cap wins, in whole MiB, named by where it comes from', () => {
    const global = effectiveMemoryCap(undefined);
    expect(withNamespaceCap(global, 'limit-range', null)).toBe(global);
    expect(withNamespaceCap(global, 'limit-range', { capBytes: 300.5 * MiB, detail: 'd' })).toEqual({ capBytes: 300 * MiB, source: 'limit-range', detail: 'd' });
    expect(withNamespaceCap(global, 'limit-range', { capBytes: global.capBytes * 2, detail: 'd' })).toBe(global);
    const range = withNamespaceCap(global, 'limit-range', { capBytes: Mi(400), detail: 'r' });
    expect(withNamespaceCap(range, 'resource-quota', { capBytes: Mi(300), detail: 'q' })).toEqual({ capBytes: Mi(300), source: 'resource-quota', detail: 'q' });
    expect(withNamespaceCap(range, 'resource-quota', { capBytes: Mi(500), detail: 'q' })).toBe(range);
    const invalid = effectiveMemoryCap({ 'amadeus.io/max-memory': 'lots' });
    expect(withNamespaceCap(invalid, 'resource-quota', { capBytes: Mi(300), detail: 'q' }).invalid).toBe(invalid.invalid);
  });
});

describe('podLevelCap: what the pod template\'s pod-level resources admit (validatePodResourceConsistency)', () => {
  const follows = { requestFollowsLimit: true, otherRequestsBytes: 0 };
  test('none without pod-level memory', () => {
    expect(podLevelCap({}, follows)).toBeNull();
    expect(podLevelCap({ resources: { limits: { cpu: '2' } } }, follows)).toBeNull();
    expect(podLevelCap(undefined, follows)).toBeNull();
  });
  test('the pod-level limit bounds each container\'s limit', () => {
    expect(podLevelCap({ resources: { limits: { memory: '512Mi' } } }, { requestFollowsLimit: false, otherRequestsBytes: Mi(64) })).toEqual({
      capBytes: Mi(512),
      detail: "pod-level resources: the pod's memory limit 512Mi, which no container's may exceed",
    });
  });
  test('a request that follows the limit: the pod-level request (the limit when unset) less the other containers\' requests', () => {
    expect(podLevelCap({ resources: { limits: { memory: '1Gi' }, requests: { memory: '512Mi' } } }, { requestFollowsLimit: true, otherRequestsBytes: Mi(64) })).toEqual({
      capBytes: Mi(448),
      detail: "pod-level resources: the pod's memory request 512Mi, which the containers' requests may not exceed together, 64Mi of it the other containers'",
    });
    expect(podLevelCap({ resources: { limits: { memory: '512Mi' } } }, { requestFollowsLimit: true, otherRequestsBytes: Mi(64) })!.detail).toBe(
      "pod-level resources: the pod's memory request 512Mi (its limit: no request set), which the containers' requests may not exceed together, 64Mi of it the other containers'",
    );
    // A request kept below the limit adds nothing: only the limit rule.
    expect(podLevelCap({ resources: { limits: { memory: '1Gi' }, requests: { memory: '512Mi' } } }, { requestFollowsLimit: false, otherRequestsBytes: Mi(64) })!.capBytes).toBe(GiB);
  });
});

describe('rolloutPods: the pods a rollout runs, surge included, as the controllers resolve it', () => {
  const deploy = (spec: V1Deployment['spec'], replicas?: number): V1Deployment => ({ spec, ...(replicas === undefined ? {} : { status: { replicas } }) });
  const d = (object: V1Deployment) => rolloutPods({ kind: 'Deployment', object });
  const selector = {};
  const template = {};

  test.each([
    ['25% of 4 (the default)', { replicas: 4, selector, template }, 1],
    ['25% of 3, rounded up', { replicas: 3, selector, template }, 1],
    ['25% of 10, rounded up', { replicas: 10, selector, template }, 3],
    ['15% of 10, rounded up', { replicas: 10, selector, template, strategy: { rollingUpdate: { maxSurge: '15%' } } }, 2],
    ['an int', { replicas: 4, selector, template, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: 0 } } }, 2],
    ['0%', { replicas: 4, selector, template, strategy: { rollingUpdate: { maxSurge: '0%' } } }, 0],
    ['unreadable: the default', { replicas: 4, selector, template, strategy: { rollingUpdate: { maxSurge: 'lots' } } }, 1],
    ['Recreate: none', { replicas: 4, selector, template, strategy: { type: 'Recreate' } }, 0],
  ] as [string, V1Deployment['spec'], number][])('Deployment: %s', (_, spec, surge) => {
    expect(d(deploy(spec)).surge).toBe(surge);
  });

  test('replicas default to 1; the pods that exist are its status\'s (none before the controller counted them)', () => {
    expect(d(deploy({ selector, template }, 3))).toEqual({ replicas: 1, surge: 1, current: 3 });
    expect(d(deploy({ replicas: 4, selector, template }))).toEqual({ replicas: 4, surge: 1, current: 0 });
  });

  test('StatefulSet: a pod is deleted before its replacement is created: no surge', () => {
    const object: V1StatefulSet = { spec: { replicas: 3, selector, template, serviceName: 's' }, status: { replicas: 3 } };
    expect(rolloutPods({ kind: 'StatefulSet', object })).toEqual({ replicas: 3, surge: 0, current: 3 });
  });

  test('DaemonSet: a pod per node it should run on; maxSurge (default 0) against them, rounded up; none with OnDelete', () => {
    const ds = (updateStrategy?: NonNullable<V1DaemonSet['spec']>['updateStrategy']): V1DaemonSet => ({ spec: { selector, template, updateStrategy }, status: { desiredNumberScheduled: 3, currentNumberScheduled: 2, numberMisscheduled: 0, numberReady: 2 } });
    expect(rolloutPods({ kind: 'DaemonSet', object: ds() })).toEqual({ replicas: 3, surge: 0, current: 2 });
    expect(rolloutPods({ kind: 'DaemonSet', object: ds({ rollingUpdate: { maxSurge: '50%', maxUnavailable: 0 } }) })).toEqual({ replicas: 3, surge: 2, current: 2 });
    expect(rolloutPods({ kind: 'DaemonSet', object: ds({ type: 'OnDelete', rollingUpdate: { maxSurge: 1 } }) }).surge).toBe(0);
    expect(rolloutPods({ kind: 'DaemonSet', object: { spec: { selector, template } } })).toEqual({ replicas: 1, surge: 0, current: 0 });
  });
});

describe('resourceQuotaCap: the rollout at the new limit must fit the namespace\'s quotas, since admission checks pods', () => {
  type Quota = { hard: Record<string, string>; used?: Record<string, string>; statusHard?: Record<string, string>; scopes?: string[]; scopeSelector?: NonNullable<V1ResourceQuota['spec']>['scopeSelector'] };
  const quota = (name: string, q: Quota): V1ResourceQuota => ({
    metadata: { name },
    spec: { hard: q.hard, ...(q.scopes ? { scopes: q.scopes } : {}), ...(q.scopeSelector ? { scopeSelector: q.scopeSelector } : {}) },
    status: { hard: q.statusHard ?? q.hard, ...(q.used ? { used: q.used } : {}) },
  });
  // 4 replicas of one container at 256Mi (request = limit: it follows), 25% surge: 5 pods at the peak.
  const subject: QuotaSubject = {
    limitBytes: Mi(256),
    requestBytes: Mi(256),
    requestFollowsLimit: true,
    otherLimitsBytes: 0,
    otherRequestsBytes: 0,
    rollout: { replicas: 4, surge: 1, current: 4 },
    pod: {},
  };
  const mem = (hard: string, used: string) => quota('mem', { hard: { 'limits.memory': hard }, used: { 'limits.memory': used } });

  test('(replicas + surge) pods at the new limit in hard − used + what the current pods use; named', () => {
    expect(resourceQuotaCap([], subject)).toBeNull();
    expect(resourceQuotaCap([mem('1500Mi', '1024Mi')], subject)).toEqual({ capBytes: Mi(300), detail: "ResourceQuota mem: limits.memory 1500Mi, 1024Mi used: the rollout's 5 pods (4 + 1 surge) fit 300Mi each" });
    // Other workloads' pods use 200Mi of it: less room.
    expect(resourceQuotaCap([mem('1500Mi', '1224Mi')], subject)!.capBytes).toBe(Mi(260));
    // An int surge of 2: 6 pods at the peak.
    expect(resourceQuotaCap([mem('1500Mi', '1024Mi')], { ...subject, rollout: { replicas: 4, surge: 2, current: 4 } })!.capBytes).toBe(Mi(250));
    // No surge (a StatefulSet, Recreate): the 4 pods alone.
    expect(resourceQuotaCap([mem('1500Mi', '1024Mi')], { ...subject, rollout: { replicas: 4, surge: 0, current: 4 } })).toEqual({ capBytes: Mi(375), detail: "ResourceQuota mem: limits.memory 1500Mi, 1024Mi used: the rollout's 4 pods fit 375Mi each" });
  });

  test('only the pods that exist free what they use; surge pods existing mid-rollout count up to the peak', () => {
    // 3 of 4 exist (the 4th refused already): 768Mi of the used is theirs.
    expect(resourceQuotaCap([mem('1500Mi', '768Mi')], { ...subject, rollout: { replicas: 4, surge: 1, current: 3 } })!.capBytes).toBe(Mi(1500 / 5));
    expect(resourceQuotaCap([mem('1500Mi', '1280Mi')], { ...subject, rollout: { replicas: 4, surge: 1, current: 9 } })!.capBytes).toBe(Mi(300));
  });

  test('the other containers count in each pod', () => {
    const sidecar = { ...subject, otherLimitsBytes: Mi(64), otherRequestsBytes: Mi(32) };
    // Used 4 × 320Mi; 5 × (64Mi + L) ≤ 1900Mi → L ≤ 316Mi.
    expect(resourceQuotaCap([mem('1900Mi', '1280Mi')], sidecar)).toEqual({
      capBytes: Mi(316),
      detail: "ResourceQuota mem: limits.memory 1900Mi, 1280Mi used: the rollout's 5 pods (4 + 1 surge) fit 380Mi each, 64Mi of it the other containers'",
    });
  });

  test('another container raised in the same patch: the new pods carry its raise, the pods running now do not', () => {
    // The sidecar 64Mi → 164Mi with this raise: used 4 × 320Mi frees 4 × (64Mi + 256Mi); 5 × (164Mi + L) ≤ 1900Mi → L ≤ 216Mi.
    const raised = { ...subject, otherLimitsBytes: Mi(64), otherRequestsBytes: Mi(32), othersRaisedBytes: { limits: Mi(100), requests: 0 } };
    expect(resourceQuotaCap([mem('1900Mi', '1280Mi')], raised)).toEqual({
      capBytes: Mi(216),
      detail: "ResourceQuota mem: limits.memory 1900Mi, 1280Mi used: the rollout's 5 pods (4 + 1 surge) fit 380Mi each, 164Mi of it the other containers' (raised by 100Mi in the same patch)",
    });
  });

  test('requests.memory and memory count only when the request follows the limit', () => {
    const requests = quota('req', { hard: { 'requests.memory': '1300Mi', memory: '1400Mi' }, used: { 'requests.memory': '1024Mi', memory: '1024Mi' } });
    expect(resourceQuotaCap([requests], subject)).toEqual({ capBytes: Mi(260), detail: "ResourceQuota req: requests.memory 1300Mi, 1024Mi used: the rollout's 5 pods (4 + 1 surge) fit 260Mi each" });
    // A request of 128Mi that stays: the raise adds nothing to these.
    expect(resourceQuotaCap([requests], { ...subject, requestBytes: Mi(128), requestFollowsLimit: false })).toBeNull();
    // No request set: the API server makes it the limit, so it follows (the caller says so).
    const memory = quota('m', { hard: { memory: '1400Mi' }, used: { memory: '1024Mi' } });
    expect(resourceQuotaCap([memory], { ...subject, requestBytes: null })!.capBytes).toBe(Mi(280));
    // The other containers' requests, not their limits, count there: 4 pods × (20Mi + 256Mi) used, 5 × (20Mi + L) ≤ 1400Mi.
    const sidecar = quota('m', { hard: { memory: '1400Mi' }, used: { memory: '1104Mi' } });
    expect(resourceQuotaCap([sidecar], { ...subject, otherLimitsBytes: Mi(512), otherRequestsBytes: Mi(20) })).toMatchObject({ capBytes: Mi(260) });
  });

  test('several quotas: the tightest wins, and is the one named', () => {
    const loose = mem('4Gi', '1024Mi');
    const tight = quota('team', { hard: { 'limits.memory': '1400Mi', pods: '10' }, used: { 'limits.memory': '1024Mi', pods: '4' } });
    expect(resourceQuotaCap([loose, tight], subject)).toEqual({ capBytes: Mi(280), detail: "ResourceQuota team: limits.memory 1400Mi, 1024Mi used: the rollout's 5 pods (4 + 1 surge) fit 280Mi each" });
    expect(resourceQuotaCap([tight, loose], subject)!.detail).toMatch(/^ResourceQuota team:/);
  });

  test('units: Gi, M, plain bytes; the status\'s hard when it is the lower (admission enforces it until the controller catches up)', () => {
    const statefulSet = { ...subject, limitBytes: 5e8, requestBytes: 5e8, rollout: { replicas: 2, surge: 0, current: 2 } };
    // 1.5Gi − 1G + 2 × 500M = 1.5Gi: 768Mi a pod.
    expect(resourceQuotaCap([quota('u', { hard: { 'limits.memory': '1.5Gi' }, used: { 'limits.memory': '1G' } })], statefulSet)).toEqual({
      capBytes: Mi(768),
      detail: "ResourceQuota u: limits.memory 1536Mi, 954Mi used: the rollout's 2 pods fit 768Mi each",
    });
    expect(resourceQuotaCap([quota('u', { hard: { 'limits.memory': '1610612736' }, used: { 'limits.memory': '1000M' } })], statefulSet)!.capBytes).toBe(Mi(768));
    const raised = quota('u', { hard: { 'limits.memory': '8Gi' }, statusHard: { 'limits.memory': '1.5Gi' }, used: { 'limits.memory': '1G' } });
    expect(resourceQuotaCap([raised], statefulSet)!.capBytes).toBe(Mi(768));
  });

  test('usage not computed yet (no status.used): no room is known, so no more than the current limit', () => {
    const fresh: V1ResourceQuota = { metadata: { name: 'new' }, spec: { hard: { 'limits.memory': '64Gi' } } };
    expect(resourceQuotaCap([fresh], subject)).toEqual({ capBytes: Mi(256), detail: 'ResourceQuota new: its limits.memory usage is not computed yet' });
    // Used known for another resource only: the same.
    expect(resourceQuotaCap([quota('half', { hard: { 'limits.memory': '64Gi', pods: '10' }, used: { pods: '4' } })], subject)!.capBytes).toBe(Mi(256));
  });

  test('over quota already (its hard lowered under the pods): below the current limit, never negative', () => {
    expect(resourceQuotaCap([mem('1000Mi', '1024Mi')], subject)!.capBytes).toBe(Mi(200));
    expect(resourceQuotaCap([mem('100Mi', '4Gi')], subject)!.capBytes).toBe(0);
  });

  test('quotas on other resources, and a workload scaled to zero, bound nothing', () => {
    expect(resourceQuotaCap([quota('cpu', { hard: { 'limits.cpu': '4', pods: '4' }, used: { 'limits.cpu': '4', pods: '4' } })], subject)).toBeNull();
    expect(resourceQuotaCap([mem('1000Mi', '1024Mi')], { ...subject, rollout: { replicas: 0, surge: 0, current: 0 } })).toBeNull();
  });

  test('scopes: a quota that cannot take in the pods is skipped; one that may counts, and says so', () => {
    const scoped = (name: string, s: Pick<Quota, 'scopes' | 'scopeSelector'>) => quota(name, { hard: { 'limits.memory': '1400Mi' }, used: { 'limits.memory': '1024Mi' }, ...s });
    const cap = (q: V1ResourceQuota, pod: QuotaSubject['pod'] = {}) => resourceQuotaCap([q], { ...subject, pod });
    // Pods of a Deployment, StatefulSet or DaemonSet have no activeDeadlineSeconds: NotTerminating; with a limit: NotBestEffort.
    expect(cap(scoped('jobs', { scopes: ['Terminating'] }))).toBeNull();
    expect(cap(scoped('jobs', { scopes: ['Terminating'] }), { activeDeadlineSeconds: 60 })!.capBytes).toBe(Mi(280));
    expect(cap(scoped('long', { scopes: ['NotTerminating', 'NotBestEffort'] }))!.detail).toMatch(/^ResourceQuota long: limits\.memory/);
    expect(cap(scoped('be', { scopes: ['BestEffort'] }))).toBeNull();
    // PriorityClass: judged when the template names one; without one, admission may give it the cluster's default: assumed.
    const high = scoped('high', { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } });
    expect(cap(high, { priorityClassName: 'low' })).toBeNull();
    expect(cap(high, { priorityClassName: 'high' })!.detail).toMatch(/^ResourceQuota high: /);
    expect(cap(high)!.detail).toMatch(/^ResourceQuota high \(scoped, assumed to apply\): /);
    const notHigh = scoped('rest', { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'NotIn', values: ['high'] }] } });
    expect(cap(notHigh, { priorityClassName: 'high' })).toBeNull();
    expect(cap(notHigh, { priorityClassName: 'low' })!.capBytes).toBe(Mi(280));
    expect(cap(scoped('any', { scopes: ['PriorityClass'] }), { priorityClassName: 'low' })!.capBytes).toBe(Mi(280));
    // A scope not judged here is taken to apply; any scope that excludes the pods wins.
    expect(cap(scoped('x', { scopes: ['CrossNamespacePodAffinity'] }))!.detail).toMatch(/assumed to apply/);
    expect(cap(scoped('x', { scopes: ['CrossNamespacePodAffinity', 'Terminating'] }))).toBeNull();
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

describe('memoryUndoJsonPatch', () => {
  const raised = (): V1Deployment => ({
    spec: {
      selector: {},
      template: {
        spec: {
          initContainers: [{ name: 'setup', resources: { limits: { memory: '128Mi' } } }],
          containers: [
            { name: 'app', resources: { limits: { memory: '356Mi' }, requests: { memory: '356Mi' } } },
            { name: 'proxy', resources: { limits: { memory: '164Mi' }, requests: { memory: '32Mi' } } },
          ],
        },
      },
    },
  });
  const undo = memoryUndoJsonPatch([
    { index: 0, init: false, name: 'app', limit: '256Mi', request: '256Mi' },
    { index: 1, init: false, name: 'proxy', limit: '64Mi' },
    { index: 0, init: true, name: 'setup', limit: '0.1Gi' },
  ]);

  test('puts back each container\'s limit, and the request where given, as written', () => {
    const spec = applyJsonPatch(raised(), undo).spec!.template.spec!;
    expect(spec.containers.map((c) => c.resources)).toEqual([
      { limits: { memory: '256Mi' }, requests: { memory: '256Mi' } },
      { limits: { memory: '64Mi' }, requests: { memory: '32Mi' } },
    ]);
    expect(spec.initContainers![0]!.resources).toEqual({ limits: { memory: '0.1Gi' } });
  });

  test('containers reordered since: refused whole (422), nothing changed in the wrong one', () => {
    const reordered = raised();
    reordered.spec!.template.spec!.containers.reverse();
    expect(() => applyJsonPatch(reordered, undo)).toThrow(expect.objectContaining({ constructor: PatchError, status: 422 }));
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

  test('killed in a pod that sets no limit for the container (its revision had none): the template\'s limit is not raised for it', () => {
    expect(planOomBump({ killedAtBytes: null, templateLimitBytes: Mi(512), templateRequestBytes: null, capBytes: cap, killedWithoutLimit: true })).toEqual({ action: 'killed-without-limit', templateLimitBytes: Mi(512) });
    expect(planOomBump({ killedAtBytes: null, templateLimitBytes: null, templateRequestBytes: null, capBytes: cap, killedWithoutLimit: true })).toEqual({ action: 'no-limit' });
  });

  test('Guaranteed stays Guaranteed: a request equal to the template\'s limit follows the new limit', () => {
    expect(planOomBump({ killedAtBytes: Mi(1024), templateLimitBytes: Mi(1024), templateRequestBytes: Mi(1024), capBytes: cap })).toMatchObject({ limitBytes: Mi(1229), requestBytes: Mi(1229), requestChanged: true });
  });

  test('the cap still holds', () => {
    expect(planOomBump({ killedAtBytes: Mi(2048), templateLimitBytes: Mi(2048), templateRequestBytes: null, capBytes: Mi(2048) })).toMatchObject({ action: 'max-reached' });
  });
});

describe('alongside: what runs beside a container, as the API server sums a pod', () => {
  const c = (name: string, mi: number, restartPolicy?: string): V1Container => ({ name, ...(restartPolicy ? { restartPolicy } : {}), resources: { limits: { memory: `${mi}Mi` } } });
  const spec = {
    containers: [c('app', 256), c('worker', 64)],
    initContainers: [c('migrate', 512), c('proxy', 128, 'Always'), c('warm', 32), c('log', 16, 'Always')],
  };
  const limit = (x: V1Container) => parseMemoryQuantity(x.resources!.limits!.memory!);
  test('a container: the other containers and every sidecar', () => {
    expect(alongside(spec, 0, false, limit)).toBe((64 + 128 + 16) * MiB);
  });
  test('a sidecar: every container and the other sidecars', () => {
    expect(alongside(spec, 1, true, limit)).toBe((256 + 64 + 16) * MiB);
  });
  test('a regular init container: only the sidecars started before it', () => {
    expect(alongside(spec, 0, true, limit)).toBe(0);
    expect(alongside(spec, 2, true, limit)).toBe(128 * MiB);
  });
  test('no init containers: the other containers (unset counts 0)', () => {
    expect(alongside({ containers: [c('app', 256), { name: 'bare' }] }, 0, false, (x) => (x.resources ? limit(x) : null))).toBe(0);
  });
});

describe('asAdmitted: the pod spec the rollout is admitted with, as the failed pod shows admission', () => {
  const c = (name: string, memory?: { limit?: string; request?: string }, restartPolicy?: string): V1Container => ({
    name,
    ...(restartPolicy ? { restartPolicy } : {}),
    ...(memory ? { resources: { ...(memory.limit ? { limits: { memory: memory.limit } } : {}), ...(memory.request ? { requests: { memory: memory.request } } : {}) } } : {}),
  });
  const limit = (x: V1Container) => (x.resources?.limits?.memory ? parseMemoryQuantity(x.resources.limits.memory) : null);

  test("an injected proxy and a LimitRange's default count beside the raised container, against a Pod max", () => {
    const template = { containers: [c('app', { limit: '256Mi' }), c('shipper')] };
    const pod = { containers: [c('app', { limit: '200Mi' }), c('shipper', { limit: '64Mi', request: '32Mi' }), c('istio-proxy', { limit: '128Mi' })] };
    const admitted = asAdmitted(template, pod);
    // The template's own limit stays (the pod's is an older revision's); the default and the proxy come from the pod.
    expect(admitted.containers.map((x) => `${x.name} ${x.resources?.limits?.memory}/${x.resources?.requests?.memory}`)).toEqual(['app 256Mi/undefined', 'shipper 64Mi/32Mi', 'istio-proxy 128Mi/undefined']);
    expect(alongside(admitted, 0, false, limit)).toBe((64 + 128) * MiB);
    const range: V1LimitRange = { metadata: { name: 'pods' }, spec: { limits: [{ type: 'Pod', max: { memory: '1Gi' } }] } };
    expect(limitRangeCap([range], { requestBytes: null, requestFollowsLimit: true, otherLimitsBytes: alongside(admitted, 0, false, limit), otherRequestsBytes: 0 })!.capBytes).toBe((1024 - 192) * MiB);
  });

  test("a container the pod's own revision has, which the template dropped since (a release removing a sidecar), is not counted as injected: the rollout's pods will not carry it", () => {
    const template = { containers: [c('app', { limit: '256Mi' })] };
    const pod = { containers: [c('app', { limit: '256Mi' }), c('log-shipper', { limit: '512Mi' }), c('istio-proxy', { limit: '128Mi' })] };
    const revision = { containers: [c('app', { limit: '256Mi' }), c('log-shipper', { limit: '512Mi' })] };
    expect(asAdmitted(template, pod).containers.map((x) => x.name)).toEqual(['app', 'log-shipper', 'istio-proxy']);
    expect(asAdmitted(template, pod, revision).containers.map((x) => x.name)).toEqual(['app', 'istio-proxy']);
  });

  test('injected init containers go first: a sidecar counts before every regular init container of the template', () => {
    const template = { containers: [c('app', { limit: '256Mi' })], initContainers: [c('migrate', { limit: '512Mi' })] };
    const pod = { containers: [c('app', { limit: '256Mi' })], initContainers: [c('istio-proxy', { limit: '128Mi' }, 'Always'), c('migrate', { limit: '512Mi' })] };
    const admitted = asAdmitted(template, pod);
    expect(admitted.initContainers!.map((x) => x.name)).toEqual(['istio-proxy', 'migrate']);
    expect(alongside(admitted, 1, true, limit)).toBe(128 * MiB);
  });

  test('without the pod: the template as it is', () => {
    const template = { containers: [c('app', { limit: '256Mi' }), c('shipper')] };
    expect(asAdmitted(template, undefined)).toEqual({ containers: template.containers, initContainers: [] });
  });
});
