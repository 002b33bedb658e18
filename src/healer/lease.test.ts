/** Leader election against the fake API server: one holder, renewal, takeover only after expiry, release. */
import { createServer, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { silentLogger } from '../telemetry/logger.js';
import { makeClients } from './kube.js';
import { LeaderElector } from './lease.js';

let kube: FakeKube;
let now = Date.UTC(2026, 10, 29, 3, 0);
beforeEach(async () => {
  kube = await startFakeKube();
  now = Date.UTC(2026, 10, 29, 3, 0);
});
afterEach(() => kube.close());

const elector = (identity: string, skewMs = 0) =>
  new LeaderElector({ api: makeClients(kube.kubeConfig()).coordination, namespace: 'amadeus', name: 'healer', identity, leaseDurationSeconds: 15, retryPeriodSeconds: 5, log: silentLogger, clock: () => now + skewMs });
const lease = () => kube.get<V1Lease>('coordination.k8s.io/v1', 'Lease', 'amadeus', 'healer')!;

test('the first creates and holds the Lease; the second follows until it expires, then takes over', async () => {
  const a = elector('a');
  const b = elector('b');
  expect(await a.tryOnce()).toBe(true);
  expect(await b.tryOnce()).toBe(false);
  expect(lease().spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
  now += 10_000;
  expect(await a.tryOnce()).toBe(true); // renewal
  now += 10_000;
  expect(await b.tryOnce()).toBe(false); // renewed 10 s ago: still a's
  now += 16_000; // a stopped renewing
  expect(a.isLeader).toBe(false); // its own last renewal is too old to act on
  expect(await b.tryOnce()).toBe(true);
  expect(lease().spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  expect(await a.tryOnce()).toBe(false);
});

test('two candidates racing for an expired Lease: the API server lets one win', async () => {
  const a = elector('a');
  await a.tryOnce();
  const [b, c] = [elector('b'), elector('c')];
  await Promise.all([b.tryOnce(), c.tryOnce()]); // each first sees the record…
  now += 60_000; // …and it does not change for longer than the Lease
  const results = await Promise.all([b.tryOnce(), c.tryOnce()]);
  expect(results.filter(Boolean)).toHaveLength(1);
  expect(lease().spec!.holderIdentity).toBe(results[0] ? 'b' : 'c');
});

test('stop releases the Lease so another replica takes over at once', async () => {
  const a = elector('a');
  a.start();
  await new Promise((r) => setTimeout(r, 200));
  expect(a.isLeader).toBe(true);
  await a.stop();
  expect(lease().spec!.holderIdentity).toBeUndefined();
  expect(await elector('b').tryOnce()).toBe(true);
});

test('an API failure means not leading, until a round succeeds again', async () => {
  const a = elector('a');
  await a.tryOnce();
  kube.failNext({ method: 'GET', path: /leases\/healer$/ }, 500);
  expect(await a.tryOnce()).toBe(false);
  expect(a.isLeader).toBe(false);
  expect(await a.tryOnce()).toBe(true);
});

test('onChange: told each change of leading, and told it leads again when a renewal comes after its last one grew too old to act on', async () => {
  const told: boolean[] = [];
  const a = new LeaderElector({ api: makeClients(kube.kubeConfig()).coordination, namespace: 'amadeus', name: 'healer', identity: 'a', leaseDurationSeconds: 15, retryPeriodSeconds: 5, log: silentLogger, clock: () => now, onChange: (l) => void told.push(l) });
  await a.tryOnce();
  now += 5_000;
  await a.tryOnce(); // a renewal in time: nothing to tell
  expect(told).toEqual([true]);
  kube.failNext({ method: 'GET', path: /leases\/healer$/ }, 500);
  await a.tryOnce();
  await a.tryOnce(); // a failed round, then back
  expect(told).toEqual([true, false, true]);
  now += 16_000; // rounds too slow: the last renewal is older than the Lease
  expect(a.isLeader).toBe(false);
  expect(await a.tryOnce()).toBe(true);
  expect(a.isLeader).toBe(true);
  expect(told).toEqual([true, false, true, true]);
});

// Issue 19 (smaller): expiry by the time this replica observed the record last change, as
// client-go does, never by comparing the holder's renewTime with the local clock.
describe('expiry by observed time', () => {
  test('a candidate whose clock runs an hour ahead does not take a Lease its holder keeps renewing', async () => {
    const a = elector('a');
    const b = elector('b', 3_600_000);
    expect(await a.tryOnce()).toBe(true);
    for (let i = 0; i < 4; i++) {
      expect(await b.tryOnce()).toBe(false);
      now += 5_000;
      expect(await a.tryOnce()).toBe(true);
    }
    expect(lease().spec!.holderIdentity).toBe('a');
  });

  test('a candidate whose clock runs behind takes over once the record has not changed for the Lease duration, by its own clock', async () => {
    const a = elector('a');
    const b = elector('b', -3_600_000); // the holder's renewTime looks an hour in b's future
    expect(await a.tryOnce()).toBe(true);
    expect(await b.tryOnce()).toBe(false); // first sight: the clock starts now
    now += 14_000;
    expect(await b.tryOnce()).toBe(false);
    now += 2_000; // 16 s without a change
    expect(await b.tryOnce()).toBe(true);
    expect(lease().spec!.holderIdentity).toBe('b');
  });

  test('a fresh candidate does not take over at once a Lease whose renewTime is old: it waits a Lease duration', async () => {
    const a = elector('a', -600_000); // renewTime 10 minutes in the past for everyone else
    expect(await a.tryOnce()).toBe(true);
    const b = elector('b');
    expect(await b.tryOnce()).toBe(false);
    now += 16_000;
    expect(await b.tryOnce()).toBe(true);
  });
});

// A silent API server (accepting, never answering) must fail a round by its deadline, not hold it:
// the loop carries on, and leads again once the server answers.
describe('a wall clock stepped (NTP, a VM resumed): durations are measured on the elapsed clock', () => {
  /** A replica whose wall clock is `now + wallStep` while its elapsed clock runs with `now`. */
  const stepped = (identity: string, wallStep: () => number) =>
    new LeaderElector({ api: makeClients(kube.kubeConfig()).coordination, namespace: 'amadeus', name: 'healer', identity, leaseDurationSeconds: 15, retryPeriodSeconds: 5, log: silentLogger, clock: () => now + wallStep(), elapsed: () => now });

  test('a follower whose wall clock jumps an hour ahead does not take the Lease its holder keeps renewing', async () => {
    let step = 0;
    const a = elector('a');
    const b = stepped('b', () => step);
    expect(await a.tryOnce()).toBe(true);
    expect(await b.tryOnce()).toBe(false);
    step = 3_600_000;
    now += 5_000; // b looks again before a's next renewal: the record unchanged for 5 s, not an hour
    expect(await b.tryOnce()).toBe(false);
    expect(await a.tryOnce()).toBe(true);
    expect(lease().spec!.holderIdentity).toBe('a');
  });

  test('a leader whose wall clock jumps an hour back stops acting a Lease duration after its last renewal, as the others expect', async () => {
    let step = 0;
    const a = stepped('a', () => step);
    expect(await a.tryOnce()).toBe(true);
    step = -3_600_000;
    now += 16_000; // no renewal since: another replica may take over now
    expect(a.isLeader).toBe(false);
    // The times it writes stay on the wall clock, stepped or not.
    expect(await a.tryOnce()).toBe(true);
    expect(new Date(lease().spec!.renewTime as unknown as string).getTime()).toBe(now - 3_600_000);
  });
});

describe('a silent API server', () => {
  /** A loopback proxy in front of the fake API server that can stop answering (it holds requests instead). */
  async function gate(target: string) {
    const held: ServerResponse[] = [];
    let received = 0;
    const state = { silent: false };
    const server = createServer((req, res) => {
      received++;
      if (state.silent) return void held.push(res);
      const upstream = request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'gate', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: kube.token }],
      contexts: [{ name: 'gate', cluster: 'gate', user: 'u' }],
      currentContext: 'gate',
    });
    return {
      kc,
      state,
      received: () => received,
      close: () => {
        server.closeAllConnections();
        return new Promise<void>((r) => server.close(() => r()));
      },
    };
  }

  test('a renewal fails within its deadline, the loop carries on, and it leads again once the server answers', async () => {
    const g = await gate(kube.url);
    try {
      // The request deadline (1 s) is the client-wide one; the Lease's own (100 ms) is shorter.
      const a = new LeaderElector({
        api: makeClients(g.kc, { requestDeadlineMs: 1000 }).coordination,
        namespace: 'amadeus',
        name: 'healer',
        identity: 'a',
        leaseDurationSeconds: 15,
        retryPeriodSeconds: 0.05,
        requestTimeoutMs: 100,
        log: silentLogger,
        clock: () => now,
      });
      expect(await a.tryOnce()).toBe(true);
      g.state.silent = true;
      const t0 = Date.now();
      expect(await a.tryOnce()).toBe(false); // the renewal's read never answers
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(a.isLeader).toBe(false);
      a.start();
      const before = g.received();
      await until(() => g.received() >= before + 3, 5000); // round after round, each bounded
      g.state.silent = false;
      await until(() => a.isLeader, 5000);
      await a.stop();
      expect(lease().spec!.holderIdentity).toBeUndefined(); // released
    } finally {
      await g.close();
    }
  });

  test('without a Lease deadline of its own, the client-wide request deadline still ends the round', async () => {
    const g = await gate(kube.url);
    try {
      const a = new LeaderElector({ api: makeClients(g.kc, { requestDeadlineMs: 150 }).coordination, namespace: 'amadeus', name: 'healer', identity: 'a', log: silentLogger, clock: () => now });
      g.state.silent = true;
      const t0 = Date.now();
      expect(await a.tryOnce()).toBe(false);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await g.close();
    }
  });
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
