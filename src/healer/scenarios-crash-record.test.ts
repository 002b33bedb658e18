/**
 * The crash-loop record (`amadeus.io/crash-looped-at`) end to end, on the simulated cluster: written
 * once by the leader of two replicas, and the release after the raise it names refused by whichever
 * replica leads; written whole through a 409; and a copy of another revision's record, carried onto
 * a new raise by `kubectl rollout undo` and the Deployment controller, which is not the raise's own.
 */
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL_ANNOTATIONS } from './rules.js';
import { beforeNextBody, HEAL, healerWorld, type HealerWorld, isTemplateSeenRecord, kubectlUndo, NS, raiseSeenCrashLooping, type Replica, replicaSetRunning, replicaSetsOf, reportSummary, strayTemplateSeenRecords, API_STORY } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const { crashLoopedAt: RECORD } = HEAL_ANNOTATIONS;
const { raised: RAISED, tooFew: TOO_FEW, refused: REFUSED } = API_STORY;
const summary = () => reportSummary(w);
const template = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'api').spec!.template.spec!.containers[0]!;
const annotations = (name: string) => w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', name).metadata!.annotations!;
const release = (image: string) => w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => void (d.spec!.template.spec!.containers[0]!.image = image));
/** The PATCHes of ReplicaSet `name` that wrote the record. */
const recordWrites = (name: string) => w.patches(`replicasets/${name}`).filter((q) => JSON.stringify(q.body).includes(RECORD));
/** The writes a replica sent, but for its Lease's and its Events. */
const writesBy = (r: Replica) => r.calls.filter((m) => /^(patch|delete|replace|create)/.test(m) && !/(Lease|Event)$/.test(m));
const deletes = () => w.kube.requests.filter((q) => q.method === 'DELETE');

/** Replicas a, then b, electing a leader, through the raise seen crash-looping (`raiseSeenCrashLooping`). */
async function twoReplicas(beforeRaise?: () => void): Promise<{ a: Replica; b: Replica; raised: V1ReplicaSet }> {
  w = await healerWorld();
  const start = async () => [await w.start({ name: 'a', elect: true }), await w.start({ name: 'b', elect: true })] as const;
  const { started: [a, b], raised } = await raiseSeenCrashLooping(w, start, beforeRaise);
  expect(a.healer.isLeader).toBe(true);
  expect(b.healer.isLeader).toBe(false);
  expect(summary()).toEqual([RAISED, TOO_FEW]);
  expect(b.healer.reports).toEqual([]);
  return { a, b, raised };
}

