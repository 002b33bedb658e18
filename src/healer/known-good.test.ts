import { readFileSync } from 'node:fs';
import type { V1ControllerRevision, V1Deployment, V1Pod, V1PodTemplateSpec, V1ReplicaSet, V1StatefulSet } from '@kubernetes/client-node';
import {
  answeredByRollback,
  crashLoopRecord,
  deploymentRollbackPatch,
  healthySinceTemplateEdit,
  isReplicaSetFullyReady,
  isStatefulSetRevisionFullyReady,
  isKnownGood,
  isUsableKnownGood,
  knownGoodMark,
  markedForAnotherTemplate,
  memoryRaiseOf,
  ownCrashLoopRecord,
  provedSinceCrashLoop,
  pickRollbackTarget,
  pickStatefulSetRevision,
  podOrdinal,
  recreatedFromTemplate,
  replicaSetRevision,
  revisionMarksOnWorkload,
  rollbackAnnotations,
  templateHash,
  templateMark,
  TEMPLATE_MARK_TAG,
  rollbackTemplate,
  statefulSetPodsToRecreate,
  statefulSetRollbackPatch,
  templatesEqualButMemory,
  templatesEqualButRestart,
  templatesEqualIgnoringHash,
  typedPodTemplate,
  withRememberedMarks,
} from './known-good.js';
import { HEAL_RULES, resolveHealRules } from './rules.js';

const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const deployment = () => load<V1Deployment>('web-deployment.json');
const replicaSets = () => load<{ items: V1ReplicaSet[] }>('web-replicasets.json').items;
const byName = (list: V1ReplicaSet[], name: string) => list.find((rs) => rs.metadata?.name === name)!;

const T0 = new Date('2024-05-14T12:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function rs(opts: { replicas?: number; ready?: number; available?: number; generation?: number; observed?: number; annotations?: Record<string, string> }): V1ReplicaSet {
  const replicas = opts.replicas ?? 3;
  return {
    metadata: { name: 'web-abc', generation: opts.generation ?? 2, annotations: opts.annotations ?? {} },
    spec: { replicas, selector: {} },
    status: {
      replicas,
      readyReplicas: opts.ready ?? replicas,
      availableReplicas: opts.available ?? opts.ready ?? replicas,
      observedGeneration: opts.observed ?? opts.generation ?? 2,
    },
  };
}

describe('isReplicaSetFullyReady', () => {
  test.each([
    ['all ready and available', {}, true],
    ['one not ready', { ready: 2 }, false],
    ['ready but not yet available (minReadySeconds)', { ready: 3, available: 2 }, false],
    ['scaled to zero', { replicas: 0 }, false],
    ['status for an older generation', { generation: 3, observed: 2 }, false],
  ])('%s → %s', (_what, opts, ready) => {
    expect(isReplicaSetFullyReady(rs(opts))).toBe(ready);
  });

  test('spec.replicas defaults to 1; no status is not ready', () => {
    expect(isReplicaSetFullyReady({ metadata: {}, spec: { selector: {} }, status: { replicas: 1, readyReplicas: 1, availableReplicas: 1 } })).toBe(true);
    expect(isReplicaSetFullyReady({ metadata: {}, spec: { replicas: 2, selector: {} } })).toBe(false);
  });
});

