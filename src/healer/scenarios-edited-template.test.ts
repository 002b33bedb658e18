/**
 * A known-good ReplicaSet whose pod template is edited in place after it was marked (`kubectl edit
 * rs`), on the simulated cluster: real controllers, a kubelet stand-in, and the real Healer talking
 * HTTP to the fake API server. The mark names the template it was observed healthy with
 * (`amadeus.io/known-good-template`, known-good.ts): the edited template was never observed, so
 * that ReplicaSet is no rollback target any more — the crash loop of a newer release is rolled back
 * to an older untouched known-good revision, or refused when none is left.
 *
 * While a ReplicaSet edited in place still runs pods made before the edit (its Deployment paused,
 * so nothing replaces it), their health proves nothing of the edited template: it is marked for
 * that template only on pods made after the edit was seen (`healthySinceTemplateEdit`).
 *
 * (A StatefulSet's ControllerRevision needs no such guard: the API server refuses any change to its
 * `data`.)
 */
import { AppsV1Api, PatchStrategy, setHeaderOptions, type V1Deployment, type V1PodTemplateSpec, type V1ReplicaSet } from '@kubernetes/client-node';
import { templateHash, templateMark } from './known-good.js';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, replicaSetRunning, replicaSetsOf, reportSummary, podReady as ready } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const image = (t: V1PodTemplateSpec | undefined) => t!.spec!.containers[0]!.image;
const rsNamed = (w: HealerWorld, name: string) => w.get<V1ReplicaSet>('apps/v1', 'ReplicaSet', name);

