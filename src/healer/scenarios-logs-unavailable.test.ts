/**
 * The crashed container's previous logs are what refuses a rollback when they blame a dependency
 * (a database down is not fixed by rolling back a healthy release). A log read that fails is not
 * "no logs": only the answers that mean there are none (400: no previous container; 404: the pod
 * is gone) are. A 5xx from the kubelet's log proxy, a reset connection or a deadline is tried once
 * more, then the rollback is refused (`logs-unavailable`) — doubt never takes a refusal away — and
 * decided again at the container's next restart, as every refusal is.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { deployment } from '../test-support/cluster/objects.js';
import { HEAL, healerWorld, type HealerWorld, NS, reportSummary } from '../test-support/healer-world.js';

let w: HealerWorld;
afterEach(async () => {
  await w?.close();
});

const OUTAGE = 'FATAL: dial tcp 10.0.3.7:5432: connect: connection refused\n';
const LOG = /\/pods\/web-[^/]+\/log$/;
const image = (w: HealerWorld) => w.get<V1Deployment>('apps/v1', 'Deployment', 'web').spec!.template.spec!.containers[0]!.image;
const logReads = (w: HealerWorld) => w.kube.requests.filter((q) => q.method === 'GET' && LOG.test(q.path)).map((q) => q.status);

/** web:1 healthy and marked known-good; then web:2, crash-looping with `log` in its previous logs. */
async function release(log: string) {
  w = await healerWorld();
  w.cluster.behave('web:2', { run: 'crash', log });
  w.kube.put(deployment('web', { namespace: NS, image: 'web:1', replicas: 3, annotations: HEAL }));
  const a = await w.start();
  await w.advance(11 * 60);
  return a;
}
const toWeb2 = () => w.edit<V1Deployment>('apps/v1', 'Deployment', 'web', (d) => void (d.spec!.template.spec!.containers[0]!.image = 'web:2'));

test('web:2 crash-loops on its database; one log read answered 500 → read again, the outage found: refused as a dependency outage, not rolled back', async () => {
  await release(OUTAGE);
  w.kube.failNext({ method: 'GET', path: LOG }, 500, 1);
  toWeb2();
  await w.advance(10 * 60);
  expect(logReads(w).slice(0, 2)).toEqual([500, 200]);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/dependency-outage']);
  expect(image(w)).toBe('web:2');
});

test('the same with the connection reset on a log read → read again: refused as a dependency outage', async () => {
  await release(OUTAGE);
  w.kube.loseAnswerNext({ method: 'GET', path: LOG }, 'reset', 1);
  toWeb2();
  await w.advance(10 * 60);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/dependency-outage']);
  expect(image(w)).toBe('web:2');
});

test('the log proxy down for both tries (503) → refused as logs-unavailable, said with the cause; nothing rolled back while the logs cannot be read', async () => {
  const a = await release(OUTAGE);
  w.kube.failNext({ method: 'GET', path: LOG }, 503, 1000);
  toWeb2();
  await w.advance(10 * 60);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/logs-unavailable']);
  expect(a.healer.reports[0]!.message).toMatch(/^no rollback: the crashed container's previous logs could not be read \(HTTP 503/);
  expect(a.healer.reports[0]!.logs).toBeNull();
  expect(image(w)).toBe('web:2');
  expect(w.kube.requests.some((q) => q.method === 'PATCH' && q.path.endsWith('/deployments/web'))).toBe(false);
});

test('a release crash-looping on its own (a panic), its logs unreadable once for both tries → refused; at the next restart they are read: rolled back then', async () => {
  const a = await release('starting web:2\npanic: nil map\n');
  w.kube.failNext({ method: 'GET', path: LOG }, 500, 2);
  toWeb2();
  await w.advance(10 * 60);
  expect(logReads(w).slice(0, 3)).toEqual([500, 500, 200]);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/refused/logs-unavailable', 'Deployment/web rollback/applied/rolled-back']);
  expect(a.healer.reports[1]!.message).toMatch(/^rolled back from revision 2 to revision 1/);
  expect(image(w)).toBe('web:1');
});

test('control: no previous logs at all (400 from the API server, as for a container never restarted) still counts as "no logs": rolled back', async () => {
  const a = await release('starting web:2\npanic: nil map\n');
  // As the API server relays the kubelet's answer for a container without a previous instance.
  w.kube.failNext({ method: 'GET', path: LOG }, 400, 1000);
  toWeb2();
  await w.advance(10 * 60);
  expect(logReads(w)[0]).toBe(400);
  expect(reportSummary(w)).toEqual(['Deployment/web rollback/applied/rolled-back']);
  expect(a.healer.reports[0]!.logs).toBeNull();
  expect(image(w)).toBe('web:1');
});