// Issue 19, defect 8: the mark comes from this process's continuous observation (revisions.ts),
// never from a persisted ready-since; a crash loop seen after the mark takes the revision out.
describe('knownGoodMark', () => {
  const ms = (seconds: number) => at(seconds).getTime();

  test('marked once observed healthy for the window; nothing before; sticky after', () => {
    expect(knownGoodMark({}, null, at(10_000))).toBeNull(); // not healthy (or not fully Ready) now
    expect(knownGoodMark({}, ms(0), at(599))).toBeNull();
    expect(knownGoodMark({}, ms(0), at(600))).toEqual({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString() });
    const marked = { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString() };
    expect(knownGoodMark({ annotations: marked }, ms(0), at(5000))).toBeNull();
    expect(knownGoodMark({ annotations: marked }, null, at(5000))).toBeNull(); // scaled down by the next rollout: still known-good
  });

  test('only time up to the pod watch\'s last proof of life counts (a silent watch observes nothing)', () => {
    expect(knownGoodMark({}, ms(0), at(900), HEAL_RULES, ms(599))).toBeNull();
    expect(knownGoodMark({}, ms(0), at(900), HEAL_RULES, ms(600))).toEqual({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(900).toISOString() });
    expect(knownGoodMark({}, ms(0), at(900), HEAL_RULES, -Infinity)).toBeNull(); // the watch is down
  });

  test('a ready-since written by an earlier process is neither trusted nor kept', () => {
    const old = { annotations: { 'amadeus.io/ready-since': at(-7200).toISOString() } };
    expect(knownGoodMark(old, ms(0), at(60))).toBeNull();
    expect(knownGoodMark(old, ms(0), at(600))).toEqual({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString(), 'amadeus.io/ready-since': null });
  });

  test("an operator's known-good: \"false\" is never overwritten", () => {
    expect(knownGoodMark({ annotations: { 'amadeus.io/known-good': 'false' } }, ms(0), at(10_000))).toBeNull();
  });

  test('crash-looped since the mark: not a target until observed healthy again, after the crash', () => {
    const crashed = { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString(), 'amadeus.io/crash-looped-at': at(1000).toISOString() };
    expect(isUsableKnownGood({ annotations: crashed })).toBe(false);
    expect(knownGoodMark({ annotations: crashed }, ms(900), at(2000))).toBeNull(); // its clock started before the crash
    expect(knownGoodMark({ annotations: crashed }, ms(1100), at(1699))).toBeNull();
    expect(knownGoodMark({ annotations: crashed }, ms(1100), at(1700))).toEqual({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(1700).toISOString() });
    expect(isUsableKnownGood({ annotations: { ...crashed, 'amadeus.io/known-good-at': at(1700).toISOString() } })).toBe(true);
  });

  test('crashLoopRecord: once per mark on marked revisions, once on unmarked ones', () => {
    const marked = { annotations: { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString() } };
    expect(crashLoopRecord(marked, at(1000))).toEqual({ 'amadeus.io/crash-looped-at': at(1000).toISOString() });
    expect(crashLoopRecord({ annotations: { ...marked.annotations, 'amadeus.io/crash-looped-at': at(1000).toISOString() } }, at(2000))).toBeNull();
    // Marked again after that crash loop: a new one is recorded.
    const remarked = { annotations: { ...marked.annotations, 'amadeus.io/crash-looped-at': at(300).toISOString() } };
    expect(crashLoopRecord(remarked, at(1000))).toEqual({ 'amadeus.io/crash-looped-at': at(1000).toISOString() });
    // Unmarked: recorded once (it keeps a memory raise that crash-looped from being a rollback target).
    expect(crashLoopRecord({ annotations: {} }, at(1000))).toEqual({ 'amadeus.io/crash-looped-at': at(1000).toISOString() });
    expect(crashLoopRecord({ annotations: { 'amadeus.io/crash-looped-at': at(1000).toISOString() } }, at(2000))).toBeNull();
    // A record older than the revision was copied onto it (kubectl rollout undo, then the controller): not its own.
    expect(crashLoopRecord({ creationTimestamp: at(1500), annotations: { 'amadeus.io/crash-looped-at': at(1000).toISOString() } }, at(2000))).toEqual({ 'amadeus.io/crash-looped-at': at(2000).toISOString() });
    expect(ownCrashLoopRecord({ creationTimestamp: at(1500), annotations: { 'amadeus.io/crash-looped-at': at(1000).toISOString() } })).toBeNull();
    expect(ownCrashLoopRecord({ creationTimestamp: at(500), annotations: { 'amadeus.io/crash-looped-at': at(1000).toISOString() } })).toBe(at(1000).getTime());
  });

  test('a revision with its own crash-loop record is proved again only at the Deployment’s size, by a pod come up after the record (past the clock margin) that has run the window', () => {
    const own = { creationTimestamp: at(0), annotations: { 'amadeus.io/crash-looped-at': at(1000).toISOString() } };
    const margin = 120_000;
    const t = (s: number) => at(s).getTime();
    // No record of its own (none, or one copied from an older revision): nothing to prove.
    expect(provedSinceCrashLoop({ annotations: {} }, 1, 3, null, at(5000), margin)).toBe(true);
    expect(provedSinceCrashLoop({ creationTimestamp: at(1500), annotations: own.annotations }, 1, 3, null, at(5000), margin)).toBe(true);
    // A pod started at 1,300 s, run for the window by 1,900 s, at full size: proved.
    expect(provedSinceCrashLoop(own, 3, 3, t(1300), at(1900), margin)).toBe(true);
    expect(provedSinceCrashLoop(own, 3, 3, t(1300), at(1899), margin)).toBe(false); // not yet the window
    expect(provedSinceCrashLoop(own, 2, 3, t(1300), at(5000), margin)).toBe(false); // below the Deployment's size
    expect(provedSinceCrashLoop(own, 3, 3, t(900), at(5000), margin)).toBe(false); // its newest pod ran beside the crash loop
    expect(provedSinceCrashLoop(own, 3, 3, t(1100), at(5000), margin)).toBe(false); // within the clocks' margin of the record
    expect(provedSinceCrashLoop(own, 3, 3, null, at(5000), margin)).toBe(false); // no container running
  });

  // The safety audit: `kubectl rollout undo` copies a ReplicaSet's annotations onto the
  // Deployment, and the controller copies them onto every new ReplicaSet.
  test('a mark counts only on the revision it was made for', () => {
    const mark = { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString(), 'amadeus.io/known-good-for': 'rs-1' };
    expect(knownGoodMark({ uid: 'rs-1', annotations: {} }, ms(0), at(600))).toEqual({ ...mark });
    expect(isUsableKnownGood({ uid: 'rs-1', annotations: mark })).toBe(true);
    // Copied onto rs-3: neither a target nor a reason to refuse; it earns its own mark.
    const copied = { uid: 'rs-3', creationTimestamp: at(900), annotations: mark };
    expect(isKnownGood(copied)).toBe(false);
    expect(isUsableKnownGood(copied)).toBe(false);
    // A copied mark is not its own: the crash loop is recorded as on any unmarked revision.
    expect(crashLoopRecord(copied, at(1000))).toEqual({ 'amadeus.io/crash-looped-at': at(1000).toISOString() });
    expect(knownGoodMark(copied, ms(1000), at(1500))).toBeNull();
    expect(knownGoodMark(copied, ms(1000), at(1600))).toEqual({ ...mark, 'amadeus.io/known-good-at': at(1600).toISOString(), 'amadeus.io/known-good-for': 'rs-3' });
    expect(knownGoodMark({ uid: 'rs-1', annotations: mark }, ms(0), at(5000))).toBeNull();
  });

  test('revision marks found on a workload (kubectl rollout undo copies them there) are removed; its own marks stay', () => {
    const onDeployment = {
      'amadeus.io/heal': 'true',
      'amadeus.io/last-rollback': '{}',
      'amadeus.io/known-good': 'true',
      'amadeus.io/known-good-at': at(600).toISOString(),
      'amadeus.io/known-good-for': 'rs-1',
      'amadeus.io/known-good-template': 'abc',
      'amadeus.io/crash-looped-at': at(900).toISOString(),
      'amadeus.io/ready-since': at(0).toISOString(),
      'amadeus.io/ran-healthy-unwatched': JSON.stringify({ at: at(900).toISOString(), for: 'rs-2', evidence: '…' }),
    };
    expect(revisionMarksOnWorkload({ annotations: onDeployment })).toEqual({
      'amadeus.io/known-good': null,
      'amadeus.io/known-good-at': null,
      'amadeus.io/known-good-for': null,
      'amadeus.io/known-good-template': null,
      'amadeus.io/crash-looped-at': null,
      'amadeus.io/ready-since': null,
      'amadeus.io/ran-healthy-unwatched': null,
    });
    expect(revisionMarksOnWorkload({ annotations: { 'amadeus.io/ran-healthy-unwatched': '{}' } })).toEqual({ 'amadeus.io/ran-healthy-unwatched': null });
    expect(revisionMarksOnWorkload({ annotations: { 'amadeus.io/heal': 'true', 'amadeus.io/last-rollback': '{}' } })).toBeNull();
  });

  test('an unbound mark of an earlier version counts only if made after the revision was created; rewritten bound', () => {
    const legacy = { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString() };
    expect(isUsableKnownGood({ uid: 'rs-1', creationTimestamp: at(0), annotations: legacy })).toBe(true);
    expect(isUsableKnownGood({ uid: 'rs-1', creationTimestamp: at(0).toISOString() as unknown as Date, annotations: legacy })).toBe(true);
    expect(isKnownGood({ uid: 'rs-3', creationTimestamp: at(900), annotations: legacy })).toBe(false); // copied onto a later revision
    expect(knownGoodMark({ uid: 'rs-1', creationTimestamp: at(0), annotations: legacy }, ms(700), at(1300))).toEqual({ ...legacy, 'amadeus.io/known-good-at': at(1300).toISOString(), 'amadeus.io/known-good-for': 'rs-1' });
  });

  // A ReplicaSet's template edited in place (`kubectl edit rs`) after it was marked: what it would
  // restore was never observed healthy.
  test('a mark counts only for the template it was made with (known-good-template); a ControllerRevision\'s (no hash given) as before', () => {
    const h1 = templateHash(podTemplate('web:1'));
    const h2 = templateHash(podTemplate('web:1-edited'));
    const mark = { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString(), 'amadeus.io/known-good-for': 'rs-1', 'amadeus.io/known-good-template': templateMark(h1) };
    // Written with the mark when the hash is given; not without one (a ControllerRevision).
    expect(knownGoodMark({ uid: 'rs-1', annotations: {} }, ms(0), at(600), HEAL_RULES, ms(600), h1)).toEqual(mark);
    expect(knownGoodMark({ uid: 'rs-1', annotations: {} }, ms(0), at(600))).not.toHaveProperty(['amadeus.io/known-good-template']);
    const same = { uid: 'rs-1', annotations: mark };
    expect(isUsableKnownGood(same, HEAL_RULES, h1)).toBe(true);
    expect(markedForAnotherTemplate(same, h1)).toBe(false);
    expect(knownGoodMark(same, ms(0), at(5000), HEAL_RULES, ms(5000), h1)).toBeNull(); // stands
    // The template edited since: neither known-good nor a target, nor a reason to refuse its rollback.
    expect(markedForAnotherTemplate(same, h2)).toBe(true);
    expect(isKnownGood(same, HEAL_RULES, h2)).toBe(false);
    expect(isUsableKnownGood(same, HEAL_RULES, h2)).toBe(false);
    expect(crashLoopRecord(same, at(1000), HEAL_RULES, h2)).toEqual({ 'amadeus.io/crash-looped-at': at(1000).toISOString() });
    // Re-marked (with the new hash) only after a whole window observed healthy with it.
    expect(knownGoodMark(same, ms(1000), at(1599), HEAL_RULES, ms(1599), h2)).toBeNull();
    expect(knownGoodMark(same, null, at(5000), HEAL_RULES, ms(5000), h2)).toBeNull();
    expect(knownGoodMark(same, ms(1000), at(1600), HEAL_RULES, ms(1600), h2)).toEqual({ ...mark, 'amadeus.io/known-good-at': at(1600).toISOString(), 'amadeus.io/known-good-template': templateMark(h2) });
    // Edited back to what was observed: the mark counts again.
    expect(isUsableKnownGood(same, HEAL_RULES, h1)).toBe(true);
    // An operator's veto is still never overwritten, nor taken for a mark of another template.
    const vetoed = { uid: 'rs-1', annotations: { ...mark, 'amadeus.io/known-good': 'false' } };
    expect(markedForAnotherTemplate(vetoed, h2)).toBe(false);
    expect(knownGoodMark(vetoed, ms(0), at(5000), HEAL_RULES, ms(5000), h2)).toBeNull();
    // Without a hash to compare (a ControllerRevision: its data is immutable), as before.
    expect(isUsableKnownGood(same)).toBe(true);
    expect(markedForAnotherTemplate(same, undefined)).toBe(false);
  });

  test('a mark of an earlier version (bound to the uid, no template) counts as before; the next healthy window rewrites it with the template', () => {
    const h1 = templateHash(podTemplate('web:1'));
    const before = { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString(), 'amadeus.io/known-good-for': 'rs-1' };
    const old = { uid: 'rs-1', creationTimestamp: at(0), annotations: before };
    expect(isUsableKnownGood(old, HEAL_RULES, h1)).toBe(true);
    expect(isKnownGood(old, HEAL_RULES, h1)).toBe(true);
    expect(markedForAnotherTemplate(old, h1)).toBe(false);
    expect(knownGoodMark(old, ms(700), at(1299), HEAL_RULES, ms(1299), h1)).toBeNull();
    expect(knownGoodMark(old, ms(700), at(1300), HEAL_RULES, ms(1300), h1)).toEqual({ ...before, 'amadeus.io/known-good-at': at(1300).toISOString(), 'amadeus.io/known-good-template': templateMark(h1) });
    // ControllerRevisions are not rewritten (no hash): the mark stands.
    expect(knownGoodMark(old, ms(700), at(1300))).toBeNull();
  });

  test('a template recorded by a build with another client library (its tag) names nothing to compare: the mark counts as one without a template, rewritten at the next healthy window', () => {
    const h1 = templateHash(podTemplate('web:1'));
    expect(TEMPLATE_MARK_TAG).toMatch(/^cn\d+\.\d+\.\d+/);
    expect(templateMark(h1)).toBe(`${TEMPLATE_MARK_TAG}:${h1}`);
    const other = { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString(), 'amadeus.io/known-good-for': 'rs-1', 'amadeus.io/known-good-template': `cn0.0.1:${templateHash(podTemplate('web:1-as-another-model-saw-it'))}` };
    const meta = { uid: 'rs-1', annotations: other };
    expect(markedForAnotherTemplate(meta, h1)).toBe(false);
    expect(isUsableKnownGood(meta, HEAL_RULES, h1)).toBe(true);
    expect(knownGoodMark(meta, ms(700), at(1300), HEAL_RULES, ms(1300), h1)).toEqual({ ...other, 'amadeus.io/known-good-at': at(1300).toISOString(), 'amadeus.io/known-good-template': templateMark(h1) });
  });

  test('healthySinceTemplateEdit: after an edit in place, only a window on pods all made after the edit was seen (past the clock margin) counts', () => {
    const t = (s: number) => at(s).getTime();
    const margin = 120_000;
    // The edit first seen at 1,000 s; the revision's clock ran since 0 s on pods from before.
    expect(healthySinceTemplateEdit(t(0), t(1000), t(0), margin)).toBeNull();
    expect(healthySinceTemplateEdit(t(0), t(1000), t(1100), margin)).toBeNull(); // within the clocks' margin
    expect(healthySinceTemplateEdit(t(0), t(1000), null, margin)).toBeNull(); // no pods, or one of unknown age
    expect(healthySinceTemplateEdit(null, t(1000), t(1500), margin)).toBeNull(); // not healthy now
    // Every pod made at 1,500 s or later: the window counts from then (plus the margin), not from 0.
    expect(healthySinceTemplateEdit(t(0), t(1000), t(1500), margin)).toBe(t(1620));
    expect(healthySinceTemplateEdit(t(2000), t(1000), t(1500), margin)).toBe(t(2000));
    const mark = { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-at': at(600).toISOString(), 'amadeus.io/known-good-for': 'rs-1', 'amadeus.io/known-good-template': templateMark('h1') };
    expect(knownGoodMark({ uid: 'rs-1', annotations: mark }, healthySinceTemplateEdit(t(0), t(1000), t(1500), margin), at(2219), HEAL_RULES, t(2219), 'h2')).toBeNull();
    expect(knownGoodMark({ uid: 'rs-1', annotations: mark }, healthySinceTemplateEdit(t(0), t(1000), t(1500), margin), at(2220), HEAL_RULES, t(2220), 'h2')).toMatchObject({ 'amadeus.io/known-good-template': templateMark('h2') });
  });

  test('knownGoodSeconds is a rule; 0 marks at first sight', () => {
    expect(knownGoodMark({}, ms(0), at(0), resolveHealRules({ knownGoodSeconds: 0 }))).toMatchObject({ 'amadeus.io/known-good': 'true' });
    expect(knownGoodMark({}, ms(0), at(120), resolveHealRules({ knownGoodSeconds: 120 }))).toMatchObject({ 'amadeus.io/known-good': 'true' });
  });
});

function statefulSet(status: Partial<NonNullable<V1StatefulSet['status']>> = {}): V1StatefulSet {
  return {
    metadata: { name: 'db', namespace: 'shop', uid: 'sts-uid', generation: 4 },
    spec: { replicas: 3, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: podTemplate('postgres:16.3') },
    status: {
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      updatedReplicas: 3,
      currentReplicas: 3,
      currentRevision: 'db-7f9c8b6d5',
      updateRevision: 'db-7f9c8b6d5',
      observedGeneration: 4,
      ...status,
    },
  };
}

function podTemplate(image: string): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'db' } },
    spec: { containers: [{ name: 'postgres', image, resources: { limits: { memory: '1Gi' } } }] },
  };
}