/** `kubectl edit rs <name>`, changing the first container's image: a patch through the API server, like kubectl's. */
async function kubectlEditImage(w: HealerWorld, name: string, to: string): Promise<void> {
  const apps = w.kube.kubeConfig().makeApiClient(AppsV1Api);
  await apps.patchNamespacedReplicaSet(
    { namespace: NS, name, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: to }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
}

describe('a known-good ReplicaSet whose template is edited in place after it was marked', () => {
  test.each([
    ['web:1 untouched', false],
    ['web:1 edited too', true],
  ] as const)(
    'web:1 and web:1b run healthy and are marked; web:1b\'s ReplicaSet is edited (%s); web:3 crash-loops → never rolled back to an edited template',
    async (_, editOne) => {
      // One node (kind): every pod of every revision beside the others, so web:3 crash-loops where web runs Ready (the rollback's node rule).
      w = await healerWorld({ nodes: ['node-1'] });
      w.cluster.behave('web:3', { run: 'crash', log: 'panic: nil map\n' });
      // What the edits put there was never run: had it been restored, its pods would crash too.
      w.cluster.behave('web:1b-edited', { run: 'crash', log: 'panic: edited\n' });
      w.cluster.behave('web:1-edited', { run: 'crash', log: 'panic: edited\n' });
      w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
      const a = await w.start();
      await w.advance(11 * 60);
      w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:1b'));
      await w.advance(11 * 60);
      const one = replicaSetRunning(w, 'web', 'web:1')!;
      const oneB = replicaSetRunning(w, 'web', 'web:1b')!;
      // Both marked, each with the hash of the template it ran healthy with.
      for (const rs of [one, oneB]) {
        expect(rs.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': rs.metadata!.uid, 'amadeus.io/known-good-template': templateMark(templateHash(rs.spec!.template)) });
      }

      // Someone edits the running web:1b's ReplicaSet in place (and, in the second case, the old
      // web:1's, scaled to zero). The Deployment controller no longer finds its template in web:1b's:
      // it makes a new ReplicaSet for it (revision 3, a hash collision counted) and scales the
      // edited one down — its pods, made before the edit, run healthy meanwhile, which proves
      // nothing of the edited template: no new mark.
      await kubectlEditImage(w, oneB.metadata!.name!, 'web:1b-edited');
      if (editOne) await kubectlEditImage(w, one.metadata!.name!, 'web:1-edited');
      await w.advance(2 * 60);
      const editedB = rsNamed(w, oneB.metadata!.name!);
      expect(image(editedB.spec!.template)).toBe('web:1b-edited');
      expect(editedB.metadata!.uid).toBe(oneB.metadata!.uid);
      expect(editedB.spec!.replicas).toBe(0);
      expect(editedB.metadata!.annotations).toEqual(oneB.metadata!.annotations); // the mark still there, for the template before the edit
      const again = replicaSetsOf(w, 'web').find((rs) => image(rs.spec!.template) === 'web:1b' && rs.metadata!.uid !== oneB.metadata!.uid)!;
      expect(again.metadata!.annotations!['deployment.kubernetes.io/revision']).toBe('3');
      expect(again.metadata!.annotations!['amadeus.io/known-good']).toBeUndefined(); // not run for the window yet

      w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:3'));
      await w.advance(5 * 60);

      const d = w.get<V1Deployment>('apps/v1', 'Deployment', 'web');
      if (!editOne) {
        // Rolled back past the edited web:1b, to web:1's untouched template.
        expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
        expect(a.healer.reports[0]!.message).toBe(`rolled back from revision 4 to revision 1 (ReplicaSet ${one.metadata!.name})`);
        expect(image(d.spec!.template)).toBe('web:1');
        expect(w.patches('deployments/web').map((p) => p.status)).toEqual([200]);
        expect(JSON.stringify(w.patches('deployments/web')[0]!.body)).not.toContain('web:1b');
        expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['web:1 true', 'web:1 true']);
        expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Normal RolledBack']);
      } else {
        // No known-good template left: refused, and said why; the Deployment untouched.
        expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/no-known-good']);
        expect(a.healer.reports[0]!.message).toContain('none of the older revisions (3, 2 (template edited since marked), 1 (template edited since marked)) is a known-good target');
        expect(image(d.spec!.template)).toBe('web:3');
        expect(w.patches('deployments/web')).toEqual([]);
        expect(w.events().map((e) => `${e.involvedObject.name} ${e.type} ${e.reason}`)).toEqual(['web Warning HealRefused']);
      }
      // Never a pod of an edited template; the edited ReplicaSets kept their template, made no pod,
      // and were not marked again (their marks still name the template observed).
      expect(w.pods().filter((p) => /edited/.test(p.spec!.containers[0]!.image!))).toEqual([]);
      for (const rs of [oneB, ...(editOne ? [one] : [])]) {
        const now = rsNamed(w, rs.metadata!.name!);
        expect(image(now.spec!.template)).toMatch(/-edited$/);
        expect(now.spec!.replicas).toBe(0);
        expect(now.metadata!.annotations).toEqual(rs.metadata!.annotations);
        expect(templateMark(templateHash(now.spec!.template))).not.toBe(now.metadata!.annotations!['amadeus.io/known-good-template']);
      }
      expect(replicaSetsOf(w, 'web').map((rs) => image(rs.spec!.template)).sort()).toEqual(editOne ? ['web:1-edited', 'web:1b', 'web:1b-edited', 'web:3'] : ['web:1', 'web:1b', 'web:1b-edited', 'web:3']);

      // An hour on. Without web:1: nothing more. With it: web:1b's new ReplicaSet (revision 3,
      // never edited), its pods left running beside the stalled rollout, earns its own mark for
      // its own template, and the crash loop is rolled back to it — still never to an edited one.
      await w.advance(60 * 60);
      expect(reportSummary(w)).toEqual(editOne ? ['Deployment/web rollback/refused/no-known-good', 'Deployment/web rollback/applied/rolled-back'] : ['Deployment/web rollback/applied/rolled-back']);
      if (editOne) {
        const three = rsNamed(w, again.metadata!.name!);
        expect(a.healer.reports[1]!.message).toBe(`rolled back from revision 4 to revision 3 (ReplicaSet ${again.metadata!.name})`);
        expect(three.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': again.metadata!.uid, 'amadeus.io/known-good-template': templateMark(templateHash(again.spec!.template)) });
        expect(image(w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template)).toBe('web:1b');
        expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['web:1b true', 'web:1b true']);
      }
      expect(w.patches('deployments/web')).toHaveLength(1);
      expect(w.pods().filter((p) => /edited/.test(p.spec!.containers[0]!.image!))).toEqual([]);
      for (const rs of [oneB, ...(editOne ? [one] : [])]) expect(rsNamed(w, rs.metadata!.name!).metadata!.annotations).toEqual(rs.metadata!.annotations);
      expect(w.reports().filter((r) => r.result === 'failed')).toEqual([]);
    },
  );
});

describe('a running ReplicaSet edited in place (its Deployment paused): marked for the new template only on pods made from it', () => {
  test('kubectl rollout pause, kubectl edit rs: the pods from before run on healthy and the mark is left as it was; once every pod was made after the edit, the new template is marked', async () => {
    w = await healerWorld();
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
    await w.start();
    await w.advance(11 * 60);
    const rs = replicaSetRunning(w, 'web', 'web:1')!;
    const name = rs.metadata!.name!;
    const marks = rs.metadata!.annotations!;
    expect(marks['amadeus.io/known-good-template']).toBe(templateMark(templateHash(rs.spec!.template)));
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.paused = true));
    await w.advance(60);

    await kubectlEditImage(w, name, 'web:1-edited');
    const edited = templateMark(templateHash(rsNamed(w, name).spec!.template));
    expect(edited).not.toBe(marks['amadeus.io/known-good-template']);
    // Half an hour of the pods from before, healthy: nothing said of the edited template.
    await w.advance(30 * 60);
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['web:1 true', 'web:1 true']);
    expect(rsNamed(w, name).metadata!.annotations).toEqual(marks);
    // One pod replaced from the edited template: still one from before.
    const [first, second] = w.pods({ app: 'web' });
    w.kube.remove('v1', 'Pod', NS, first!.metadata!.name!);
    await w.advance(15 * 60);
    expect(w.pods({ app: 'web' }).map((p) => p.spec!.containers[0]!.image).sort()).toEqual(['web:1', 'web:1-edited']);
    expect(rsNamed(w, name).metadata!.annotations).toEqual(marks);
    // The other too: every pod now runs the edited template, the first for more than the window.
    w.kube.remove('v1', 'Pod', NS, second!.metadata!.name!);
    await w.advance(3 * 60);
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['web:1-edited true', 'web:1-edited true']);
    const now = rsNamed(w, name).metadata!.annotations!;
    expect(now).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-for': rs.metadata!.uid, 'amadeus.io/known-good-template': edited });
    expect(Date.parse(now['amadeus.io/known-good-at']!)).toBeGreaterThan(Date.parse(marks['amadeus.io/known-good-at']!));
    expect(w.reports()).toEqual([]);
  });
});

