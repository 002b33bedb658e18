/**
 * A ReplicaSet edited in place (`kubectl edit rs`) before its first known-good mark, across a change
 * of leader, on the simulated cluster. The leader that saw the ReplicaSet's template before the edit
 * knows it was edited; the next leader (after a fail-over, a rolling update of Amadeus, a restart)
 * must know it too, or it marks the edited template on the health of pods that run the old one —
 * and a later crash loop is "rolled back" to a template that never ran. What the first leader saw
 * is recorded on the ReplicaSet (`amadeus.io/template-seen`) for the next one.
 */
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment, type V1Lease, type V1PodTemplateSpec, type V1ReplicaSet } from '@kubernetes/client-node';
import { templateHash, templateMark } from './known-good.js';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, LEASE, NS, type Replica, replicaSetRunning, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const image = (t: V1PodTemplateSpec | undefined) => t!.spec!.containers[0]!.image;
const rsNamed = (name: string) => w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', name);
const holder = () => w.get<V1Lease>('coordination.k8s.io/v1', 'Lease', LEASE.name).spec!.holderIdentity;
const running = () => w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`);
const seenOn = (rs: V1ReplicaSet) => JSON.parse(rs.metadata!.annotations!['amadeus.io/template-seen']!) as unknown;

/** `kubectl edit rs <name>`, changing the first container's image: a patch through the API server, like kubectl's. */
async function kubectlEditImage(name: string, to: string): Promise<void> {
  const apps = w.kube.kubeConfig().makeApiClient(AppsV1Api);
  await apps.patchNamespacedReplicaSet(
    { namespace: NS, name, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: to }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
}

type Change = 'stop' | 'crash' | 'restart';

/**
 * Deployment web (web:1, 2 replicas) watched by replica `a` (with `b` beside it, electing, unless
 * `restart`): two minutes in, before any mark, paused. Returns the replicas and the ReplicaSet.
 */
async function pausedBeforeMark(change: Change): Promise<{ a: Replica; b: Replica | null; name: string }> {
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
  const two = change !== 'restart';
  const a = await w.start({ name: 'a', elect: two });
  const b = two ? await w.start({ name: 'b', elect: true }) : null;
  await w.advance(2 * 60);
  expect(a.healer.isLeader).toBe(true);
  const name = replicaSetRunning(w, 'web', 'web:1')!.metadata!.name!;
  w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.paused = true));
  await w.advance(60);
  expect(rsNamed(name).metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
  return { a, b, name };
}

/** The leader `a` goes, in the way `change` says, around `edit`; returns the replica that leads then. */
async function leaderGoes(change: Change, a: Replica, b: Replica | null, edit: () => Promise<void>): Promise<Replica> {
  if (change === 'crash') {
    // A dies (its calls hang from its next Lease round on); the edit lands before its Lease runs out.
    let dead = false;
    void a.cutAfter('readNamespacedLease').then(() => (dead = true));
    expect(await w.advance(20, { until: () => dead })).toBe(true);
    await edit();
    return b!;
  }
  await edit();
  await w.stop(a);
  return change === 'stop' ? b! : w.start({ name: 'a-again' });
}

describe('a ReplicaSet edited in place before its first mark, then another replica leads (its Deployment paused)', () => {
  test.each([
    ['the leader is stopped (a rolling update of Amadeus) right after the edit', 'stop'],
    ['the leader crashes; the edit lands before its Lease runs out', 'crash'],
    ['the only replica is restarted after the edit', 'restart'],
  ] as const)('%s: the next leader does not mark the edited template on the pods from before; resumed, web:2 crash-looping is never rolled back to it', async (_, change) => {
    w = await healerWorld();
    w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
    w.cluster.behave('web:1-edited', { run: 'crash', log: 'panic: edited\n' });
    const { a, b, name } = await pausedBeforeMark(change);
    const before = rsNamed(name);
    const next = await leaderGoes(change, a, b, () => kubectlEditImage(name, 'web:1-edited'));

    // Half an hour of the pods from before the edit, healthy, watched by the next leader all along
    // (b) or since its start: they ran web:1, not the edited template.
    await w.advance(30 * 60);
    expect(next.healer.isLeader).toBe(true);
    if (change !== 'restart') expect(holder()).toBe('b');
    expect(running()).toEqual(['web:1 true', 'web:1 true']);
    expect(image(rsNamed(name).spec!.template)).toBe('web:1-edited');
    expect(rsNamed(name).metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();

    // Resumed: the controller makes a new ReplicaSet for web:1 and scales the edited one down; web:2
    // is released before the new one earns a mark, and crash-loops.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.paused = false));
    await w.advance(2 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);
    expect(next.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`)).toEqual(['rollback/refused/no-known-good']);
    expect(w.pods().filter((p) => /edited/.test(p.spec!.containers[0]!.image!))).toEqual([]);
    expect(w.patches('deployments/web')).toEqual([]);
    expect(w.reports().filter((r) => r.result === 'failed')).toEqual([]);

    // What told the next leader: the first leader's record of the template it first saw, web:1's.
    expect(seenOn(before)).toEqual({ for: before.metadata!.uid, template: templateMark(templateHash(before.spec!.template)) });
    // The next leader, having found the edit, recorded it for the leaders after it.
    expect(seenOn(rsNamed(name))).toEqual({ for: before.metadata!.uid, edited: true });
  });

  test('pods made from the edited template after the next leader first saw it earn the mark for it', async () => {
    w = await healerWorld();
    w.cluster.behave('web:1-edited', 'healthy');
    const { a, b, name } = await pausedBeforeMark('stop');
    await leaderGoes('stop', a, b, () => kubectlEditImage(name, 'web:1-edited'));
    await w.advance(15 * 60);
    expect(rsNamed(name).metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
    for (const p of w.pods({ app: 'web' })) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
    await w.advance(15 * 60);
    expect(running()).toEqual(['web:1-edited true', 'web:1-edited true']);
    const rs = rsNamed(name);
    expect(rs.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': rs.metadata!.uid, 'amadeus.io/known-good-template': templateMark(templateHash(rs.spec!.template)) });
    expect(b!.healer.reports).toEqual([]);
  });

  test('the edit seen by the leader, its pods remade from it, the edit undone on the ReplicaSet, then the leader stopped: the next leader does not mark web:1 on pods that run the edit; pods made from web:1 again earn it', async () => {
    w = await healerWorld();
    w.cluster.behave('web:1-edited', 'healthy');
    const { a, b, name } = await pausedBeforeMark('stop');
    await kubectlEditImage(name, 'web:1-edited');
    await w.advance(60); // a's mark round sees the edit
    const seenThen = rsNamed(name);
    for (const p of w.pods({ app: 'web' })) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
    await w.advance(60);
    expect(running()).toEqual(['web:1-edited true', 'web:1-edited true']);
    await leaderGoes('stop', a, b, () => kubectlEditImage(name, 'web:1'));

    await w.advance(30 * 60);
    expect(b!.healer.isLeader).toBe(true);
    expect(image(rsNamed(name).spec!.template)).toBe('web:1');
    expect(running()).toEqual(['web:1-edited true', 'web:1-edited true']);
    expect(rsNamed(name).metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();

    for (const p of w.pods({ app: 'web' })) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
    await w.advance(15 * 60);
    expect(running()).toEqual(['web:1 true', 'web:1 true']);
    const rs = rsNamed(name);
    expect(rs.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-template': templateMark(templateHash(rs.spec!.template)) });
    // What told the next leader: the first leader's record that it saw the template change.
    expect(seenOn(seenThen)).toEqual({ for: rs.metadata!.uid, edited: true });
  });
});