function revision(name: string, number: number, image: string, annotations: Record<string, string> = {}, owner = 'sts-uid'): V1ControllerRevision {
  return {
    metadata: {
      name,
      namespace: 'shop',
      annotations,
      labels: { app: 'db', 'controller.kubernetes.io/hash': name.slice(3) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: owner, controller: true, blockOwnerDeletion: true }],
    },
    revision: number,
    data: { spec: { template: { ...podTemplate(image), $patch: 'replace' } } },
  };
}

describe('StatefulSet revisions: readiness', () => {
  const rev = revision('db-7f9c8b6d5', 3, 'postgres:16.3');
  test.each([
    ['rolled out, all ready', {}, true],
    ['a replica not ready', { readyReplicas: 2, availableReplicas: 2 }, false],
    ['rollout in progress (partition / ordinal 0 not updated)', { updatedReplicas: 2 }, false],
    ['not the update revision', { updateRevision: 'db-5d6c7b8a9' }, false],
    ['stale status', { observedGeneration: 3 }, false],
  ])('%s → %s', (_what, status, ready) => {
    expect(isStatefulSetRevisionFullyReady(statefulSet(status), rev)).toBe(ready);
  });

  test('an OnDelete set: its update revision is fully ready when every pod runs it, whatever currentRevision says', () => {
    expect(isStatefulSetRevisionFullyReady(statefulSet({ currentRevision: 'db-5d6c7b8a9', currentReplicas: 0 }), rev)).toBe(true);
  });
});

