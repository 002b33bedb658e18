import { createGenerator } from './generator.js';
import { generatorReader } from './replay.js';
import { MINUTE_MS } from '../series/minute.js';
import { cachedReader } from './window-cache.js';

const T0 = Date.UTC(2025, 2, 3);

describe('cachedReader', () => {
  it('returns exactly what the uncached reader returns, for overlapping, disjoint and wider windows', () => {
    const direct = generatorReader(createGenerator({ scenario: 'flash-sale', seed: 6 }), 1.5);
    let computed = 0;
    const cached = cachedReader((start, minutes) => {
      computed += minutes;
      return direct(start, minutes);
    });
    const reads: [number, number][] = [
      [0, 60], // cold
      [1, 60], // slides by one minute
      [1, 60], // same window
      [-100, 300], // wider on both sides
      [150, 20], // inside
      [5_000, 60], // disjoint
      [4_990, 3_000], // overlaps the end only
    ];
    for (const [offset, minutes] of reads) {
      const start = T0 + offset * MINUTE_MS;
      expect(cached(start, minutes)).toEqual(direct(start, minutes));
    }
    expect(computed).toBe(60 + 1 + 0 + (101 + 139) + 0 + 60 + (10 + 2_930));
  });

  it('serves windows of different lengths from one cache without recomputing, bounded by the longest', () => {
    const direct = generatorReader(createGenerator({ scenario: 'flash-sale', seed: 4 }));
    let computed = 0;
    const cached = cachedReader((start, minutes) => {
      computed += minutes;
      return direct(start, minutes);
    });
    const at = (m: number) => T0 + m * MINUTE_MS;
    expect(cached(at(0), 2880)).toEqual(direct(at(0), 2880));
    expect(cached(at(2820), 60)).toEqual(direct(at(2820), 60)); // a short window inside: nothing computed
    expect(cached(at(1), 2880)).toEqual(direct(at(1), 2880)); // the long one slides: one new minute
    expect(cached(at(2822), 60)).toEqual(direct(at(2822), 60)); // the short one slides too
    expect(computed).toBe(2880 + 0 + 1 + 1);
    // Far ahead: the cache starts over rather than filling the gap.
    expect(cached(at(100_000), 60)).toEqual(direct(at(100_000), 60));
    expect(computed).toBe(2882 + 60);
  });

  it('hands out copies, so a caller mutating its window cannot corrupt the next read', () => {
    const cached = cachedReader(generatorReader(createGenerator({ seed: 2 })));
    const first = cached(T0, 10);
    const value = first.requests[5];
    first.requests[5] = -1;
    (first.cpu as number[])[5] = -1;
    const second = cached(T0, 10);
    expect(second.requests[5]).toBe(value);
    expect((second.cpu as number[])[5]).toBeGreaterThan(0);
  });
});
