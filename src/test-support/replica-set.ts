/**
 * Real `amadeus serve` processes as a replica set for integration tests: one fake Kubernetes API
 * server for their Leases, one shared weights directory, each process reachable over gRPC and
 * /metrics. `close()` kills them all (SIGKILL: a test that wants a graceful stop sends SIGTERM).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScalerClient, type ScalerClient } from '../scaler/client.js';
import { startFakeKube, type FakeKube } from './fake-kube.js';
import { runCli, type CliProcess } from './process.js';

export interface Replica {
  name: string;
  proc: CliProcess;
  client: ScalerClient;
  metricsPort: number;
}

export interface ReplicaSet {
  /** The temp directory; `weights/` under it is every replica's --weights-dir. */
  dir: string;
  kube: FakeKube;
  replicas: Replica[];
  /** Starts `serve` as replica `name` (its --heal-identity) with `args` added; resolves once ready. */
  start(name: string, args: string[]): Promise<Replica>;
  close(): Promise<void>;
}

export async function startReplicaSet(prefix: string): Promise<ReplicaSet> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const kube = await startFakeKube();
  const kubeconfig = join(dir, 'kubeconfig.json');
  writeFileSync(kubeconfig, kube.kubeConfig().exportConfig());
  const replicas: Replica[] = [];
  return {
    dir,
    kube,
    replicas,
    async start(name, args) {
      const proc = runCli([
        'serve',
        '--address', '127.0.0.1:0',
        '--metrics-address', '127.0.0.1:0',
        '--kubeconfig', kubeconfig,
        '--heal', 'off',
        '--replicas', 'on',
        '--replica-namespace', 'amadeus',
        '--heal-identity', name,
        '--weights-dir', join(dir, 'weights'),
        ...args,
      ]);
      const port = (await proc.waitForLog((l) => l.msg === 'gRPC server listening', 30_000, `${name} listening`)).port as number;
      const metricsPort = (await proc.waitForLog((l) => l.msg === 'metrics listening', 10_000, `${name} metrics`)).port as number;
      await proc.waitForLog((l) => l.msg === 'ready', 30_000, `${name} ready`);
      const r = { name, proc, client: createScalerClient(`127.0.0.1:${port}`), metricsPort };
      replicas.push(r);
      return r;
    },
    async close() {
      for (const r of replicas) {
        r.client.close();
        r.proc.child.kill('SIGKILL');
      }
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One sample of a replica's /metrics (`labels` as written, e.g. `{action="matched"}`); NaN when absent. */
export async function metricOf(r: Replica, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}
