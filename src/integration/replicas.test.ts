/**
 * Several replicas, one answer (issue 21): three real `amadeus serve` processes on loopback against
 * one real Prometheus (backfilled history and live samples scraped every second) and the fake
 * Kubernetes API server for their Leases; the third starts later, as in a rolling restart. A client
 * polls the way KEDA's external-scaler client does with gRPC round_robin: GetMetricSpec, IsActive,
 * GetMetrics, each call on the next replica. Every value served for one object's minute must be the
 * same on every replica.
 *
 * Which minute an answer belongs to: each replica logs a `refresh` line (its `at`, the minute in
 * progress) once the plan is in place. An answer whose poll went out after that replica's line for
 * minute A was read, and which came back before any later line for the object, is minute A's.
 */
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import type { ScaledObjectRef } from '../scaler/contract.js';
import { floorMinute, MINUTE_MS } from '../series/minute.js';
import { metricOf, startReplicaSet, type Replica, type ReplicaSet } from '../test-support/replica-set.js';
import { openMetricsGauge, startPrometheus, type TestPrometheus } from '../test-support/prometheus.js';

const QUERY = 'max(app_requests_per_second{app="web"})';
const OBJECTS = ['web', 'cart'];
const ref = (name: string): ScaledObjectRef => ({ name, namespace: 'shop', scalerMetadata: { targetValue: '20', query: QUERY } });

/** Load at epoch ms `t`: a daily-ish wave, a faster one, and a deterministic wobble. */
const loadAt = (t: number) => {
  const m = t / MINUTE_MS;
  return Math.round((120 + 40 * Math.sin(m / 180) + 15 * Math.sin(m / 7) + 5 * Math.sin(m * 1.7)) * 100) / 100;
};

let set: ReplicaSet;
let prom: TestPrometheus;
let exporter: Server;
let replicas: Replica[];

beforeAll(async () => {
  set = await startReplicaSet('amadeus-replicas-');
  replicas = set.replicas;
  // Live samples: the exporter answers the current load; Prometheus scrapes it every second.
  exporter = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# TYPE app_requests_per_second gauge\napp_requests_per_second{app="web",src="live"} ${loadAt(Date.now())}\n`);
  });
  await new Promise<void>((r) => exporter.listen(0, '127.0.0.1', r));
  // Two days of per-minute history up to 2 minutes ago (the LSTM's day features and the sync's replay window).
  const end = floorMinute(Date.now()) - 2 * MINUTE_MS;
  const points = Array.from({ length: 2 * 1440 }, (_, i) => end - (2 * 1440 - 1 - i) * MINUTE_MS).map((t) => ({ t, v: loadAt(t) }));
  prom = await startPrometheus({
    openMetrics: openMetricsGauge('app_requests_per_second', { app: 'web', src: 'backfill' }, points),
    scrapeTargets: [`127.0.0.1:${(exporter.address() as AddressInfo).port}`],
    scrapeIntervalSeconds: 1,
    lookbackDelta: '30s',
  });
}, 120_000);

afterAll(async () => {
  await set?.close();
  await prom?.close();
  await new Promise((r) => exporter?.close(r));
});

const startReplica = (name: string) =>
  set.start(name, ['--prometheus-url', prom.url, '--replica-lease-duration', '6', '--replica-renew', '2', '--state-sync-interval', '60', '--fine-tune', 'false', '--no-inference-worker']);

/** The latest refresh minute a replica has logged for an object (epoch ms), or null. */
function latestRefresh(r: Replica, object: string): number | null {
  for (let i = r.proc.logs.length - 1; i >= 0; i--) {
    const l = r.proc.logs[i]!;
    if (l.msg === 'refresh' && l.scaledObject === `shop/${object}`) return Date.parse(l.at as string);
  }
  return null;
}

const metric = metricOf;

