import { createLogger } from '../telemetry/logger.js';
import { fanOut, logNotifier, type Notification, type Notifier } from './notifier.js';

const n: Notification = { source: 'heal', action: 'oom-bump', result: 'applied', severity: 'warning', namespace: 'shop', object: 'Deployment/web', title: 'raised web memory' };

test('the log notifier writes one structured line', async () => {
  const lines: string[] = [];
  await logNotifier(createLogger({ sink: (l) => lines.push(l) })).notify(n);
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', msg: 'notification', action: 'oom-bump', object: 'Deployment/web' });
});

test('fan-out: one notifier throwing neither rejects nor stops the others', async () => {
  const got: string[] = [];
  const lines: string[] = [];
  const broken: Notifier = { name: 'broken', notify: () => Promise.reject(new Error('slack down')) };
  const throwing: Notifier = {
    name: 'throwing',
    notify: () => {
      throw new Error('sync throw');
    },
  };
  const ok: Notifier = { name: 'ok', notify: async (x) => void got.push(x.action) };
  const all = fanOut([broken, throwing, ok], createLogger({ sink: (l) => lines.push(l) }));
  await expect(all.notify(n)).resolves.toBeUndefined();
  expect(got).toEqual(['oom-bump']);
  expect(lines.map((l) => JSON.parse(l).notifier).sort()).toEqual(['broken', 'throwing']);
  expect(all.name).toBe('broken+throwing+ok');
});
