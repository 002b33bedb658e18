import { DeadlineError, deadlineOf, deadlineSignal, untilAborted, within } from './deadline.js';

test('within: the work when it answers in time, a DeadlineError naming what when it does not', async () => {
  await expect(within(Promise.resolve(7), 1000, 'read the lease')).resolves.toBe(7);
  const silent = new Promise<never>(() => undefined);
  const err = await within(silent, 20, 'renew the replica lease').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DeadlineError);
  expect((err as DeadlineError).message).toBe('renew the replica lease: deadline exceeded after 0.02s');
  // A failure before the deadline is the failure, not a timeout.
  await expect(within(Promise.reject(new Error('409')), 1000, 'take the lock')).rejects.toThrow('409');
});

test('untilAborted: settles at the signal even when the work ignores it; a signal already aborted rejects at once', async () => {
  const d = deadlineSignal(20);
  await expect(untilAborted(new Promise<never>(() => undefined), d.signal)).rejects.toThrow('deadline exceeded after 0.02s');
  const late = untilAborted(new Promise<never>(() => undefined), d.signal);
  await expect(late).rejects.toBeInstanceOf(DeadlineError);
  const ok = deadlineSignal(1000);
  await expect(untilAborted(Promise.resolve('x'), ok.signal)).resolves.toBe('x');
  ok.clear();
});

test('deadlineOf: when a deadlineSignal started and how long it gives; nothing for any other signal', () => {
  const before = Date.now();
  const d = deadlineSignal(2500, 'read');
  const span = deadlineOf(d.signal);
  d.clear();
  expect(span?.ms).toBe(2500);
  expect(span!.start).toBeGreaterThanOrEqual(before);
  expect(span!.start).toBeLessThanOrEqual(Date.now());
  expect(deadlineOf(new AbortController().signal)).toBeUndefined();
  expect(deadlineOf(AbortSignal.any([d.signal]))).toBeUndefined();
  expect(deadlineOf(undefined)).toBeUndefined();
});