test('three replicas, the third started later, answer the same value for the same object in every minute', async () => {
  await startReplica('amadeus-0');
  await startReplica('amadeus-1');
  /** object → minute → values seen (with the replica that served each). */
  const answers = new Map<string, Map<number, { replica: string; value: number }[]>>();
  let next = 0;
  /** One KEDA poll of `object`: three calls, each on the next replica (round_robin). */
  const poll = async (object: string) => {
    for (const call of ['spec', 'active', 'metrics'] as const) {
      const r = replicas[next++ % replicas.length]!;
      const before = latestRefresh(r, object);
      if (call === 'spec') await r.client.getMetricSpec(ref(object));
      else if (call === 'active') await r.client.isActive(ref(object)).catch(() => undefined); // UNAVAILABLE before the first refresh
      else {
        const got = await r.client.getMetrics(ref(object), '').catch(() => null);
        const after = latestRefresh(r, object);
        if (!got || before === null || before !== after) continue; // not attributable to one minute
        const byMinute = answers.get(object) ?? new Map();
        answers.set(object, byMinute);
        byMinute.set(before, [...(byMinute.get(before) ?? []), { replica: r.name, value: got.metricValues[0]!.metricValueFloat }]);
      }
    }
  };
  const pollFor = async (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      for (const o of OBJECTS) await poll(o);
      next++; // KEDA's calls for other objects and the timing of its polls shift the rotation

      await new Promise((r) => setTimeout(r, 300));
    }
  };

  await pollFor(40_000);
  const late = await startReplica('amadeus-2');
  // Until the late one has refreshed in two minutes after the one it joined in (two state snapshots).
  const joinedAt = Date.now();
  await pollFor(10_000);
  const lateEnough = () => OBJECTS.every((o) => (latestRefresh(late, o) ?? 0) >= floorMinute(joinedAt) + 2 * MINUTE_MS);
  while (!lateEnough()) {
    if (Date.now() - joinedAt > 300_000) throw new Error('the late replica did not refresh for two more minutes');
    await pollFor(2_000);
  }
  await pollFor(10_000);

  // Every minute: one value, whichever replica served it.
  const lateMinutes = new Set<number>();
  let compared = 0;
  for (const [object, byMinute] of answers) {
    for (const [minute, seen] of byMinute) {
      const values = new Set(seen.map((s) => s.value));
      if (values.size !== 1) throw new Error(`shop/${object} at ${new Date(minute).toISOString()}: ${JSON.stringify(seen)}`);
      const served = new Set(seen.map((s) => s.replica));
      if (served.size > 1) compared++;
      if (served.has('amadeus-2') && served.size > 1) lateMinutes.add(minute);
    }
  }
  const summary = [...answers].map(([o, m]) => `${o}: ${[...m].map(([t, seen]) => `${new Date(t).toISOString().slice(11, 16)} ${seen.length}×${new Set(seen.map((x) => x.replica)).size}`).join(', ')}`);
  expect({ compared, summary }).toMatchObject({ compared: expect.any(Number) });
  if (compared < 5) throw new Error(`too few minutes answered by several replicas: ${summary.join(' | ')}`);
  expect(lateMinutes.size).toBeGreaterThanOrEqual(2); // the late replica's answers were compared too

  // Each workload owned by exactly one live replica; every replica sees all three.
  for (const r of replicas) expect(await metric(r, 'amadeus_replica_members')).toBe(3);
  let owned = 0;
  for (const r of replicas) owned += await metric(r, 'amadeus_owned_workloads');
  expect(owned).toBe(OBJECTS.length);
  // Followers compared snapshots and found their own state equal; the late one adopted at most once per object.
  let matched = 0;
  for (const r of replicas) {
    matched += await metric(r, 'amadeus_state_snapshots_total', '{action="matched"}');
    expect(await metric(r, 'amadeus_state_snapshots_total', '{action="adopted"}')).toBeLessThanOrEqual(OBJECTS.length);
  }
  expect(matched).toBeGreaterThanOrEqual(4);
}, 420_000);
