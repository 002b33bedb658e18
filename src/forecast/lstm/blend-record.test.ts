import { BLEND_CANDIDATES } from './blend.js';
import { addToRecord, emptyRecord, isBlendRecord, recordChoice, recordToContinue, RECORD_HALF_LIFE_MINUTES, RECORD_MIN_COUNT } from './blend-record.js';

/** Sums that make candidate `k` the best: its error 1 a minute-error, the LSTM alone's `lstm`, every other 2. */
const sumsFavouring = (k: number, count: number, lstm = 2) => BLEND_CANDIDATES.map((_, i) => (i === k ? 1 : i === 0 ? lstm : 2) * count);
const mean10Half = BLEND_CANDIDATES.findIndex((c) => c.baseline === 'mean10' && c.weight === 0.5);

test('a record starts empty and trusts nothing until it holds half a day of minute-errors', () => {
  const r = emptyRecord(1000);
  expect(r).toEqual({ next: 1000, sums: BLEND_CANDIDATES.map(() => 0), count: 0 });
  expect(recordChoice(r, 0.99)).toBeNull();
  expect(recordChoice(undefined, 0.99)).toBeNull();
  const short = addToRecord(r, 1000, sumsFavouring(mean10Half, RECORD_MIN_COUNT - 1), RECORD_MIN_COUNT - 1);
  expect(recordChoice(short, 0.99)).toBeNull();
  const long = addToRecord(r, 1000, sumsFavouring(mean10Half, RECORD_MIN_COUNT), RECORD_MIN_COUNT);
  expect(recordChoice(long, 0.99)).toEqual({ baseline: 'mean10', weight: 0.5 });
});

test('a blend must beat the LSTM alone by the bar; ties and near-ties keep the LSTM alone', () => {
  const n = RECORD_MIN_COUNT;
  // The blend 1 against the LSTM's 1.005: under 1% better, so none.
  const near = addToRecord(emptyRecord(0), 0, sumsFavouring(mean10Half, n, 1.005), n);
  expect(recordChoice(near, 0.99)).toEqual({ baseline: 'persistence', weight: 0 });
  // The LSTM alone the best: none.
  expect(recordChoice(addToRecord(emptyRecord(0), 0, sumsFavouring(0, n), n), 0.99)).toEqual({ baseline: 'persistence', weight: 0 });
});

test('what the record held fades with a half-life of a day as it moves on; newly scored errors count in full', () => {
  const n = RECORD_MIN_COUNT;
  const a = addToRecord(emptyRecord(0), 0, sumsFavouring(mean10Half, n), n);
  // A day later, the same count of errors that favour the LSTM alone: old ones weigh half.
  const b = addToRecord(a, RECORD_HALF_LIFE_MINUTES, sumsFavouring(0, n), n);
  expect(b.next).toBe(RECORD_HALF_LIFE_MINUTES);
  expect(b.count).toBeCloseTo(1.5 * n, 9);
  expect(b.sums[0]).toBeCloseTo(0.5 * 2 * n + 1 * n, 9);
  expect(b.sums[mean10Half]).toBeCloseTo(0.5 * 1 * n + 2 * n, 9);
  expect(recordChoice(b, 0.99)).toEqual({ baseline: 'persistence', weight: 0 });
  // Nothing new and the clock not moved: unchanged.
  expect(addToRecord(b, b.next, [], 0)).toEqual(b);
});

test('a record of another grid, or one ahead of the span (a clock moved back), starts over', () => {
  const n = RECORD_MIN_COUNT;
  const other = { next: 0, sums: [1, 2, 3], count: n };
  expect(addToRecord(other, 10, [], 0)).toEqual(emptyRecord(10));
  expect(recordChoice(other, 0.99)).toBeNull();
  const ahead = addToRecord(emptyRecord(500), 500, sumsFavouring(mean10Half, n), n);
  expect(addToRecord(ahead, 100, [], 0)).toEqual(emptyRecord(100));
});

test('a record read back from a published meta file is used only when whole', () => {
  const good = addToRecord(emptyRecord(10), 10, BLEND_CANDIDATES.map(() => 1), 5);
  expect(isBlendRecord(good)).toBe(true);
  expect(isBlendRecord(JSON.parse(JSON.stringify(good)))).toBe(true);
  for (const bad of [undefined, null, 'x', {}, { ...good, next: 'soon' }, { ...good, count: -1 }, { ...good, sums: [1, 2] }, { ...good, sums: good.sums.map((v, i) => (i === 3 ? -1 : v)) }, { ...good, sums: good.sums.map(() => null) }]) {
    expect(isBlendRecord(bad)).toBe(false);
  }
});

test('a round continues the newest record that scores nothing the weights in use were fitted on', () => {
  const at = (next: number) => addToRecord(emptyRecord(next), next, BLEND_CANDIDATES.map(() => 1), 5);
  const own = at(1000);
  const published = at(1200);
  // The weights in use fitted at origin minute 1204 with a 5-minute horizon: windows from 1200 on are out of sample.
  expect(recordToContinue([own, published], 1204, 5)).toBe(published);
  // This process's own newer record wins over an older published one.
  expect(recordToContinue([at(1300), published], 1204, 5)?.next).toBe(1300);
  // Weights fitted after both started (another owner published them): neither may be continued.
  expect(recordToContinue([own, published], 1500, 5)).toBeUndefined();
  // Weights never fitted on the workload (the pre-trained ones): the newest.
  expect(recordToContinue([own, undefined], undefined, 5)).toBe(own);
  expect(recordToContinue([undefined, undefined], undefined, 5)).toBeUndefined();
});
