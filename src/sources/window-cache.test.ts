import { createGenerator } from './generator.js';
import { generatorReader } from './replay.js';
import { MINUTE_MS } from './types.js';
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
