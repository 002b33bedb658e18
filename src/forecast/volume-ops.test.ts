/** The process-wide bound on shared-volume operations, with fake fs operations that hang until told. */
import { DeadlineError } from '../deadline/deadline.js';
import { sharedVolume, VolumeBusyError, VolumeGate, DEFAULT_MAX_VOLUME_OPS } from './volume-ops.js';

/** A fake volume operation: a promise that never settles until `end` is called; `started` counts calls. */
function hungOps() {
  const pending: ((v: string) => void)[] = [];
  let started = 0;
  return {
    op: () => {
      started++;
      return new Promise<string>((resolve) => pending.push(resolve));
    },
    get started() {
      return started;
    },
    endOne: (v = 'late') => pending.shift()!(v),
  };
}

const settledState = async (p: Promise<unknown>) => {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((r) => setImmediate(r));
  return state;
};

test('the process\'s gate holds two operations at most: half of libuv\'s default pool', () => {
  expect(DEFAULT_MAX_VOLUME_OPS).toBe(2);
  expect(sharedVolume.limit).toBe(2);
  expect(() => new VolumeGate({ limit: 0 })).toThrow(RangeError);
});

test('a hung volume holds at most `limit` operations: the next ones are never started (at their deadline while the held ones are young, at once when they are stuck), and slots free as operations return', async () => {
  let now = 0;
  const gate = new VolumeGate({ limit: 2, stuckMs: 1000, now: () => now });
  const hung = hungOps();
  const a = gate.run('read a', hung.op, 20);
  const b = gate.run('read b', hung.op, 20);
  expect(hung.started).toBe(2);
  expect(gate.outstanding).toBe(2);
  // Past their deadlines the callers are free, but the calls still hold their threads: so their slots.
  await expect(a.result).rejects.toThrow(new DeadlineError(20, 'read a'));
  await expect(b.result).rejects.toThrow(DeadlineError);
  expect(gate.outstanding).toBe(2);
  expect(await settledState(a.ended)).toBe('pending');

  // The held ones are young: a new one waits for a slot until its deadline, and is never started.
  const c = gate.run('read c', hung.op, 20);
  expect(gate.queued).toBe(1);
  await expect(c.result).rejects.toThrow(new DeadlineError(20, 'read c'));
  await c.ended; // ended without starting: nothing of the volume's is held for it
  expect(gate.queued).toBe(0);
  expect(hung.started).toBe(2);

  // Every slot stuck past stuckMs: the volume looks hung, new ones are refused at once.
  now = 1000;
  expect(gate.refusing).toBe(true);
  const d = gate.run('publishing x', hung.op, 60_000);
  await expect(d.result).rejects.toThrow(VolumeBusyError);
  await expect(d.result).rejects.toThrow(/^publishing x: not started, the 2 shared-volume operations allowed at once have all gone unanswered for over 1 s/);
  await d.ended;
  expect(hung.started).toBe(2);
  for (let i = 0; i < 100; i++) await gate.run('read', hung.op, 60_000).result.catch(() => undefined);
  expect(hung.started).toBe(2);
  expect(gate.outstanding).toBe(2);

  // One returns (however late): its slot is free, `ended` says so, and the next one starts.
  hung.endOne();
  await a.ended;
  expect(gate.outstanding).toBe(1);
  expect(gate.refusing).toBe(false);
  const e = gate.run('read e', () => Promise.resolve('answer'), 20);
  await expect(e.result).resolves.toBe('answer');
  await e.ended;
  expect(gate.outstanding).toBe(1);
  // A new one beside the one still hung is young: the gate takes operations again.
  const f = gate.run('read f', hung.op, 20);
  expect(hung.started).toBe(3);
  hung.endOne();
  hung.endOne('in time');
  await expect(f.result).resolves.toBe('in time');
  expect(gate.outstanding).toBe(0);
});

test('an operation waiting for a slot starts as soon as one frees, in order, within its deadline', async () => {
  const gate = new VolumeGate({ limit: 1 });
  const hung = hungOps();
  const first = gate.run('first', hung.op, 1000);
  const order: string[] = [];
  const second = gate.run('second', () => (order.push('second'), Promise.resolve(2)), 1000);
  const third = gate.run('third', () => (order.push('third'), Promise.resolve(3)), 1000);
  expect(gate.queued).toBe(2);
  expect(order).toEqual([]);
  hung.endOne('one');
  await expect(first.result).resolves.toBe('one');
  await expect(second.result).resolves.toBe(2);
  await expect(third.result).resolves.toBe(3);
  expect(order).toEqual(['second', 'third']);
  expect(gate.outstanding).toBe(0);
});

test('an operation that fails, or throws before returning a promise, frees its slot and fails its caller', async () => {
  const gate = new VolumeGate({ limit: 1 });
  await expect(gate.run('a', () => Promise.reject(new Error('EIO')), 1000).result).rejects.toThrow('EIO');
  await expect(
    gate.run(
      'b',
      () => {
        throw new Error('EBADF');
      },
      1000,
    ).result,
  ).rejects.toThrow('EBADF');
  expect(gate.outstanding).toBe(0);
  await expect(gate.run('c', () => Promise.resolve(1), 1000).result).resolves.toBe(1);
});
