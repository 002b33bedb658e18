import { checkSamples, SampleBoundsError, SampleStaleError } from './samples.js';
import { STALE_AFTER_MINUTES } from '../series/observed.js';
import { noSamples } from '../series/history.js';
import { holey } from '../test-support/series.js';

const START = Date.UTC(2026, 0, 1);

test('a hole is a gap: the newest observed sample is the one before it', () => {
  const r = checkSamples({ start: START, requests: holey(1, 2, undefined) }, 100);
  expect(r.observed).toBe(2);
  expect(r.masked).toBe(0);
});

test('a NaN newest sample is a source error, not a gap', () => {
  expect(() => checkSamples({ start: START, requests: holey(1, NaN) }, 100)).toThrow(SampleBoundsError);
  expect(() => checkSamples({ start: START, requests: holey(1, NaN, undefined) }, 100)).toThrow(/is NaN: refused/);
});

test('older out-of-bounds samples become holes in a copy; the given series is untouched', () => {
  const requests = holey(1, NaN, undefined, -3, 500, 4);
  const cpu = holey(0.5, Infinity, 0.7, 0.8, 0.9, 1);
  const r = checkSamples({ start: START, requests, cpu }, 100);
  expect(r.observed).toBe(4);
  expect(r.masked).toBe(3);
  expect(r.history.requests).not.toBe(requests);
  expect([0, 1, 2, 3, 4, 5].filter((i) => i in r.history.requests)).toEqual([0, 5]);
  expect([0, 1, 2, 3, 4, 5].filter((i) => i in r.history.cpu!)).toEqual([0, 2, 3, 4, 5]);
  expect(requests[1]).toBeNaN();
  expect(cpu[1]).toBe(Infinity);
});

test('a clean series is handed back as is, and a series of gaps is refused', () => {
  const h = { start: START, requests: holey(1, undefined, 2) };
  expect(checkSamples(h, 100).history).toBe(h);
  expect(() => checkSamples({ start: START, requests: noSamples(3) }, 100)).toThrow(/no observed value in the last 3 minutes/);
  expect(() => checkSamples({ start: START, requests: [null, null] }, 100)).toThrow(/no observed value/);
});

test('a series that stopped: STALE_AFTER_MINUTES trailing gaps fail the read as stale; fewer are a late scrape', () => {
  const late = checkSamples({ start: START, requests: holey(1, 2, ...Array<undefined>(STALE_AFTER_MINUTES - 1).fill(undefined)) }, 100);
  expect(late.observed).toBe(2);
  const stopped = { start: START, requests: holey(1, 2, ...Array<undefined>(STALE_AFTER_MINUTES).fill(undefined)) };
  expect(() => checkSamples(stopped, 100)).toThrow(SampleStaleError);
  expect(() => checkSamples(stopped, 100)).toThrow(`newest sample (2026-01-01T00:02:00.000Z) is ${STALE_AFTER_MINUTES} minutes old: the series stopped`);
  // Stale is said before bounds: an old bad sample is first of all old.
  expect(() => checkSamples({ start: START, requests: holey(NaN, ...Array<undefined>(STALE_AFTER_MINUTES).fill(undefined)) }, 100)).toThrow(SampleStaleError);
});
