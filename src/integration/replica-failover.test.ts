/**
 * A replica killed (SIGKILL) in the middle of a fine-tuning round: two real `amadeus serve`
 * processes on the accelerated replay source (a virtual minute per second, a round per workload
 * every 10 virtual minutes), sharing one weights directory and the fake Kubernetes API server for
 * their Leases. The survivor owns the dead one's workloads within the Lease duration (plus its
 * renew period); the weights on disk are always complete, verified versions; and no workload is
 * ever trained by two replicas at once — the dead replica's lock holds the round back until it
 * expires (a 409 on the Lease for anyone racing it), then the survivor trains it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readPointer, readVersion, listVersions } from '../replicas/publish.js';
import { waitFor } from '../test-support/fakes.js';
import { metricOf, startReplicaSet, type Replica, type ReplicaSet } from '../test-support/replica-set.js';

const LEASE_SECONDS = 4;
const RENEW_SECONDS = 1;
const OBJECTS = ['web', 'cart', 'checkout', 'search', 'ads', 'email'];

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicaSet('amadeus-failover-');
});
afterAll(() => set?.close());

const startReplica = (name: string) =>
  set.start(name, [
    '--replica-lease-duration', String(LEASE_SECONDS),
    '--replica-renew', String(RENEW_SECONDS),
    '--fine-tune-lock-duration', '8',
    '--replay', // its triggers have no query
    '--replay-speed', '60',
    '--fine-tune-interval', '600',
    '--fine-tune-history', '360',
    '--refresh-log-level', 'debug',
  ]);
const metric = (r: Replica, name: string) => metricOf(r, name);

interface Round {
  replica: string;
  workload: string;
  start: number;
  end: number;
}

/** Fine-tuning rounds from a replica's log: start to end (or to `killedAt` when it never ended). */
function rounds(r: Replica, killedAt = Infinity): Round[] {
  const out: Round[] = [];
  const open = new Map<string, number>();
  for (const l of r.proc.logs) {
    const workload = l.workload as string;
    if (l.msg === 'fine-tuning round started') open.set(workload, Date.parse(l.time as string));
    if (l.msg === 'fine-tuning round' && open.has(workload)) {
      out.push({ replica: r.name, workload, start: open.get(workload)!, end: Date.parse(l.time as string) });
      open.delete(workload);
    }
  }
  for (const [workload, start] of open) out.push({ replica: r.name, workload, start, end: killedAt });
  return out;
}

/** Every published weights version on disk verifies, and every `current` points at one that does. */
async function checkWeightsOnDisk(root: string): Promise<number> {
  let versions = 0;
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => n.startsWith('weights-'));
  } catch {
    return 0;
  }
  for (const key of names) {
    const pointer = await readPointer(root, key);
    if (pointer !== null) expect(await readVersion(root, key, pointer)).not.toBeNull();
    for (const v of await listVersions(root, key)) {
      expect(await readVersion(root, key, v)).not.toBeNull();
      versions++;
    }
  }
  return versions;
}

test('SIGKILL mid-fine-tune: the survivor owns its workloads within the Lease duration, weights stay whole, no round runs twice at once', async () => {
  const [a, b] = [await startReplica('amadeus-0'), await startReplica('amadeus-1')];
  const ref = (name: string) => ({ name, namespace: 'shop', scalerMetadata: { targetValue: '20' } });
  for (const r of [a, b]) for (const o of OBJECTS) await r.client.getMetricSpec(ref(o));
  const twoMembers = (r: Replica) => r.proc.logs.some((l) => l.msg === 'replica set changed' && (l.members as string[]).length === 2);
  await waitFor(() => twoMembers(a) && twoMembers(b), 20_000, 'both replicas seeing each other');
  // Some workloads are each one's.
  for (const deadline = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 200))) {
    if ((await metric(a, 'amadeus_owned_workloads')) > 0 && (await metric(b, 'amadeus_owned_workloads')) > 0) break;
    if (Date.now() > deadline) throw new Error('timed out waiting for the workloads to be split between the replicas');
  }

  // Kill a the moment one of its rounds has started (rounds take about a second).
  const startedBefore = a.proc.logs.filter((l) => l.msg === 'fine-tuning round started').length;
  await waitFor(() => a.proc.logs.filter((l) => l.msg === 'fine-tuning round started').length > startedBefore, 60_000, 'a round on the replica to kill');
  a.proc.child.kill('SIGKILL');
  const killedAt = Date.now();
  await a.proc.exited;
  const inFlight = rounds(a, killedAt).filter((r) => r.end === killedAt);
  expect(inFlight.length).toBeGreaterThanOrEqual(1); // it died mid-round
  const victim = inFlight[0]!.workload;

  // The survivor drops it within the Lease duration (as it observes it) plus one renew period, and owns everything.
  await waitFor(() => b.proc.logs.some((l) => l.msg === 'replica set changed' && JSON.stringify(l.members) === '["amadeus-1"]' && Date.parse(l.time as string) >= killedAt), 15_000, 'the survivor alone');
  const alone = b.proc.logs.find((l) => l.msg === 'replica set changed' && JSON.stringify(l.members) === '["amadeus-1"]' && Date.parse(l.time as string) >= killedAt)!;
  expect(Date.parse(alone.time as string) - killedAt).toBeLessThanOrEqual((LEASE_SECONDS + 2 * RENEW_SECONDS) * 1000 + 1000);
  expect(await metric(b, 'amadeus_owned_workloads')).toBe(OBJECTS.length);

  // The survivor trains the victim's workload once the dead holder's lock has expired.
  await waitFor(() => rounds(b).some((r) => r.workload === victim && r.start > killedAt && r.end < Infinity), 90_000, `a round of ${victim} on the survivor`);

  // No workload was ever in two rounds at once, across both replicas.
  const all = [...rounds(a, killedAt), ...rounds(b)].sort((x, y) => x.start - y.start);
  for (const w of new Set(all.map((r) => r.workload))) {
    const of = all.filter((r) => r.workload === w);
    for (let i = 1; i < of.length; i++) {
      if (of[i]!.start < of[i - 1]!.end) throw new Error(`${w}: rounds overlap: ${JSON.stringify(of.slice(i - 1, i + 1))}`);
    }
  }
  // Whatever the kill interrupted, every version on the shared volume is whole (each checked
  // inside); there is one for every workload that had a round accepted and published.
  const published = new Set([a, b].flatMap((r) => r.proc.logs.filter((l) => l.msg === 'published fine-tuned weights').map((l) => l.workload)));
  expect(await checkWeightsOnDisk(join(set.dir, 'weights'))).toBeGreaterThanOrEqual(published.size);
}, 240_000);