describe('the raise seen crash-looping, then a release: left to people, by whichever replica leads', () => {
  test('two replicas: the leader alone records the raise’s crash loop, once, and refuses the release (raise-crash-looped); nothing patched or deleted for an hour; after it stops the other leads, still refuses, and writes nothing', async () => {
    const { a, b, raised } = await twoReplicas();
    const name = raised.metadata!.name!;
    const record = raised.metadata!.annotations![RECORD]!;
    expect(Date.parse(record)).toBeGreaterThanOrEqual(Date.parse(raised.metadata!.creationTimestamp as unknown as string));
    expect(recordWrites(name).map((q) => q.status)).toEqual([200]);
    // The follower observes every pod but sends no write: the record is the leader's.
    expect(writesBy(b)).toEqual([]);

    release('api:2');
    await w.advance(10 * 60);
    expect(summary()).toEqual([RAISED, TOO_FEW, REFUSED]);
    expect(a.healer.reports[2]!.message).toContain(`revision 2 raised the memory of known-good revision 1 since, and its pods were seen crash-looping at ${record}:`);
    await w.advance(60 * 60);
    expect(new Set(summary().slice(2))).toEqual(new Set([REFUSED]));
    expect(b.healer.reports).toEqual([]);
    expect(writesBy(b)).toEqual([]);
    expect(recordWrites(name)).toHaveLength(1);
    expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]); // the raise
    expect(deletes()).toEqual([]);
    expect(template().image).toBe('api:2');

    // a stops (an upgrade): b takes the Lease and looks at every pod again, the raise's one left
    // pod Ready since long before (its crash-looping pod was scaled away by the release's rollout).
    expect(w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', name).status).toMatchObject({ replicas: 1, readyReplicas: 1 });
    const from = w.kube.requests.length;
    await w.stop(a);
    await w.advance(60 * 60);
    expect(b.healer.isLeader).toBe(true);
    expect(new Set(b.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`))).toEqual(new Set(['rollback/refused/raise-crash-looped']));
    expect(b.healer.reports[0]!.message).toContain(`seen crash-looping at ${record}:`);
    // Nothing written: no second record (on the raise or the release), no known-good mark, no rollback.
    expect(writesBy(b)).toEqual([]);
    expect(w.kube.requests.slice(from).filter((q) => q.method === 'PATCH' || q.method === 'DELETE')).toEqual([]);
    expect(annotations(name)[RECORD]).toBe(record);
    expect(annotations(name)['amadeus.io/known-good']).toBeUndefined();
    expect(template().image).toBe('api:2');
    expect(template().resources!.limits!.memory).toBe('356Mi');
  });

  test('the leader’s record on the raise answered 409 (a person annotated the ReplicaSet just before; the server gave up retrying): re-read and written once, the annotation kept; the release is refused all the same', async () => {
    const TRIAGE = 'example.com/triage';
    let conflictAt = NaN;
    let before: Record<string, string> = {};
    let landed: unknown;
    const { a, b, raised } = await twoReplicas(() => {
      // api:1 is marked already: the next ReplicaSet patch writing a crash-loop record is the raise's.
      const match = { method: 'PATCH', path: new RegExp(`^/apis/apps/v1/namespaces/${NS}/replicasets/`) };
      beforeNextBody(w, match, (body) => JSON.stringify(body).includes(RECORD), () => {
        conflictAt = w.cluster.clock.now();
        landed = w.kube.requests.at(-1); // the request it lands with
        const raise = replicaSetsOf(w, 'api').find((rs) => rs.spec!.template!.spec!.containers[0]!.resources!.limits!.memory === '356Mi')!;
        before = { ...raise.metadata!.annotations };
        w.edit<V1ReplicaSet>('apps/v1', 'ReplicaSet', raise.metadata!.name!, (rs) => void (rs.metadata!.annotations = { ...rs.metadata!.annotations, [TRIAGE]: 'node ip-10-0-3-7 suspect' }));
        w.kube.failNext(match, 409);
      });
    });
    const name = raised.metadata!.name!;
    const at = new Date(conflictAt).toISOString();
    const writes = w.patches(`replicasets/${name}`).filter((q) => !isTemplateSeenRecord(q));
    expect(writes.map((q) => q.status)).toEqual([409, 200]);
    expect(strayTemplateSeenRecords(w, 0, 'api')).toEqual([]); // those left out: once a ReplicaSet, api's only
    expect(landed).toBe(writes[0]); // the person's write, then the conflict
    // The same record both times, at the time of the crash loop (the retry is no later decision).
    expect(writes.map((q) => q.body)).toEqual(Array(2).fill({ metadata: { annotations: { [RECORD]: at }, resourceVersion: expect.any(String) } }));
    // Read again between the refused patch and the written one.
    const index = (q: object) => w.kube.requests.indexOf(q as (typeof w.kube.requests)[number]);
    const reads = w.kube.requests.filter((q) => q.method === 'GET' && q.path === `/apis/apps/v1/namespaces/${NS}/replicasets/${name}` && index(q) > index(writes[0]!) && index(q) < index(writes[1]!));
    expect(reads).toHaveLength(1);
    // Whole: what was there, the person's annotation, the record; nothing else (but the template first seen, the leader's bookkeeping).
    expect(annotations(name)).toEqual({ ...before, [TRIAGE]: 'node ip-10-0-3-7 suspect', [RECORD]: at, [HEAL_ANNOTATIONS.templateSeen]: expect.any(String) });
    expect(Date.parse(at)).toBeGreaterThanOrEqual(Date.parse(raised.metadata!.creationTimestamp as unknown as string));
    expect(writesBy(b)).toEqual([]);
    expect(w.lines().filter((l) => l.level === 'error' || l.msg.startsWith('could not'))).toEqual([]);

    release('api:2');
    await w.advance(30 * 60);
    expect(new Set(summary().slice(2))).toEqual(new Set([REFUSED]));
    expect(a.healer.reports[2]!.message).toContain(`seen crash-looping at ${at}:`);
    expect(recordWrites(name)).toHaveLength(2);
    expect(annotations(name)[TRIAGE]).toBe('node ip-10-0-3-7 suspect');
    expect(w.patches('deployments/api').map((p) => p.status)).toEqual([200]);
    expect(deletes()).toEqual([]);
    expect(template().image).toBe('api:2');
  });
});

describe('the raise seen crash-looping, then a release, then a fresh process', () => {
  test('Amadeus restarted after the refusal (no memory of the crash loop): the raise’s one pod left, Ready for an hour, is not marked — the release’s rollout scaled it down, crash-looping pod first — and the release is still refused; nothing written', async () => {
    w = await healerWorld();
    const { started: a, raised } = await raiseSeenCrashLooping(w, () => w.start());
    const name = raised.metadata!.name!;
    release('api:2');
    await w.advance(10 * 60);
    expect(summary()).toEqual([RAISED, TOO_FEW, REFUSED]);
    expect(w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', name).status).toMatchObject({ replicas: 1, readyReplicas: 1 });

    await w.stop(a);
    const from = w.kube.requests.length;
    const b = await w.start({ name: 'b' });
    await w.advance(60 * 60);
    expect(new Set(b.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`))).toEqual(new Set(['rollback/refused/raise-crash-looped']));
    expect(annotations(name)['amadeus.io/known-good']).toBeUndefined();
    expect(w.kube.requests.slice(from).filter((q) => q.method === 'PATCH' || q.method === 'DELETE')).toEqual([]);
    expect(template().image).toBe('api:2');
    expect(template().resources!.limits!.memory).toBe('356Mi');
  });
});

