/**
 * `amadeus serve` with the healer: a real process given a kubeconfig that points at the fake API
 * server heals an OOM-killed pod and exports the action; `--heal on` without credentials refuses to
 * start; `auto` without credentials serves without healing; a Kubernetes API that never answers
 * neither holds scaling readiness nor a SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { createScalerClient } from '../scaler/client.js';
import { startFakeKube, type FakeKube } from '../test-support/fake-kube.js';
import { waitFor } from '../test-support/fakes.js';
import { healthClient } from '../test-support/health.js';
import { CLI, type CliProcess, killCli, runCli } from '../test-support/process.js';

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../healer/fixtures/${name}`, import.meta.url), 'utf8')) as T;
const BASE = ['serve', '--address', '127.0.0.1:0', '--metrics-address', '127.0.0.1:0', '--fine-tune', 'false', '--no-inference-worker'];

let dir: string;
let proc: CliProcess | undefined;
let kube: FakeKube | undefined;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'amadeus-serve-heal-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await killCli(proc);
  proc = undefined;
  await kube?.close();
  kube = undefined;
});

test('with a kubeconfig, the healer raises an OOM-killed container\'s memory, exports the action and tells Slack', async () => {
  const posts: URLSearchParams[] = [];
  const sink = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push(new URLSearchParams(body));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const slackApiUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/api/`;
  kube = await startFakeKube();
  kube.put({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  kube.put(fixture<V1Deployment>('web-deployment.json'));
  for (const rs of fixture<{ items: V1ReplicaSet[] }>('web-replicasets.json').items) kube.put({ apiVersion: 'apps/v1', kind: 'ReplicaSet', ...rs });
  const kubeconfig = join(dir, 'kubeconfig.json');
  writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());

  const token = 'xoxb-test-TOKEN-NEVER-LOGGED';
  proc = runCli([...BASE, '--kubeconfig', kubeconfig, '--heal-lease-namespace', 'amadeus', '--heal-identity', 'amadeus-0', '--slack-channel', '#ops', '--slack-api-url', slackApiUrl], {
    POD_NAME: 'ignored-when-identity-is-given',
    AMADEUS_SLACK_TOKEN: token,
  });
  const started = await proc.waitForLog((l) => l.msg === 'healer started', 15_000, 'the healer');
  expect(started).toMatchObject({ namespaces: 'all', dryRun: false, lease: 'amadeus/amadeus-healer', identity: 'amadeus-0' });
  await proc.waitForLog((l) => l.msg === 'healer lease acquired: this replica heals', 10_000, 'leadership');
  const oom = fixture<V1Pod>('oomkilled-pod.json');
  // Killed just now: the fixture's date (2024) is too old for the healer to act on.
  for (const s of oom.status!.containerStatuses!) if (s.lastState?.terminated?.reason === 'OOMKilled') s.lastState.terminated.finishedAt = new Date();
  kube.put({ apiVersion: 'v1', kind: 'Pod', ...oom });
  const line = await proc.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('heal oom-bump applied'), 10_000, 'the bump');
  expect(line).toMatchObject({ component: 'healer', workload: 'Deployment/web', namespace: 'shop' });
  const web = kube.get<V1Deployment>('apps/v1', 'Deployment', 'shop', 'web')!.spec!.template.spec!.containers.find((c) => c.name === 'web')!;
  expect(web.resources!.limits!.memory).toBe('356Mi');
  await proc.waitForLog((l) => l.msg === 'notification' && l.action === 'oom-bump', 5000, 'the notification');

  const metricsPort = (await proc.waitForLog((l) => l.msg === 'metrics listening')).port as number;
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(text).toMatch(/^amadeus_heal_actions_total\{action="oom-bump",result="applied"\} 1$/m);
  expect(text).toMatch(/^amadeus_healer_watch_up\{scope="\*"\} 1$/m);

  await waitFor(() => posts.length >= 1, 5000, 'the Slack message');
  expect(posts[0]!.get('channel')).toBe('#ops');
  expect(posts[0]!.get('text')).toContain('256Mi → 356Mi');
  expect(posts[0]!.get('text')).toContain('undo: kubectl -n shop set resources deployment/web -c web --limits=memory=256Mi');

  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);
  await new Promise((r) => sink.close(r));
  expect(JSON.stringify(proc.logs) + proc.stderr()).not.toContain('TOKEN-NEVER-LOGGED');
  // Stepping down released the Lease for the next replica.
  await waitFor(() => kube!.get<{ spec: { holderIdentity?: string } }>('coordination.k8s.io/v1', 'Lease', 'amadeus', 'amadeus-healer')?.spec.holderIdentity === undefined, 5000, 'the release');
}, 60_000);

// `npm start` (serve --demo) took the healer Lease on whatever cluster ~/.kube/config named,
// watched every pod and joined a replica set there.
test('--demo with a kubeconfig found touches no cluster unless --heal / --replicas are given', async () => {
  kube = await startFakeKube();
  const kubeconfig = join(dir, 'demo-kubeconfig.json');
  writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  proc = runCli([...BASE, '--demo'], { KUBECONFIG: kubeconfig });
  const ready = await proc.waitForLog((l) => l.msg === 'ready', 15_000, 'ready');
  expect(ready.healer).toBe('off');
  expect(proc.logs).toContainEqual(expect.objectContaining({ msg: '--demo touches no cluster: healing and replica Leases off (give --heal / --replicas to turn them on)', heal: 'off', replicas: 'off' }));
  expect(proc.logs).toContainEqual(expect.objectContaining({ msg: 'replicas: this one owns every workload', reason: '--replicas off' }));
  await proc.waitForLog((l) => l.msg === 'refresh' && l.scaledObject === 'default/amadeus-demo', 10_000, 'the demo refresh');
  expect(kube.requests).toEqual([]);
  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);

  // Asked for (here by its variable), the healer runs with the demo; the replica Leases stay off.
  proc = runCli([...BASE, '--demo', '--heal-lease-namespace', 'amadeus'], { KUBECONFIG: kubeconfig, AMADEUS_HEAL: 'auto' });
  await proc.waitForLog((l) => l.msg === 'healer started', 15_000, 'the healer');
  expect(proc.logs).toContainEqual(expect.objectContaining({ msg: '--demo touches no cluster: healing and replica Leases off (give --heal / --replicas to turn them on)', replicas: 'off' }));
  expect(proc.logs).toContainEqual(expect.objectContaining({ msg: 'replicas: this one owns every workload', reason: '--replicas off' }));
  expect(kube.requests.some((r) => r.path.endsWith('/leases/amadeus-healer'))).toBe(true);
}, 60_000);

test('Slack with a channel but no token refuses to start', async () => {
  proc = runCli([...BASE, '--heal', 'off', '--slack-channel', '#ops']);
  expect(await proc.exited).toBe(2);
  expect(proc.stderr()).toContain('Slack needs both a token');
}, 30_000);

test('a Slack token file that is not a small regular file (a FIFO nobody writes to) refuses to start at once, saying why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slack-token-'));
  try {
    const fifo = join(dir, 'token');
    execFileSync('mkfifo', [fifo]);
    proc = runCli([...BASE, '--heal', 'off', '--slack-channel', '#ops', '--slack-token-file', fifo]);
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toContain(`--slack-token-file: cannot read ${fifo}: not a regular file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

test('a kubeconfig that is not a small regular file is refused with its reason, not read whole', async () => {
  proc = runCli([...BASE, '--heal', 'on', '--kubeconfig', '/dev/zero']);
  expect(await proc.exited).not.toBe(0);
  expect(proc.stderr()).toContain('kubeconfig /dev/zero: cannot read: not a regular file');
}, 30_000);

test('--heal on without credentials refuses to start, naming what is missing', async () => {
  proc = runCli([...BASE, '--heal', 'on']);
  expect(await proc.exited).toBe(2);
  expect(proc.stderr()).toContain('--heal on: no Kubernetes credentials');
}, 30_000);

test('--heal auto without credentials serves without a healer', async () => {
  proc = runCli(BASE);
  await proc.waitForLog((l) => l.msg === 'healer off: no Kubernetes credentials found (in-cluster service account, KUBECONFIG, ~/.kube/config)', 15_000, 'the healer skip');
  await proc.waitForLog((l) => l.msg === 'ready', 15_000, 'ready');
}, 30_000);

/** A Kubernetes API that accepts connections and requests and never answers, and a kubeconfig for it. */
async function silentKubeApi(): Promise<{ kubeconfig: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer(() => void requests++); // never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(dir, 'silent-kubeconfig.json');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'silent', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'silent-token' } }],
      contexts: [{ name: 'c', context: { cluster: 'silent', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  return {
    kubeconfig,
    requests: () => requests,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe('a Kubernetes API that never answers', () => {
  let api: Awaited<ReturnType<typeof silentKubeApi>> | undefined;
  afterEach(async () => {
    await api?.close(); // (the process is killed by the afterEach above, which runs after this one)
    api = undefined;
  });

  test('--heal on: the scaler is ready within seconds and answers GetMetrics; the healer waits apart; SIGTERM exits 0', async () => {
    api = await silentKubeApi();
    proc = runCli([...BASE, '--heal', 'on', '--kubeconfig', api.kubeconfig, '--shutdown-timeout', '2', '--replay']);
    const port = (await proc.waitForLog((l) => l.msg === 'gRPC server listening', 15_000, 'listening')).port as number;
    const ready = await proc.waitForLog((l) => l.msg === 'ready', 10_000, 'ready, with the Kubernetes API silent');
    expect(ready.healer).toBe('starting in the background');
    await waitFor(() => api!.requests() > 0, 5000, 'the healer asking the API');
    const address = `127.0.0.1:${port}`;

    const health = healthClient(address);
    expect(await health.check('')).toBe('SERVING');
    expect(await health.check('externalscaler.ExternalScaler')).toBe('SERVING');
    health.close();
    const metricsPort = (await proc.waitForLog((l) => l.msg === 'metrics listening')).port as number;
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);
    // The healer's own readiness, apart: not started.
    expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toMatch(/^amadeus_healer_ready 0$/m);

    const client = createScalerClient(address);
    const ref = { name: 'web', namespace: 'shop', scalerMetadata: { targetValue: '10' } };
    const spec = await client.getMetricSpec(ref);
    let value: number | undefined;
    const deadline = Date.now() + 10_000;
    while (value === undefined) {
      try {
        value = (await client.getMetrics(ref, spec.metricSpecs[0]!.metricName)).metricValues[0]!.metricValueFloat;
      } catch (err) {
        if (Date.now() > deadline) throw err; // UNAVAILABLE until the first refresh has data
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(value).toBeGreaterThan(0);
    client.close();
    expect(proc.logs.some((l) => l.msg === 'healer started')).toBe(false);

    const started = Date.now();
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000); // the healer's stop is bounded by --shutdown-timeout
    expect(proc.logs.at(-1)).toMatchObject({ msg: 'stopped' });
  }, 60_000);

  test('a SIGTERM during start-up stops it: exit code 0, not killed by the signal', async () => {
    api = await silentKubeApi();
    proc = runCli([...BASE, '--heal', 'on', '--kubeconfig', api.kubeconfig, '--shutdown-timeout', '2']);
    // The first line is logged from inside start-up (the model loads first); the healer's client
    // takes most of a second to load after it, so the signal comes before "ready".
    await proc.waitForLog(() => true, 15_000, 'the first log line');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.child.signalCode).toBeNull();
    expect(proc.logs).toContainEqual(expect.objectContaining({ msg: 'shutting down', signal: 'SIGTERM', during: 'start-up' }));
    expect(proc.logs.some((l) => l.msg === 'ready')).toBe(false);
    expect(proc.logs.at(-1)).toMatchObject({ msg: 'stopped' });
  }, 60_000);
});

describe('a signal while the command starts', () => {
  const procs: CliProcess[] = [];
  // A test that times out never reaches its own clean-up.
  afterEach(() => {
    for (const p of procs.splice(0)) p.child.kill('SIGKILL');
  });

  // Node starts and main.ts installs its listener in about a tenth of a second; serve's modules (tfjs,
  // the Kubernetes client) then take more than a second to load and evaluate, then start-up runs.
  // A signal at any of these moments — even one that arrives while modules are being evaluated and
  // can only be delivered after — stops it with 0, never by the signal, never ignored.
  // Before main.ts's listener exists the default action kills any Node process; on a machine busy
  // enough that Node itself boots slowly, the earliest moment moves back to twice the time a command
  // that loads only main.ts (--help) takes from spawn to exit, measured here and now.
  let bootMs = 0;
  beforeAll(() => {
    const t0 = performance.now();
    execFileSync(process.execPath, [CLI, '--help'], { stdio: 'ignore' });
    bootMs = performance.now() - t0;
  });

  test.each([300, 600, 900, 1200, 1800])('SIGTERM %i ms after spawning: exit 0, not killed by the signal', async (delayMs) => {
    const proc = runCli([...BASE, '--shutdown-timeout', '2']);
    procs.push(proc);
    await new Promise((r) => setTimeout(r, Math.max(delayMs, 2 * bootMs)));
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.child.signalCode).toBeNull();
    expect(proc.stderr() + JSON.stringify(proc.logs)).toMatch(/stopped before start-up|shutting down/);
  }, 30_000);
});
