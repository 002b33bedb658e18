/**
 * Multi-step scenarios of a release that rolled out while Amadeus was not watching (stopped, being
 * upgraded, between leaders), on the simulated cluster: real controllers, the kubelet stand-in, and
 * real Healer instances over HTTP — one before the gap, a new one after it. Each asserts what the
 * new healer did when the release's pods crash-loop shortly after it started, and what it must not
 * have done.
 */
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { beforeNextBody, HEAL, healerWorld, type HealerWorld, isTemplateSeenRecord, kubectlUndo, NS, type Replica, replicaSetRunning, reportSummary, strayTemplateSeenRecords } from '../test-support/healer-world.js';
import type { HealerOptions } from './healer.js';
import { deploymentRolloutCompleted, podsOfRevision, ranHealthyUnwatched } from './unwatched.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const image = () => w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image;
/** Not a dependency outage by the log classifier's patterns (the app's own words for it). */
const LOST_PRIMARY = 'starting web:2\nfatal: lost the primary: ledger is read-only, refusing to serve stale balances\n';

/** A new world (`nodes`: the cluster's, three unless given): web:1 rolled out and marked known-good by a first Amadeus, which then stops; web:1's ReplicaSet. */
async function webOneKnownGoodThenStopped(nodes?: string[]): Promise<V1ReplicaSet> {
  w = await healerWorld(nodes ? { nodes } : {});
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  const first = await w.start({ name: 'amadeus-before' });
  await w.advance(11 * 60);
  const good = replicaSetRunning(w, 'web', 'web:1')!;
  expect(good.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
  await w.stop(first);
  return good;
}

describe('a release rolled out while Amadeus was not watching', () => {
  test('web:2 ran healthy for three hours unwatched, then crash-loops minutes after Amadeus starts again (logs not a known dependency outage)', async () => {
    // Amadeus stops (an upgrade, a node drain); web:2 rolls out and serves for three hours.
    await webOneKnownGoodThenStopped();
    const outageAt = w.cluster.clock.now() + (3 * 60 + 5) * 60_000;
    let outageEnd = Infinity;
    // web:2's pods serve until the primary goes away, then exit at every start until it is back.
    w.cluster.behaviour(({ container }) => {
      if (container.image !== 'web:2') return undefined;
      const now = w.cluster.clock.now();
      if (now >= outageEnd) return 'healthy';
      const left = Math.round((outageAt - now) / 1000);
      return left > 0 ? `healthy-then-crash:${left}` : { run: 'crash', log: LOST_PRIMARY };
    });
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(3 * 60 * 60);
    const released = replicaSetRunning(w, 'web', 'web:2')!;
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${p.status!.containerStatuses![0]!.ready} ${p.status!.containerStatuses![0]!.restartCount}`)).toEqual(
      Array(3).fill('web:2 true 0'),
    );
    expect(released.metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();

    // A new Amadeus starts; five minutes later the primary is lost and web:2's pods crash-loop.
    const second = await w.start({ name: 'amadeus-after' });
    await w.advance(15 * 60);

    expect(w.pods({ app: 'web' }).every((p) => p.status!.containerStatuses![0]!.state!.waiting?.reason === 'CrashLoopBackOff' || p.status!.containerStatuses![0]!.state!.running)).toBe(true);
    // Refused, saying what the API server showed and how to roll back by hand; nothing patched.
    expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/ran-healthy-unwatched']);
    const [r] = second.healer.reports;
    expect(r!.logs?.category).toBe('unknown');
    expect(r!.message).toMatch(
      new RegExp(
        `^no rollback: revision 2 ran healthy before this crash loop, while Amadeus was not watching it \\(so it carries no known-good mark\\): ` +
          `its rollout completed at 2024-05-14T09:11:\\d\\d\\.000Z \\(the Deployment's Progressing condition: NewReplicaSetAvailable for ReplicaSet ${released.metadata!.name}\\), ` +
          `and each of its 3 pods older than 12 min ran every container at least \\d+ min without a restart `,
      ),
    );
    expect(r!.message).toContain(`To roll back anyway: kubectl -n ${NS} rollout undo deployment/web --to-revision=1`);
    expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Warning HealRefused']);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(image()).toBe('web:2');

    // Two hours of the outage: restarts pile up (the pods' own numbers no longer tell a crash loop
    // from a long run by then), the refusal stands; then the primary is back and web:2 serves again.
    outageEnd = outageAt + 2 * 60 * 60_000;
    await w.advance(2 * 60 * 60);
    expect(Math.min(...w.pods({ app: 'web' }).map((p) => p.status!.containerStatuses![0]!.restartCount!))).toBeGreaterThan(20);
    expect(new Set(reportSummary(w))).toEqual(new Set(['Deployment/web rollback/refused/ran-healthy-unwatched']));
    expect(w.patches('deployments/web')).toEqual([]);
    await w.advance(20 * 60);
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${p.status!.containerStatuses![0]!.ready}`)).toEqual(Array(3).fill('web:2 true'));
    // Observed healthy by this process now: marked known-good (its own observation, as ever).
    expect(replicaSetRunning(w, 'web', 'web:2')!.metadata!.annotations!['amadeus.io/known-good']).toBe('true');
    expect(new Set(reportSummary(w))).toEqual(new Set(['Deployment/web rollback/refused/ran-healthy-unwatched']));
    expect(w.patches('deployments/web')).toEqual([]);
    expect(image()).toBe('web:2');
  });

  test('web:2 rolls out minutes after Amadeus starts again and crash-loops from its start → rolled back to web:1 as ever', async () => {
    const good = await webOneKnownGoodThenStopped();
    w.cluster.behave('web:2', { run: 'crash', log: LOST_PRIMARY });
    await w.advance(3 * 60 * 60); // web:1 serves on, unwatched

    const second = await w.start({ name: 'amadeus-after' });
    await w.advance(5 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(10 * 60);

    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(second.healer.reports[0]!.message).toBe(`rolled back from revision 2 to revision 1 (ReplicaSet ${good.metadata!.name})`);
    expect(image()).toBe('web:1');
  });

  test('web:2 rolled out while Amadeus was stopped and has crash-looped since its start, for three hours → rolled back at the first look', async () => {
    const good = await webOneKnownGoodThenStopped();
    w.cluster.behave('web:2', { run: 'crash', log: LOST_PRIMARY });
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(3 * 60 * 60);
    // The rollout is stuck on its first web:2 pod (maxUnavailable 0), old enough to count: no long run in it.
    const stuck = w.pods({ app: 'web' }).filter((p) => p.spec!.containers[0]!.image === 'web:2');
    expect(stuck).toHaveLength(1);
    expect(stuck[0]!.status!.containerStatuses![0]!.restartCount).toBeGreaterThan(30);

    const second = await w.start({ name: 'amadeus-after' });
    await w.advance(60);

    expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
    expect(second.healer.reports[0]!.message).toBe(`rolled back from revision 2 to revision 1 (ReplicaSet ${good.metadata!.name})`);
    expect(image()).toBe('web:1');
  });
});

const RECORD = 'amadeus.io/ran-healthy-unwatched';
/** The finding recorded on a revision, parsed; undefined when none. */
const recordOn = (rs: V1ReplicaSet | undefined): { at: string; for: string; evidence: string } | undefined => {
  const raw = rs?.metadata?.annotations?.[RECORD];
  return raw === undefined ? undefined : (JSON.parse(raw) as { at: string; for: string; evidence: string });
};
/** Deployment web's ReplicaSet running `img`, as stored now. */
const rsOf = (img: string) => replicaSetRunning(w, 'web', img)!;

/**
 * web:1 marked known-good by a first Amadeus, which stops; web:2 rolls out and serves for three
 * hours unwatched; a second Amadeus starts (with `second`'s options), and five minutes later web:2
 * crash-loops with logs the classifier does not know, until `outage.end` (never, unless set).
 * `nodes`: the cluster's (three unless given).
 */
async function ranHealthyUnwatchedThenCrashLoops(
  second: Partial<HealerOptions> & { elect?: boolean } = {},
  alongside: () => Promise<void> = async () => {},
  nodes?: string[],
): Promise<{ second: Replica; good: V1ReplicaSet; released: V1ReplicaSet; outage: { at: number; end: number } }> {
  const good = await webOneKnownGoodThenStopped(nodes);
  const outage = { at: w.cluster.clock.now() + (3 * 60 + 5) * 60_000, end: Infinity };
  w.cluster.behaviour(({ container }) => {
    if (container.image !== 'web:2') return undefined;
    const now = w.cluster.clock.now();
    if (now >= outage.end) return 'healthy';
    const left = Math.round((outage.at - now) / 1000);
    return left > 0 ? `healthy-then-crash:${left}` : { run: 'crash', log: LOST_PRIMARY };
  });
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
  await w.advance(3 * 60 * 60);
  const released = rsOf('web:2');
  expect(released.metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
  const replica = await w.start({ name: 'amadeus-after', ...second });
  await alongside();
  await w.advance(15 * 60);
  expect(reportSummary(w)).toEqual([`Deployment/web rollback/refused/ran-healthy-unwatched`]);
  expect(replica.healer.reports[0]!.logs?.category).toBe('unknown');
  return { second: replica, good, released, outage };
}

/** What the pods of web:2's ReplicaSet show now, by the rule of `unwatched.ts` (null: they prove no long run). */
const podsShowNow = (released: V1ReplicaSet) => {
  const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
  const completed = deploymentRolloutCompleted(d, released.metadata!.name!);
  return ranHealthyUnwatched(completed, podsOfRevision(w.pods({ app: 'web' }), 'Deployment', d.metadata!.uid, released.metadata), w.cluster.clock.now());
};

/** The annotations each PATCH of the revision wrote, in order (but the template first seen, written once by the leader that first saw it): the crash-loop record and the finding, each once. */
const revisionWrites = (revision: V1ReplicaSet) => w.patches(`replicasets/${revision.metadata!.name}`).filter((q) => !isTemplateSeenRecord(q)).map((p) => Object.keys((p.body as { metadata: { annotations: object } }).metadata.annotations).join(','));

describe('the finding recorded on the revision: it outlives the process that found it', () => {
  test('web:2 refused and the finding recorded on its ReplicaSet; late in a long crash loop (its pods prove nothing any more) a new Amadeus still refuses, by the record; nothing patched on the Deployment throughout', async () => {
    const { second, released } = await ranHealthyUnwatchedThenCrashLoops();
    const uid = released.metadata!.uid!;
    // Recorded on web:2's ReplicaSet, bound to its uid, saying what was shown: once.
    const record = recordOn(rsOf('web:2'))!;
    expect(record).toEqual({ at: expect.any(String), for: uid, evidence: expect.stringMatching(/^its rollout completed at .* ran every container at least \d+ min without a restart /) });
    expect(second.healer.reports[0]!.message).toContain(record.evidence);
    expect(revisionWrites(released)).toEqual(['amadeus.io/crash-looped-at', RECORD]);
    expect(w.lines().some((l) => l.msg.startsWith('recorded on the revision that it ran healthy while unwatched'))).toBe(true);

    // Two hours of the crash loop: the restarts pile up, and the pods' own numbers no longer tell
    // it from a crash loop since their start. The refusal stands; the record is not written again.
    await w.advance(2 * 60 * 60);
    expect(Math.min(...w.pods({ app: 'web' }).map((p) => p.status!.containerStatuses![0]!.restartCount!))).toBeGreaterThan(20);
    expect(podsShowNow(released)).toBeNull();
    expect(new Set(reportSummary(w))).toEqual(new Set(['Deployment/web rollback/refused/ran-healthy-unwatched']));
    expect(revisionWrites(released)).toEqual(['amadeus.io/crash-looped-at', RECORD]);

    // Amadeus restarts (a new process: nothing in memory) while the crash loop goes on.
    await w.stop(second);
    const third = await w.start({ name: 'amadeus-again' });
    await w.advance(15 * 60);
    expect(podsShowNow(released)).toBeNull();
    expect(third.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`)).toEqual(['rollback/refused/ran-healthy-unwatched']);
    expect(third.healer.reports[0]!.message).toContain(
      `no rollback: revision 2 ran healthy before this crash loop, while Amadeus was not watching it (so it carries no known-good mark): as recorded on the revision at ${record.at} (${RECORD}): ${record.evidence}. `,
    );
    expect(third.healer.reports[0]!.message).toContain(`To roll back anyway: kubectl -n ${NS} rollout undo deployment/web --to-revision=1`);
    expect(recordOn(rsOf('web:2'))).toEqual(record);
    expect(revisionWrites(released)).toEqual(['amadeus.io/crash-looped-at', RECORD]);
    expect(strayTemplateSeenRecords(w, 0, 'web')).toEqual([]); // the template first seen: once a ReplicaSet, by three processes
    expect(w.patches('deployments/web')).toEqual([]);
    expect(image()).toBe('web:2');
    expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(Array(w.reports().length).fill('web Warning HealRefused'));
  });

  test('the record copied by kubectl rollout undo onto the Deployment, and by its controller onto web:3’s new ReplicaSet, protects nothing there: web:3 crash-looping from its start is rolled back to known-good web:1 — not to web:2, which the record never makes a target', async () => {
    // Two nodes: web:3's crash-looping pod lands beside a Ready web:1 pod, wherever it lands, so the
    // node rule (no rollback for a crash loop one node alone explains) has its evidence: the crash
    // loop is the revision's, and what is tested here is the copied record alone.
    const { second, good, released } = await ranHealthyUnwatchedThenCrashLoops({}, undefined, ['node-1', 'node-2']);
    expect(recordOn(rsOf('web:2'))!.for).toBe(released.metadata!.uid);
    // The operator rolls back by hand, as the report says (kubectl rollout undo --to-revision=1).
    kubectlUndo(w, 'web', rsOf('web:1'));
    await w.advance(10 * 60);
    expect(image()).toBe('web:1');
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${p.status!.containerStatuses![0]!.ready}`)).toEqual(Array(3).fill('web:1 true'));
    expect(new Set(w.pods({ app: 'web' }).map((p) => p.spec!.nodeName))).toEqual(new Set(['node-1', 'node-2']));

    // Later: undo back to web:2 — its annotations, the record included, replace the Deployment's —
    // and, before the healer's next round, web:3, whose ReplicaSet the controller makes with them.
    w.cluster.behave('web:3', { run: 'crash', log: 'starting web:3\nfatal: schema version 41 is not supported by this build\n' });
    kubectlUndo(w, 'web', rsOf('web:2'));
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').metadata!.annotations![RECORD]).toBe(rsOf('web:2').metadata!.annotations![RECORD]);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:3'));
    const before = second.healer.reports.length;
    await w.advance(10 * 60);

    const three = rsOf('web:3');
    expect(recordOn(three)).toEqual(recordOn(rsOf('web:2'))); // the copy: it names web:2's uid
    expect(recordOn(three)!.for).not.toBe(three.metadata!.uid);
    const after = second.healer.reports.slice(before);
    expect(after.map((r) => `${r.action}/${r.result}/${r.reason}`)).toEqual(['rollback/applied/rolled-back']);
    expect(after[0]!.message).toMatch(new RegExp(`^rolled back from revision \\d+ to revision \\d+ \\(ReplicaSet ${good.metadata!.name}\\)$`));
    expect(image()).toBe('web:1');
    // The leader removed the copy from the Deployment (as it does known-good marks); web:2 keeps its own record.
    expect(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').metadata!.annotations![RECORD]).toBeUndefined();
    expect(recordOn(rsOf('web:2'))!.for).toBe(released.metadata!.uid);
  });

  test('two replicas electing a leader: the leader alone refuses and records, once; after it stops, the other takes over and refuses by the record, writing nothing', async () => {
    let other: Replica | undefined;
    const { second, released } = await ranHealthyUnwatchedThenCrashLoops({ elect: true }, async () => {
      other = await w.start({ name: 'amadeus-other', elect: true });
    });
    expect(second.healer.isLeader).toBe(true);
    expect(other!.healer.isLeader).toBe(false);
    expect(other!.healer.reports).toEqual([]);
    const record = recordOn(rsOf('web:2'))!;
    expect(record.for).toBe(released.metadata!.uid);
    expect(revisionWrites(released)).toEqual(['amadeus.io/crash-looped-at', RECORD]);

    // Two hours on (the pods prove nothing any more), the leader stops: the other takes the Lease.
    await w.advance(2 * 60 * 60);
    expect(podsShowNow(released)).toBeNull();
    await w.stop(second);
    await w.advance(15 * 60);
    expect(other!.healer.isLeader).toBe(true);
    expect(new Set(other!.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`))).toEqual(new Set(['rollback/refused/ran-healthy-unwatched']));
    expect(other!.healer.reports[0]!.message).toContain(`as recorded on the revision at ${record.at}`);
    expect(recordOn(rsOf('web:2'))).toEqual(record);
    expect(revisionWrites(released)).toEqual(['amadeus.io/crash-looped-at', RECORD]);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(image()).toBe('web:2');
  });

  test('another writer records the finding between the leader\'s read and its write (409): the retry finds it there, writes nothing, and does not say it recorded it', async () => {
    let theirs = '';
    const { second, released } = await ranHealthyUnwatchedThenCrashLoops({}, async () => {
      // Another replica (a second leader for a moment, on an expiring Lease) records it first.
      const match = { method: 'PATCH', path: new RegExp(`^/apis/apps/v1/namespaces/${NS}/replicasets/`) };
      beforeNextBody(w, match, (body) => JSON.stringify(body).includes(RECORD), () => {
        const rs = rsOf('web:2');
        theirs = JSON.stringify({ at: new Date(w.cluster.clock.now()).toISOString(), for: rs.metadata!.uid, evidence: 'recorded by the other replica' });
        w.edit<V1ReplicaSet>('apps/v1', 'ReplicaSet', rs.metadata!.name!, (x) => void (x.metadata!.annotations = { ...x.metadata!.annotations, [RECORD]: theirs }));
      });
    });
    expect(theirs).not.toBe('');
    const records = w.patches(`replicasets/${released.metadata!.name}`).filter((q) => JSON.stringify(q.body).includes(RECORD));
    expect(records.map((q) => q.status)).toEqual([409]);
    expect(rsOf('web:2').metadata!.annotations![RECORD]).toBe(theirs);
    expect(second.lines.filter((l) => l.msg.startsWith('recorded on the revision'))).toEqual([]);
    expect(second.lines.filter((l) => l.msg.startsWith('the revision was found recorded')).map((l) => l.level)).toEqual(['debug']);
    expect(second.lines.filter((l) => l.level === 'warn' && l.msg.startsWith('could not record'))).toEqual([]);
  });

  test('dry run: refused the same way, nothing recorded (dry run writes nothing), and said what it would record', async () => {
    const { second, released } = await ranHealthyUnwatchedThenCrashLoops({ dryRun: true });
    expect(second.healer.reports[0]!.message).toMatch(/^no rollback: revision 2 ran healthy before this crash loop, while Amadeus was not watching it \(so it carries no known-good mark\): its rollout completed at /);
    expect(recordOn(rsOf('web:2'))).toBeUndefined();
    expect(w.patches(`replicasets/${released.metadata!.name}`)).toEqual([]);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(w.lines().some((l) => l.msg === 'dry run: would record on the revision that it ran healthy while unwatched')).toBe(true);
    // Remembered by this process through the crash loop, as before.
    await w.advance(2 * 60 * 60);
    expect(podsShowNow(released)).toBeNull();
    expect(new Set(reportSummary(w))).toEqual(new Set(['Deployment/web rollback/refused/ran-healthy-unwatched']));
    expect(recordOn(rsOf('web:2'))).toBeUndefined();
    expect(w.patches('deployments/web')).toEqual([]);
  });
});
