import { makePlan } from '../plan/plan.js';
import { ScaleNotices } from './scale-notice.js';

const snap = (observed: number, forecast: number[], name = 'frontend') => ({
  namespace: 'shop',
  name,
  targetValue: 10,
  horizonMinutes: 10,
  plan: makePlan({ mode: 'predictive', headroom: 0, activationValue: 0, observed, forecast: { model: 'lstm', values: forecast } }),
});

test('announces a predicted scale-out of at least `step` pods, in the words of the PRD', () => {
  const n = new ScaleNotices(2);
  const notice = n.next(snap(25, [30, 45, 63]))!;
  expect(notice.title).toBe('Amadeus: future load detected for frontend. Scaling out 3 → 7 pods ahead of a forecast 2.5× rise in 10 min.');
  expect(notice).toMatchObject({ source: 'scale', action: 'scale-out', object: 'ScaledObject/frontend', fields: { model: 'lstm' } });
});

test('below the step, or driven by the observed load, nothing', () => {
  const n = new ScaleNotices(2);
  expect(n.next(snap(25, [30, 35]))).toBeNull(); // 3 → 4
  expect(n.next(snap(60, [30, 40]))).toBeNull(); // observed wins: no prediction to announce
});

test('one notice per episode; again only if it grows, or after the gap closed', () => {
  const n = new ScaleNotices(2);
  expect(n.next(snap(25, [63]))).not.toBeNull();
  expect(n.next(snap(26, [63]))).toBeNull(); // same episode, same size
  expect(n.next(snap(26, [90]))!.title).toContain('3 → 9 pods');
  expect(n.next(snap(80, [82]))).toBeNull(); // the load arrived: episode over
  expect(n.next(snap(25, [63]))).not.toBeNull();
  expect(n.next(snap(25, [63], 'cart'))).not.toBeNull(); // per ScaledObject
});

test('several replicas: only the owner announces; ownership moving mid-episode does not announce it again', () => {
  let owner = 'a';
  const replicas = ['a', 'b'].map((self) => ({ self, n: new ScaleNotices(2, (key) => key === 'scale-notice:shop/frontend' && owner === self) }));
  const said = (s: ReturnType<typeof snap>) => replicas.filter((r) => r.n.next(s) !== null).map((r) => r.self);
  expect(said(snap(25, [63]))).toEqual(['a']);
  expect(said(snap(26, [63]))).toEqual([]);
  owner = 'b'; // a replica joined or left: b owns it now
  expect(said(snap(26, [63]))).toEqual([]); // same episode: b followed it
  expect(said(snap(26, [90]))).toEqual(['b']); // it grew: said once, by the owner
  expect(said(snap(80, [82]))).toEqual([]);
  expect(said(snap(25, [63]))).toEqual(['b']);
});

test('two triggers of one ScaledObject: each has its own episode, so one without a scale-out does not make the other announce again every minute', () => {
  const n = new ScaleNotices(2);
  const rps = (observed: number, forecast: number[]) => ({ ...snap(observed, forecast), trigger: 'aaaa1111' });
  const cpu = (observed: number, forecast: number[]) => ({ ...snap(observed, forecast), trigger: 'bbbb2222' });
  expect(n.next(rps(25, [63]))).not.toBeNull();
  for (let minute = 0; minute < 5; minute++) {
    expect(n.next(cpu(25, [26]))).toBeNull(); // the other trigger plans no scale-out
    expect(n.next(rps(25, [63]))).toBeNull(); // the same episode, told once
  }
  // Forgetting the ScaledObject forgets its triggers' episodes: a new one is announced again.
  n.forget('shop', 'frontend');
  expect(n.next(rps(25, [63]))).not.toBeNull();
});

test('a bad step is refused', () => {
  expect(() => new ScaleNotices(0)).toThrow(RangeError);
});