describe('pickRollbackTarget', () => {
  test('the newest known-good older revision: 3, skipping the unmarked 4 and the current 5', () => {
    const pick = pickRollbackTarget(deployment(), replicaSets());
    expect(pick).toMatchObject({ revision: 3 });
    expect('target' in pick && pick.target.metadata?.name).toBe('web-6b9d4c8f7');
  });

  test('ReplicaSets of other deployments are ignored (web-api has a known-good revision 7)', () => {
    const others = replicaSets().filter((r) => r.metadata?.name === 'web-api-5f7c9d8b4');
    expect(pickRollbackTarget(deployment(), others)).toMatchObject({ code: 'no-revisions' });
    // and it does not count as "current" either
    expect(pickRollbackTarget(deployment(), replicaSets())).toMatchObject({ revision: 3 });
  });

  test('an unmarked or vetoed revision is skipped for an older known-good one', () => {
    const list = replicaSets();
    delete byName(list, 'web-6b9d4c8f7').metadata!.annotations!['amadeus.io/known-good'];
    expect(pickRollbackTarget(deployment(), list)).toMatchObject({ revision: 2 });
    const vetoed = replicaSets();
    byName(vetoed, 'web-6b9d4c8f7').metadata!.annotations!['amadeus.io/known-good'] = 'false';
    expect(pickRollbackTarget(deployment(), vetoed)).toMatchObject({ revision: 2 });
  });

  test('a revision recorded to have run healthy while unwatched is no target: only a known-good mark makes one', () => {
    const list = replicaSets();
    const three = byName(list, 'web-6b9d4c8f7');
    delete three.metadata!.annotations!['amadeus.io/known-good'];
    three.metadata!.annotations!['amadeus.io/ran-healthy-unwatched'] = JSON.stringify({ at: T0.toISOString(), for: three.metadata!.uid, evidence: '…' });
    expect(pickRollbackTarget(deployment(), list)).toMatchObject({ revision: 2 });
  });

  test('a known-good revision with the current template: same-template, never further back', () => {
    const list = replicaSets();
    const three = byName(list, 'web-6b9d4c8f7');
    // revision 3 re-labelled with its own hash but carrying the deployment's current template
    const current = deployment().spec!.template;
    three.spec!.template = { ...current, metadata: { ...current.metadata, labels: { ...three.spec!.template!.metadata!.labels } } };
    expect(pickRollbackTarget(deployment(), list)).toMatchObject({ code: 'same-template' });
  });

  // The safety audit: the workload must still want the failing revision.
  test('the controller has not observed the latest spec (an operator applied a fix): rollout-not-observed', () => {
    const dep = deployment();
    dep.metadata!.generation = 10; // observedGeneration 9
    dep.spec!.template.spec!.containers[0]!.image = 'ghcr.io/acme/web:2.4.2';
    expect(pickRollbackTarget(dep, replicaSets(), undefined, { failing: 'web-7d4b9c6f5d' })).toMatchObject({ code: 'rollout-not-observed', failing: { revision: 5 } });
    delete dep.status!.observedGeneration;
    expect(pickRollbackTarget(dep, replicaSets())).toMatchObject({ code: 'rollout-not-observed' });
  });

  test('a template that is no longer the failing revision\'s (status caught up, new ReplicaSet not listed yet): revision-not-wanted', () => {
    const dep = deployment();
    dep.spec!.template.spec!.containers[0]!.image = 'ghcr.io/acme/web:2.4.2';
    expect(pickRollbackTarget(dep, replicaSets(), undefined, { failing: 'web-7d4b9c6f5d' })).toMatchObject({ code: 'revision-not-wanted', failing: { revision: 5 } });
  });

  test('none: no known-good older revision', () => {
    const list = replicaSets();
    for (const r of list) delete r.metadata!.annotations!['amadeus.io/known-good'];
    const pick = pickRollbackTarget(deployment(), list);
    expect(pick).toMatchObject({ code: 'no-known-good' });
    expect('none' in pick && pick.none).toMatch(/4, 3, 2/);
  });

  test('a known-good revision whose template was edited in place since it was marked is no target: an older untouched one, else none', () => {
    const list = replicaSets();
    const three = byName(list, 'web-6b9d4c8f7');
    const two = list.find((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2')!;
    three.metadata!.annotations!['amadeus.io/known-good-template'] = templateMark(templateHash(three.spec!.template));
    two.metadata!.annotations!['amadeus.io/known-good-template'] = templateMark(templateHash(two.spec!.template));
    expect(pickRollbackTarget(deployment(), list)).toMatchObject({ revision: 3 });
    three.spec!.template!.spec!.containers[0]!.image = 'ghcr.io/acme/web:never-run';
    expect(pickRollbackTarget(deployment(), list)).toMatchObject({ revision: 2 });
    two.spec!.template!.spec!.containers[0]!.args = ['--never-run'];
    const pick = pickRollbackTarget(deployment(), list);
    expect(pick).toMatchObject({ code: 'no-known-good' });
    expect('none' in pick && pick.none).toMatch(/3 \(template edited since marked\), 2 \(template edited since marked\)/);
    // A change the controller makes (the pod-template-hash label) is no edit.
    const relabelled = replicaSets();
    const r3 = byName(relabelled, 'web-6b9d4c8f7');
    r3.metadata!.annotations!['amadeus.io/known-good-template'] = templateMark(templateHash(r3.spec!.template));
    r3.spec!.template!.metadata!.labels!['pod-template-hash'] = 'other';
    expect(pickRollbackTarget(deployment(), relabelled)).toMatchObject({ revision: 3 });
  });

  test('none: only the current revision', () => {
    expect(pickRollbackTarget(deployment(), [byName(replicaSets(), 'web-7d4b9c6f5d')])).toMatchObject({ code: 'no-older-revision' });
  });

  test('none: the known-good ones all have the current template', () => {
    const dep = deployment();
    const list = replicaSets().filter((r) => ['web-6b9d4c8f7', 'web-7d4b9c6f5d'].includes(r.metadata!.name!));
    dep.spec!.template = rollbackTemplate(byName(list, 'web-6b9d4c8f7'));
    expect(pickRollbackTarget(dep, list)).toMatchObject({ code: 'same-template' });
  });

  test('none: a deployment without uid', () => {
    const dep = deployment();
    delete dep.metadata!.uid;
    expect(pickRollbackTarget(dep, replicaSets())).toMatchObject({ code: 'no-uid' });
  });

  test('the current revision is the highest, wherever it sits in the list', () => {
    expect(pickRollbackTarget(deployment(), replicaSets().reverse())).toMatchObject({ revision: 3 });
  });
});

// Issue 19, defect 2: like a rollout controller.
describe('pickRollbackTarget: the failing revision and the memory of rollbacks', () => {
  test('only from the newest revision: pods of an older one are being replaced', () => {
    expect(pickRollbackTarget(deployment(), replicaSets(), undefined, { failing: 'web-84f6b7c9d8' })).toMatchObject({ code: 'not-newest-revision', failing: { revision: 4 } });
    expect(pickRollbackTarget(deployment(), replicaSets(), undefined, { failing: 'web-7d4b9c6f5d' })).toMatchObject({ revision: 3, failing: { revision: 5 } });
    expect(pickRollbackTarget(deployment(), replicaSets(), undefined, { failing: 'elsewhere' })).toMatchObject({ code: 'unknown-revision' });
  });

  test('never from a revision that was itself marked known-good', () => {
    const list = replicaSets();
    const five = byName(list, 'web-7d4b9c6f5d');
    Object.assign(five.metadata!.annotations!, { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': five.metadata!.uid });
    const pick = pickRollbackTarget(deployment(), list, undefined, { failing: 'web-7d4b9c6f5d' });
    expect(pick).toMatchObject({ code: 'revision-known-good' });
  });

  test('never to a revision that crash-looped since it was marked, nor past it when it is the newest known-good', () => {
    const list = replicaSets();
    byName(list, 'web-6b9d4c8f7').metadata!.annotations!['amadeus.io/crash-looped-at'] = '2024-05-01T00:00:00Z';
    expect(pickRollbackTarget(deployment(), list)).toMatchObject({ code: 'known-good-crash-looped', failing: { revision: 5 } });
    // Marked again since (it proved itself after the crash loop): the target once more.
    byName(list, 'web-6b9d4c8f7').metadata!.annotations!['amadeus.io/known-good-at'] = '2024-05-02T00:00:00Z';
    expect(pickRollbackTarget(deployment(), list)).toMatchObject({ revision: 3 });
    // Rolled back from before (a bad release): skipped as ever, to the one under it.
    expect(pickRollbackTarget(deployment(), list, undefined, { rolledBackFrom: [templateHash(byName(list, 'web-6b9d4c8f7').spec!.template)] })).toMatchObject({ revision: 2 });
  });

  test('never to a revision rolled back from before, whatever number the controller gave it since', () => {
    const list = replicaSets();
    // Revision 3 renumbered as 6 (reused), 5 is now older, known-good by some means — and rolled back from.
    const three = byName(list, 'web-6b9d4c8f7');
    three.metadata!.annotations!['deployment.kubernetes.io/revision'] = '6';
    delete three.metadata!.annotations!['amadeus.io/known-good'];
    const five = byName(list, 'web-7d4b9c6f5d');
    Object.assign(five.metadata!.annotations!, { 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': five.metadata!.uid });
    const dep = deployment();
    dep.spec!.template = rollbackTemplate(three);
    expect(pickRollbackTarget(dep, list, undefined, { failing: 'web-6b9d4c8f7' })).toMatchObject({ revision: 5 }); // without the memory: back to the bad one
    const pick = pickRollbackTarget(dep, list, undefined, { failing: 'web-6b9d4c8f7', rolledBackFrom: [templateHash(five.spec!.template)] });
    expect(pick).toMatchObject({ revision: 2 });
  });

  test('never to a newer revision than the failing one', () => {
    const list = replicaSets();
    // The failing revision is the newest by definition; a known-good revision with a higher number cannot exist beside it.
    const pick = pickRollbackTarget(deployment(), list, undefined, { failing: 'web-7d4b9c6f5d' });
    expect('target' in pick && replicaSetRevision(pick.target)! < 5).toBe(true);
  });

  test('templateHash: equal templates hash equal, whatever carries them (the hash label, $patch, Dates)', () => {
    const rs3 = byName(replicaSets(), 'web-6b9d4c8f7');
    expect(templateHash(rs3.spec!.template)).toBe(templateHash(rollbackTemplate(rs3)));
    expect(templateHash({ ...rollbackTemplate(rs3), $patch: 'replace' } as never)).toBe(templateHash(rs3.spec!.template));
    expect(templateHash(rs3.spec!.template)).not.toBe(templateHash(byName(replicaSets(), 'web-5c8f7d9b6').spec!.template));
    expect(templateHash(rs3.spec!.template)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('rollback of a Deployment', () => {
  test('rollbackTemplate: the ReplicaSet template without pod-template-hash, everything else kept, a copy', () => {
    const target = byName(replicaSets(), 'web-6b9d4c8f7');
    const template = rollbackTemplate(target);
    expect(template.metadata?.labels).toEqual({ 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/part-of': 'shop' });
    expect(template.metadata?.annotations).toEqual(target.spec!.template!.metadata!.annotations);
    expect(template.spec?.containers.find((c) => c.name === 'web')?.image).toBe('ghcr.io/acme/web:2.3.0');
    expect(target.spec!.template!.metadata!.labels!['pod-template-hash']).toBe('6b9d4c8f7');
    template.spec!.containers[0].image = 'changed';
    expect(target.spec!.template!.spec!.containers[0].image).not.toBe('changed');
  });

  test('templatesEqualIgnoringHash: the hash label, nil vs empty and Date vs string do not matter', () => {
    const target = byName(replicaSets(), 'web-7d4b9c6f5d');
    const dep = deployment();
    expect(templatesEqualIgnoringHash(target.spec!.template, dep.spec!.template)).toBe(true);
    const typed = structuredClone(dep.spec!.template);
    typed.metadata!.creationTimestamp = undefined;
    typed.spec!.securityContext = undefined;
    typed.spec!.volumes = [];
    expect(templatesEqualIgnoringHash(target.spec!.template, typed)).toBe(true);
    const dated = structuredClone(typed);
    dated.metadata!.creationTimestamp = new Date('2024-05-14T08:02:09Z');
    const stringly = structuredClone(typed) as unknown as { metadata: { creationTimestamp: string } };
    stringly.metadata.creationTimestamp = '2024-05-14T08:02:09.000Z';
    expect(templatesEqualIgnoringHash(dated, stringly as unknown as V1PodTemplateSpec)).toBe(true);
    typed.spec!.containers[0].image = 'other';
    expect(templatesEqualIgnoringHash(target.spec!.template, typed)).toBe(false);
  });

  test("deploymentRollbackPatch: kubectl's JSON patch, guarded by preconditions, Amadeus's annotations kept", () => {
    const dep = deployment();
    const target = byName(replicaSets(), 'web-6b9d4c8f7');
    const mark = '{"at":"2024-05-14T12:00:00.000Z","key":"k"}';
    const ops = deploymentRollbackPatch(dep, target, { 'amadeus.io/last-rollback': mark });
    // Guarded by what a status write does not change: uid, generation and annotations (issue 19, defect 5).
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual(['test /metadata/uid', 'test /metadata/generation', 'test /metadata/annotations', 'replace /spec/template', 'add /metadata/annotations']);
    expect(ops[0].value).toBe(dep.metadata!.uid);
    expect(ops[1].value).toBe(9);
    expect(ops[2].value).toEqual(dep.metadata!.annotations);
    expect(ops[3].value).toEqual(rollbackTemplate(target));
    expect(ops[4].value).toEqual({
      'amadeus.io/heal': 'true',
      'amadeus.io/max-memory': '2Gi', // the deployment's, the RS never had it
      'amadeus.io/last-rollback': mark, // the new mark, not the RS's stale copy
      'deployment.kubernetes.io/revision': '5', // skip list: the deployment's value
      'kubernetes.io/change-cause': 'deploy web 2.3.0 (ci #1811)', // from the revision restored, as kubectl does
    });
    // never copied from the ReplicaSet: its known-good marks and replica bookkeeping
    expect(rollbackAnnotations(dep, target)).not.toHaveProperty('amadeus.io/known-good');
    expect(rollbackAnnotations(dep, target)).not.toHaveProperty('deployment.kubernetes.io/desired-replicas');
  });
});

describe('a memory raise of a known-good revision', () => {
  const tpl = (image: string, limit?: string, request?: string, init?: { limit?: string }): V1PodTemplateSpec => ({
    metadata: { labels: { app: 'web', 'pod-template-hash': image.length.toString() } },
    spec: {
      containers: [{ name: 'app', image, resources: { ...(limit && { limits: { memory: limit, cpu: '1' } }), ...(request && { requests: { memory: request } }) } }],
      ...(init && { initContainers: [{ name: 'setup', image: 'setup:1', restartPolicy: 'Always', resources: init.limit ? { limits: { memory: init.limit } } : {} }] }),
    },
  });

  test('memoryRaiseOf: the same template with more memory, never less, none dropped or added, nothing else changed', () => {
    expect(memoryRaiseOf(tpl('web:1', '256Mi', '256Mi'), tpl('web:1', '356Mi', '356Mi'))).toBe(true);
    expect(memoryRaiseOf(tpl('web:1', '256Mi', '128Mi'), tpl('web:1', '307Mi', '128Mi'))).toBe(true); // the limit alone
    expect(memoryRaiseOf(tpl('web:1', '256Mi'), tpl('web:1', '0.25Gi'))).toBe(false); // equal: no raise
    expect(memoryRaiseOf(tpl('web:1', '256Mi'), tpl('web:1', '200Mi'))).toBe(false);
    expect(memoryRaiseOf(tpl('web:1', '256Mi', '256Mi'), tpl('web:1', '356Mi', '200Mi'))).toBe(false); // one lowered
    expect(memoryRaiseOf(tpl('web:1', '256Mi'), tpl('web:2', '356Mi'))).toBe(false); // a release too
    expect(memoryRaiseOf(tpl('web:1'), tpl('web:1', '356Mi'))).toBe(false); // a cap where there was none
    expect(memoryRaiseOf(tpl('web:1', '256Mi'), tpl('web:1'))).toBe(false); // the cap dropped
    expect(memoryRaiseOf(tpl('web:1', '256Mi'), tpl('web:1', 'lots'))).toBe(false); // unreadable
    expect(memoryRaiseOf(tpl('web:1', '256Mi', undefined, { limit: '64Mi' }), tpl('web:1', '256Mi', undefined, { limit: '96Mi' }))).toBe(true); // a sidecar's
    expect(memoryRaiseOf(undefined, tpl('web:1', '356Mi'))).toBe(false);
  });

  /** Revision 4 made revision 3's template with more memory (the fixture's 4 is another release). */
  const raisedFour = (limit: string) => {
    const list = replicaSets();
    const four = byName(list, 'web-84f6b7c9d8');
    four.spec!.template = structuredClone(byName(list, 'web-6b9d4c8f7').spec!.template!);
    four.spec!.template.metadata!.labels!['pod-template-hash'] = 'web-84f6b7c9d8'.slice(4);
    four.spec!.template.spec!.containers[0]!.resources = { limits: { memory: limit } };
    byName(list, 'web-6b9d4c8f7').spec!.template!.spec!.containers[0]!.resources = { limits: { memory: '256Mi' } };
    return list;
  };

  test('pickRollbackTarget: revision 4, known-good 3 with more memory and not marked yet, is the target, not 3', () => {
    expect(replicaSets().map((r) => r.metadata!.name)).toContain('web-84f6b7c9d8');
    const pick = pickRollbackTarget(deployment(), raisedFour('356Mi'));
    expect(pick).toMatchObject({ revision: 4, raiseOf: 3 });
    expect('target' in pick && pick.target.metadata?.name).toBe('web-84f6b7c9d8');
    // Less memory than 3, or a raise the workload was rolled back from: 3 itself.
    expect(pickRollbackTarget(deployment(), raisedFour('200Mi'))).toMatchObject({ revision: 3 });
    expect(pickRollbackTarget(deployment(), raisedFour('200Mi'))).not.toHaveProperty('raiseOf');
    const list = raisedFour('356Mi');
    const away = [templateHash(byName(list, 'web-84f6b7c9d8').spec!.template)];
    expect(pickRollbackTarget(deployment(), list, undefined, { rolledBackFrom: away })).toMatchObject({ revision: 3 });
    // Vetoed by an operator: 3 itself.
    const vetoed = raisedFour('356Mi');
    byName(vetoed, 'web-84f6b7c9d8').metadata!.annotations!['amadeus.io/known-good'] = 'false';
    expect(pickRollbackTarget(deployment(), vetoed)).toMatchObject({ revision: 3 });
    // Recorded crash-looping: neither it nor 3 (the OOM kills back) — nothing, said.
    const crashed = raisedFour('356Mi');
    byName(crashed, 'web-84f6b7c9d8').metadata!.annotations!['amadeus.io/crash-looped-at'] = T0.toISOString();
    const refused = pickRollbackTarget(deployment(), crashed);
    expect(refused).toMatchObject({ code: 'raise-crash-looped', failing: { revision: 5 } });
    // A record copied from another revision (older than this one) is not its crash loop: it is the target.
    const copied = raisedFour('356Mi');
    const four = byName(copied, 'web-84f6b7c9d8');
    four.metadata!.creationTimestamp = new Date(T0.getTime() + 1000);
    four.metadata!.annotations!['amadeus.io/crash-looped-at'] = T0.toISOString();
    expect(pickRollbackTarget(deployment(), copied)).toMatchObject({ revision: 4, raiseOf: 3 });
    expect('none' in refused && refused.none).toBe(
      `revision 4 raised the memory of known-good revision 3 since, and its pods were seen crash-looping at ${T0.toISOString()}: rolling back to it could bring that crash loop back, and rolling back to revision 3 would undo the raise and bring back the OOM kills it answered`,
    );
  });
});

describe('a release that only restarted the pods', () => {
  const tpl = (o: { annotations?: Record<string, string>; env?: { name: string; value: string }[]; initEnv?: { name: string; value: string }[]; image?: string } = {}): V1PodTemplateSpec => ({
    metadata: { labels: { app: 'web' }, ...(o.annotations && { annotations: o.annotations }) },
    spec: {
      containers: [{ name: 'app', image: o.image ?? 'web:1', env: [{ name: 'MODE', value: 'serve' }, ...(o.env ?? [])] }],
      initContainers: [{ name: 'migrate', image: 'web:1', ...(o.initEnv && { env: o.initEnv }) }],
    },
  });
  const restarted = { 'kubectl.kubernetes.io/restartedAt': '2024-05-14T09:12:00Z' };

  test('templatesEqualButRestart: kubectl rollout restart and Stakater Reloader markers ignored, on either side; anything else counts', () => {
    expect(templatesEqualButRestart(tpl(), tpl({ annotations: restarted }))).toBe(true);
    expect(templatesEqualButRestart(tpl({ annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-05-13T00:00:00Z' } }), tpl({ annotations: restarted }))).toBe(true);
    expect(templatesEqualButRestart(tpl(), tpl({ annotations: { 'reloader.stakater.com/last-reloaded-from': '{"type":"CONFIGMAP","name":"web-config"}' } }))).toBe(true);
    for (const name of ['STAKATER_WEB_CONFIG_CONFIGMAP', 'STAKATER_DB_PASSWORD_SECRET', 'STAKATER_VAULT_SECRETPROVIDERCLASS']) {
      expect(templatesEqualButRestart(tpl(), tpl({ env: [{ name, value: 'a3f1' }] }))).toBe(true);
      expect(templatesEqualButRestart(tpl(), tpl({ initEnv: [{ name, value: 'a3f1' }] }))).toBe(true);
    }
    // ...and the pod-template-hash label, a ControllerRevision's $patch.
    const hashed = tpl({ annotations: restarted });
    hashed.metadata!.labels!['pod-template-hash'] = '6b9d4c8f7';
    expect(templatesEqualButRestart({ ...tpl(), $patch: 'replace' } as Record<string, unknown>, hashed)).toBe(true);
    // Not restart markers: another annotation, another variable, another image; the inputs untouched.
    expect(templatesEqualButRestart(tpl(), tpl({ annotations: { ...restarted, 'prometheus.io/scrape': 'true' } }))).toBe(false);
    expect(templatesEqualButRestart(tpl(), tpl({ env: [{ name: 'STAKATER_WEB_CONFIG', value: 'x' }] }))).toBe(false);
    expect(templatesEqualButRestart(tpl(), tpl({ env: [{ name: 'MY_CONFIGMAP', value: 'x' }] }))).toBe(false);
    expect(templatesEqualButRestart(tpl(), tpl({ annotations: restarted, image: 'web:2' }))).toBe(false);
    const input = tpl({ annotations: restarted, env: [{ name: 'STAKATER_WEB_CONFIG_CONFIGMAP', value: 'a3f1' }] });
    const copy = structuredClone(input);
    templatesEqualButRestart(input, tpl());
    expect(input).toEqual(copy);
  });

  test('pickRollbackTarget: the failing revision is the target restarted → restart-only, naming both; a real change is rolled back as ever', () => {
    const list = replicaSets();
    const five = byName(list, 'web-7d4b9c6f5d');
    const three = byName(list, 'web-6b9d4c8f7');
    // Revision 5 is known-good 3 restarted (and the Deployment asks for 5's template).
    five.spec!.template = structuredClone(three.spec!.template!);
    five.spec!.template.metadata!.labels!['pod-template-hash'] = '7d4b9c6f5d';
    five.spec!.template.metadata!.annotations = { ...five.spec!.template.metadata!.annotations, ...restarted };
    const d = deployment();
    d.spec!.template = structuredClone(five.spec!.template);
    delete d.spec!.template.metadata!.labels!['pod-template-hash'];
    const pick = pickRollbackTarget(d, list);
    expect(pick).toMatchObject({ code: 'restart-only', failing: { revision: 5, name: 'web-7d4b9c6f5d' } });
    expect('none' in pick && pick.none).toBe(
      'revision 5 differs from revision 3 only in restart markers (kubectl rollout restart, Stakater Reloader): the crash loop comes from what the restarted pods read again — a ConfigMap, a Secret, a dependency — and a rollback would restart them into the same; fix that',
    );
    expect(pick.failing?.template).toBe(five.spec!.template);
    // The fixture as it is: 5 is another release than 3.
    expect(pickRollbackTarget(deployment(), replicaSets())).toMatchObject({ revision: 3, failing: { revision: 5 } });
  });

  test('pickStatefulSetRevision: the update revision is known-good 2 restarted → restart-only', () => {
    const set = statefulSet({ updateRevision: 'db-9a8b7c6d5', currentRevision: 'db-9a8b7c6d5', readyReplicas: 1 });
    const failing = revision('db-9a8b7c6d5', 3, 'postgres:16.3');
    (failing.data as { spec: { template: V1PodTemplateSpec } }).spec.template.metadata!.annotations = restarted;
    set.spec!.template = structuredClone((failing.data as { spec: { template: V1PodTemplateSpec } }).spec.template);
    delete (set.spec!.template as { $patch?: string }).$patch;
    const list = [revision('db-5d6c7b8a9', 1, 'postgres:16.2', { 'amadeus.io/known-good': 'true' }), revision('db-7f9c8b6d5', 2, 'postgres:16.3', { 'amadeus.io/known-good': 'true' }), failing];
    expect(pickStatefulSetRevision(set, list)).toMatchObject({ code: 'restart-only', failing: { name: 'db-9a8b7c6d5' } });
  });
});

describe('StatefulSets', () => {
  const sts = () => {
    const s = statefulSet({ updateRevision: 'db-9a8b7c6d5', currentRevision: 'db-9a8b7c6d5', readyReplicas: 1 });
    s.spec!.template = podTemplate('postgres:16.4-broken');
    return s;
  };
  const revisions = () => [
    revision('db-5d6c7b8a9', 1, 'postgres:16.2', { 'amadeus.io/known-good': 'true' }),
    revision('db-7f9c8b6d5', 2, 'postgres:16.3', { 'amadeus.io/known-good': 'true' }),
    revision('db-9a8b7c6d5', 3, 'postgres:16.4-broken'),
    revision('other-1234', 9, 'redis:7', { 'amadeus.io/known-good': 'true' }, 'other-uid'),
  ];

  test('the newest known-good revision older than the update revision', () => {
    const pick = pickStatefulSetRevision(sts(), revisions());
    expect(pick).toMatchObject({ revision: 2 });
    expect('target' in pick && pick.target.metadata?.name).toBe('db-7f9c8b6d5');
  });

  test('skips unmarked ones and ones with the current template; none when nothing is left', () => {
    const list = revisions();
    delete list[1].metadata!.annotations!['amadeus.io/known-good'];
    expect(pickStatefulSetRevision(sts(), list)).toMatchObject({ revision: 1 });
    // The template is already known-good revision 2's (an undo not rolled out yet): not further back.
    const same = sts();
    same.spec!.template = podTemplate('postgres:16.3');
    expect(pickStatefulSetRevision(same, revisions())).toMatchObject({ code: 'same-template' });
    expect(pickStatefulSetRevision(sts(), revisions().slice(2))).toMatchObject({ code: 'no-older-revision' });
    expect(pickStatefulSetRevision(sts(), revisions().slice(3))).toMatchObject({ code: 'no-revisions' });
  });

  test('a revision that is known-good 2 with more memory, between it and the failing one: the target', () => {
    const list = revisions();
    const raised = revision('db-8e7d6c5b4', 3, 'postgres:16.3');
    (raised.data as { spec: { template: V1PodTemplateSpec } }).spec.template.spec!.containers[0]!.resources = { limits: { memory: '1229Mi' } };
    const failing = revision('db-9a8b7c6d5', 4, 'postgres:16.4-broken');
    const pick = pickStatefulSetRevision(sts(), [list[0]!, list[1]!, raised, failing]);
    expect(pick).toMatchObject({ revision: 3, raiseOf: 2 });
    expect('target' in pick && pick.target.metadata?.name).toBe('db-8e7d6c5b4');
  });

  test('the controller has not caught up: no updateRevision, another updateRevision, or an older observedGeneration → rollout-not-observed', () => {
    const s = sts();
    delete s.status!.updateRevision;
    expect(pickStatefulSetRevision(s, revisions())).toMatchObject({ code: 'rollout-not-observed' });
    const other = sts();
    other.status!.updateRevision = 'db-not-listed-yet';
    expect(pickStatefulSetRevision(other, revisions(), undefined, { failing: 'db-9a8b7c6d5' })).toMatchObject({ code: 'rollout-not-observed', failing: { revision: 3 } });
    const lagging = sts();
    lagging.metadata!.generation = 5;
    expect(pickStatefulSetRevision(lagging, revisions(), undefined, { failing: 'db-9a8b7c6d5' })).toMatchObject({ code: 'rollout-not-observed' });
    const changed = sts();
    changed.spec!.template = podTemplate('postgres:16.5');
    expect(pickStatefulSetRevision(changed, revisions(), undefined, { failing: 'db-9a8b7c6d5' })).toMatchObject({ code: 'revision-not-wanted' });
  });

  test('data as raw JSON text is read too; unreadable revisions are skipped', () => {
    const list = revisions();
    list[1].data = JSON.stringify(list[1].data);
    expect(pickStatefulSetRevision(sts(), list)).toMatchObject({ revision: 2 });
    list[1].data = 'garbage';
    expect(pickStatefulSetRevision(sts(), list)).toMatchObject({ revision: 1 });
  });

  test('statefulSetRollbackPatch: preconditions, the revision\'s template (without $patch) replacing the set\'s, annotations in the same patch', () => {
    const set = sts();
    set.metadata!.annotations = { 'amadeus.io/heal': 'true' };
    const target = revisions()[1];
    const ops = statefulSetRollbackPatch(set, target, { 'amadeus.io/last-rollback': '{"at":"x","key":"k"}' });
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual(['test /metadata/uid', 'test /metadata/generation', 'test /metadata/annotations', 'replace /spec/template', 'add /metadata/annotations/amadeus.io~1last-rollback']);
    expect(ops[3].value).toEqual(podTemplate('postgres:16.3'));
    expect((target.data as { spec: { template: Record<string, unknown> } }).spec.template.$patch).toBe('replace'); // the input is not mutated
    expect(() => statefulSetRollbackPatch(set, { revision: 1, metadata: { name: 'empty' }, data: {} })).toThrow(/empty holds no pod template/);
  });

  // Issue 19, defect 1: never a label-only match.
  test('statefulSetPodsToRecreate: the set\'s own pods (owner uid, whole selector) stuck at another revision, not Ready', () => {
    const set = sts();
    set.spec!.selector = { matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['cache'] }] };
    const own = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'sts-uid', controller: true }];
    const pod = (name: string, rev: string, ready: boolean, o: { owner?: typeof own; labels?: Record<string, string> } = {}): V1Pod => ({
      metadata: { name, labels: { app: 'db', 'controller-revision-hash': rev, ...o.labels }, ...(o.owner === undefined ? { ownerReferences: own } : o.owner.length ? { ownerReferences: o.owner } : {}) },
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    const pods = [
      pod('db-0', 'db-7f9c8b6d5', true),
      pod('db-1', 'db-7f9c8b6d5', true),
      pod('db-2', 'db-9a8b7c6d5', false),
      pod('db-3', 'db-9a8b7c6d5', true),
      pod('other-0', 'db-9a8b7c6d5', false, { owner: [{ ...own[0]!, name: 'other', uid: 'other-uid' }] }),
      pod('bare-0', 'db-9a8b7c6d5', false, { owner: [] }),
      pod('cache-0', 'db-9a8b7c6d5', false, { labels: { tier: 'cache' } }),
    ];
    expect(statefulSetPodsToRecreate(set, pods, 'db-7f9c8b6d5').map((p) => p.metadata?.name)).toEqual(['db-2']);
  });
});

describe('withRememberedMarks', () => {
  const mark = (at: string, key: string) => JSON.stringify({ at, key });
  const deploymentMeta = { name: 'web', namespace: 'shop', uid: 'd-1', annotations: { 'amadeus.io/heal': 'true', 'amadeus.io/last-rollback': mark('2026-12-04T09:00:00Z', 'old'), 'amadeus.io/rolled-back-from': '["h1"]' } };
  const rs = (uid: string, annotations: Record<string, string>, owner = 'd-1') => ({ metadata: { name: `web-${uid}`, uid, annotations, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: owner, controller: true }] } });

  test('after kubectl rollout undo: the newest mark and every hash rolled back from, from the Deployment\'s own ReplicaSets', () => {
    const out = withRememberedMarks(deploymentMeta, [
      rs('a', { 'amadeus.io/last-rollback': mark('2026-12-04T11:00:00Z', 'new'), 'amadeus.io/rolled-back-from': '["h1","h2"]', 'amadeus.io/last-oom-bump': mark('2026-12-04T10:00:00Z', 'oom') }),
      rs('b', { 'amadeus.io/last-rollback': mark('2026-12-04T08:00:00Z', 'older') }),
      // Another Deployment's ReplicaSet with the same labels: not this workload's memory.
      rs('c', { 'amadeus.io/last-rollback': mark('2026-12-04T12:00:00Z', 'theirs'), 'amadeus.io/rolled-back-from': '["x"]' }, 'd-2'),
    ]);
    expect(JSON.parse(out.annotations!['amadeus.io/last-rollback']!).key).toBe('new');
    expect(JSON.parse(out.annotations!['amadeus.io/last-oom-bump']!).key).toBe('oom');
    expect(JSON.parse(out.annotations!['amadeus.io/rolled-back-from']!)).toEqual(['h1', 'h2']);
    expect(out.annotations!['amadeus.io/heal']).toBe('true');
    // The Deployment itself is left as it was (patches are checked against its own annotations).
    expect(JSON.parse(deploymentMeta.annotations['amadeus.io/last-rollback']).key).toBe('old');
  });

  test('nothing newer on the ReplicaSets: the Deployment\'s own marks', () => {
    const out = withRememberedMarks(deploymentMeta, [rs('b', { 'amadeus.io/last-rollback': mark('2026-12-04T08:00:00Z', 'older'), 'amadeus.io/last-rollback-garbage': 'x' })]);
    expect(out.annotations).toEqual(deploymentMeta.annotations);
    expect(withRememberedMarks(deploymentMeta, [])).toBe(deploymentMeta);
  });
});

describe('answeredByRollback', () => {
  const t = (image: string, memory = '256Mi'): V1PodTemplateSpec => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image, resources: { limits: { memory } } }] } });
  const web2 = templateHash(t('web:2'));
  test('a failure of a revision rolled back from, while the template is another: answered', () => {
    expect(answeredByRollback(web2, [web2], false)).toBe(true);
  });
  test('not rolled back from, unknown, or the template is that revision again (re-applied): not answered', () => {
    expect(answeredByRollback(web2, [], false)).toBe(false);
    expect(answeredByRollback(null, [web2], false)).toBe(false);
    expect(answeredByRollback(web2, [web2], true)).toBe(false);
  });
});

describe('typedPodTemplate: a ControllerRevision\'s raw template compared with a typed set\'s', () => {
  test("a field client-node's model does not know, and a null creationTimestamp: equal to the set's typed template once read alike; another image is not", () => {
    const raw = { metadata: { creationTimestamp: null, labels: { app: 'db' } }, spec: { workloadRef: { name: 'training' }, containers: [{ name: 'db', image: 'db:1', ports: [{ containerPort: 5432 }] }] } };
    const typed: V1PodTemplateSpec = { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'db:1', ports: [{ containerPort: 5432 }] }] } };
    expect(templatesEqualIgnoringHash(raw as unknown as V1PodTemplateSpec, typed)).toBe(false);
    expect(templatesEqualIgnoringHash(typedPodTemplate(raw as unknown as V1PodTemplateSpec), typed)).toBe(true);
    const other = structuredClone(raw);
    other.spec.containers[0]!.image = 'db:2';
    expect(templatesEqualIgnoringHash(typedPodTemplate(other as unknown as V1PodTemplateSpec), typed)).toBe(false);
    expect(raw.spec.workloadRef).toEqual({ name: 'training' }); // the input is left as it was
  });
});

describe('a StatefulSet pod a delete gives the raised memory, and nothing else', () => {
  const sts = (updateStrategy?: V1StatefulSet['spec'] extends infer S ? (S extends { updateStrategy?: infer U } ? U : never) : never): V1StatefulSet => ({
    metadata: { name: 'db', uid: 'db-uid' },
    spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: {}, ...(updateStrategy ? { updateStrategy } : {}) },
  });
  const pod = (name: string, index?: string): V1Pod => ({ metadata: { name, labels: index === undefined ? {} : { 'apps.kubernetes.io/pod-index': index } } });
  test('the ordinal: the pod-index label, else the name', () => {
    expect(podOrdinal(sts(), pod('db-2'))).toBe(2);
    expect(podOrdinal(sts(), pod('whatever', '7'))).toBe(7);
    expect(podOrdinal(sts(), pod('db-02'))).toBeNull();
    expect(podOrdinal(sts(), pod('dbx-1'))).toBeNull();
  });
  test('recreated from the template: OnDelete and RollingUpdate always, but never below a partition', () => {
    expect(recreatedFromTemplate(sts(), pod('db-0'))).toBe(true);
    expect(recreatedFromTemplate(sts({ type: 'OnDelete' }), pod('db-0'))).toBe(true);
    expect(recreatedFromTemplate(sts({ type: 'RollingUpdate', rollingUpdate: { partition: 2 } }), pod('db-1'))).toBe(false);
    expect(recreatedFromTemplate(sts({ type: 'RollingUpdate', rollingUpdate: { partition: 2 } }), pod('db-2'))).toBe(true);
    expect(recreatedFromTemplate(sts({ type: 'RollingUpdate', rollingUpdate: { partition: 2 } }), pod('stray'))).toBe(false);
  });
  test('templates equal but for one container’s memory', () => {
    const t = (image: string, memory: string, sidecar = '64Mi'): V1PodTemplateSpec => ({
      metadata: { labels: { app: 'db' } },
      spec: {
        initContainers: [{ name: 'proxy', image: 'p:1', restartPolicy: 'Always', resources: { limits: { memory: sidecar } } }],
        containers: [{ name: 'db', image, resources: { limits: { memory, cpu: '1' }, requests: { memory } } }],
      },
    });
    expect(templatesEqualButMemory(t('db:1', '256Mi'), t('db:1', '356Mi'), 'db', false)).toBe(true);
    expect(templatesEqualButMemory({ ...t('db:1', '256Mi'), $patch: 'replace' }, t('db:1', '356Mi'), 'db', false)).toBe(true);
    expect(templatesEqualButMemory(t('db:1', '256Mi'), t('db:2', '356Mi'), 'db', false)).toBe(false);
    expect(templatesEqualButMemory(t('db:1', '256Mi', '64Mi'), t('db:1', '256Mi', '128Mi'), 'db', false)).toBe(false);
    expect(templatesEqualButMemory(t('db:1', '256Mi', '64Mi'), t('db:1', '256Mi', '128Mi'), 'proxy', true)).toBe(true);
  });
});