describe('a crash-loop record copied onto a new revision', () => {
  test('`kubectl rollout undo` to api:1 (recorded crash-looping on a bad node before its mark) and a memory raise by hand right after: the raise is born with api:1’s record, which is not its own — a release crash-looping next is rolled back to the raise, not refused', async () => {
    w = await healerWorld();
    w.cluster.behave('api:3', 'crash');
    // api:1's first pod lands on a bad node and crash-loops there until the node is drained.
    let bad: string | undefined;
    w.cluster.behaviour((c) => {
      if (c.container.image !== 'api:1') return undefined;
      bad ??= c.pod.metadata!.name!;
      return c.pod.metadata!.name === bad ? 'crash' : 'healthy';
    });
    w.kube.put(deployment('api', { namespace: NS, image: 'api:1', replicas: 3, memory: '256Mi', annotations: HEAL }));
    const a = await w.start();
    await w.advance(5 * 60);
    expect(summary()).toEqual([TOO_FEW]);
    const one = replicaSetRunning(w, 'api', 'api:1')!.metadata!.name!;
    const record = annotations(one)[RECORD]!;
    expect(record).toEqual(expect.any(String));
    // Drained: the pod's replacement runs healthy, and api:1 is marked after its window (the record older).
    w.kube.remove('v1', 'Pod', NS, bad!);
    await w.advance(12 * 60);
    expect(annotations(one)['amadeus.io/known-good']).toBe('true');
    expect(Date.parse(annotations(one)['amadeus.io/known-good-at']!)).toBeGreaterThan(Date.parse(record));

    // api:2 for a few minutes; then the operator undoes it (api:1's annotations, its record among
    // them, replace the Deployment's) and right after raises api:1's memory by hand.
    release('api:2');
    await w.advance(3 * 60);
    kubectlUndo(w, 'api', w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', one));
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'api').metadata!.annotations![RECORD]).toBe(record);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'api', (d) => void (d.spec!.template.spec!.containers[0]!.resources = { limits: { memory: '356Mi' }, requests: { memory: '356Mi' } }));
    await w.advance(3 * 60);
    const raise = replicaSetsOf(w, 'api').find((rs) => rs.spec!.template!.spec!.containers[0]!.resources!.limits!.memory === '356Mi')!;
    // Born with the copy: the record predates the ReplicaSet.
    expect(raise.metadata!.annotations![RECORD]).toBe(record);
    expect(Date.parse(record)).toBeLessThan(Date.parse(raise.metadata!.creationTimestamp as unknown as string));
    expect(raise.metadata!.annotations!['amadeus.io/known-good']).toBe('true'); // copied too, bound to api:1's uid
    expect(raise.metadata!.annotations!['amadeus.io/known-good-for']).not.toBe(raise.metadata!.uid);
    // The leader removed the copies from the Deployment (the ReplicaSet keeps them).
    expect(Object.keys(w.get<V1Deployment>('apps/v1', 'Deployment', 'api').metadata!.annotations!).filter((k) => k.startsWith('amadeus.io/') && k !== 'amadeus.io/heal')).toEqual([]);
    expect(w.pods({ app: 'api' }).map((p) => `${p.spec!.containers[0]!.image} ${p.spec!.containers[0]!.resources!.limits!.memory} ${p.status!.containerStatuses![0]!.ready}`)).toEqual(Array(3).fill('api:1 356Mi true'));

    // Inside the raise's known-good window, a release that crash-loops.
    release('api:3');
    await w.advance(10 * 60);
    expect(summary()).toEqual([TOO_FEW, 'Deployment/api rollback/applied/rolled-back']);
    expect(a.healer.reports[1]!.message).toBe(`rolled back from revision 4 to revision 3 (ReplicaSet ${raise.metadata!.name}: known-good revision 1 with its memory raised since)`);
    expect(template().image).toBe('api:1');
    expect(template().resources!.limits!.memory).toBe('356Mi');
    // Never recorded crash-looping itself: its copy is all it carries.
    expect(recordWrites(raise.metadata!.name!)).toEqual([]);
    expect(annotations(raise.metadata!.name!)[RECORD]).toBe(record);
  });
});
