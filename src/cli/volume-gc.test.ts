/** serve's hourly clean-up of the shared volume: only the replica that owns it, only after its first period. */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../test-support/fakes.js';
import { createLogger } from '../telemetry/logger.js';
import { sharedKey } from '../replicas/shared-dir.js';
import type { RoundLock } from '../replicas/round-lock.js';
import { startVolumeGc } from './volume-gc.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'amadeus-gc-serve-'));
  const old = (Date.now() - 40 * 86_400_000) / 1000;
  for (const name of ['state-gone-0000', sharedKey('weights', 'shop/web#rps'), sharedKey('weights', 'shop/gone#rps')]) {
    mkdirSync(join(root, name));
    writeFileSync(join(root, name, 'current'), '1');
    utimesSync(join(root, name, 'current'), old, old);
  }
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

test('the owner removes what no one reads after its first period; the weights of a workload it serves stay', async () => {
  const lines: string[] = [];
  const asked: string[][] = [];
  const roundLock = { collect: async (keys: Iterable<string>) => (asked.push([...keys]), ['amadeus-finetune-0123']) } as unknown as RoundLock;
  const stop = startVolumeGc({ weightsDir: root, owns: (k) => k === 'volume-gc', workloads: () => [{ key: 'shop/web#rps' }], roundLock, log: createLogger({ level: 'info', sink: (l) => lines.push(l) }) }, 150);
  try {
    await waitFor(() => readdirSync(root).length === 1 && asked.length > 0, 3000, 'the clean-up');
    expect(readdirSync(root)).toEqual([sharedKey('weights', 'shop/web#rps')]);
    expect(lines.join('\n')).toContain('removed from the shared volume what no replica reads any more');
    // The fine-tuning locks too, keeping those of the workloads served.
    expect(asked[0]).toEqual(['shop/web#rps']);
    await waitFor(() => lines.join('\n').includes('deleted the fine-tuning locks of workloads no longer served'), 3000, 'the locks said');
  } finally {
    stop();
  }
});

test('a replica that does not own the clean-up removes nothing', async () => {
  const stop = startVolumeGc({ weightsDir: root, owns: () => false, workloads: () => [], log: createLogger({ level: 'info', sink: () => {} }) }, 100);
  await new Promise((r) => setTimeout(r, 500));
  stop();
  expect(readdirSync(root)).toHaveLength(3);
});