describe('a running ReplicaSet edited in place before its first mark (its Deployment paused)', () => {
  test('kubectl rollout pause, kubectl edit rs three minutes in: the pods from before prove nothing of the edited template — no mark for it; resumed, web:2 crash-looping is never rolled back to the edited template', async () => {
    w = await healerWorld();
    w.cluster.behave('web:2', { run: 'crash', log: 'panic: nil map\n' });
    w.cluster.behave('web:1-edited', { run: 'crash', log: 'panic: edited\n' });
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
    const a = await w.start();
    await w.advance(2 * 60);
    const rs = replicaSetRunning(w, 'web', 'web:1')!;
    const name = rs.metadata!.name!;
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.paused = true));
    await w.advance(60);
    expect(rsNamed(w, name).metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();
    await kubectlEditImage(w, name, 'web:1-edited');
    // Half an hour of the pods from before the edit, healthy: they ran web:1, not the edited template.
    await w.advance(30 * 60);
    expect(w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`)).toEqual(['web:1 true', 'web:1 true']);
    expect(rsNamed(w, name).metadata!.annotations!['amadeus.io/known-good']).toBeUndefined();

    // Resumed: the controller makes a new ReplicaSet for web:1 and scales the edited one down; web:2
    // is released before the new one earns a mark, and crash-loops.
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.paused = false));
    await w.advance(2 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));
    await w.advance(5 * 60);
    expect(a.healer.reports.map((r) => `${r.action}/${r.result}/${r.reason}`)).toEqual(['rollback/refused/no-known-good']);
    expect(w.pods().filter((p) => /edited/.test(p.spec!.containers[0]!.image!))).toEqual([]);
    expect(w.patches('deployments/web')).toEqual([]);
  });
});

describe('a running ReplicaSet edited in place and the edit undone, before its first mark (its Deployment paused)', () => {
  test('kubectl edit rs, its pods deleted to pick the edit up, then the edit undone on the ReplicaSet alone: its pods run the edit, not the template it is back to — no mark for that template', async () => {
    w = await healerWorld();
    w.cluster.behave('web:1-edited', 'healthy');
    w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL }));
    await w.start();
    await w.advance(2 * 60);
    const name = replicaSetRunning(w, 'web', 'web:1')!.metadata!.name!;
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.paused = true));
    await w.advance(60);
    await kubectlEditImage(w, name, 'web:1-edited');
    await w.advance(60);
    // The pods are deleted to pick the edit up: the ReplicaSet makes them again, from the edited template.
    for (const p of w.pods({ app: 'web' })) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
    await w.advance(60);
    const running = () => w.pods({ app: 'web' }).map((p) => `${p.spec!.containers[0]!.image} ${ready(p)}`);
    expect(running()).toEqual(['web:1-edited true', 'web:1-edited true']);
    // The edit is undone on the ReplicaSet; its pods stay as they are, running the edit.
    await kubectlEditImage(w, name, 'web:1');
    await w.advance(30 * 60);
    expect(image(rsNamed(w, name).spec!.template)).toBe('web:1');
    expect(running()).toEqual(['web:1-edited true', 'web:1-edited true']);
    // Half an hour of pods running web:1-edited proves nothing of web:1: it was marked for it before.
    expect(rsNamed(w, name).metadata!.annotations?.['amadeus.io/known-good']).toBeUndefined();

    // Pods made from web:1 again earn it the mark, a whole window after the undo was seen.
    for (const p of w.pods({ app: 'web' })) w.kube.remove('v1', 'Pod', NS, p.metadata!.name!);
    await w.advance(15 * 60);
    expect(running()).toEqual(['web:1 true', 'web:1 true']);
    const rs = rsNamed(w, name);
    expect(rs.metadata!.annotations).toMatchObject({ 'amadeus.io/known-good': 'true', 'amadeus.io/known-good-template': templateMark(templateHash(rs.spec!.template)) });
  });
});

test('what the leader remembers of each ReplicaSet\'s first-seen template goes with the ReplicaSet (deleted past revisionHistoryLimit): only the live ones are held', async () => {
  w = await healerWorld();
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 2, annotations: HEAL, revisionHistoryLimit: 1 }));
  const a = await w.start();
  for (const n of [2, 3, 4, 5, 6]) {
    await w.advance(2 * 60);
    w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = `web:${n}`));
  }
  await w.advance(3 * 60);
  const live = replicaSetsOf(w, 'web').map((rs) => rs.metadata!.uid!);
  expect(live).toHaveLength(2); // web:6 and the one kept before it
  // It held all six before: every ReplicaSet ever seen, until TEMPLATES_KEPT, then the oldest first.
  const held = [...(a.healer as unknown as { templatesFirstSeen: Map<string, unknown> }).templatesFirstSeen.keys()];
  expect(held.sort()).toEqual(live.sort());
});
