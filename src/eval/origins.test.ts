import { findOrigins, firstEvaluatedMinute } from './origins.js';

const observed = (n: number, gaps: number[] = []): (number | null)[] => Array.from({ length: n }, (_, i) => (gaps.includes(i) ? null : 1));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('findOrigins', () => {
  test('every minute of the last 25% whose horizon lies inside the trace', () => {
    // 400 min: the span starts at floor(0.75 × 400) = 300; t + 10 must be <= 399.
    expect(findOrigins(observed(400), { horizon: 10, split: 0.75 })).toEqual(range(300, 389));
    expect(firstEvaluatedMinute(400, 0.75)).toBe(300);
    expect(firstEvaluatedMinute(10, 0.75)).toBe(7); // floor: the span is never shorter than 25%
  });

  test('the split moves the start of the span; an origin always needs 60 minutes of context', () => {
    expect(findOrigins(observed(400), { horizon: 10, split: 0.5 })[0]).toBe(200);
    expect(findOrigins(observed(400), { horizon: 10, split: 0 })[0]).toBe(59); // t-59 is minute 0
  });

  test('a gap at minute k excludes the origins k-H .. k+59 (it is in their future or their context)', () => {
    expect(findOrigins(observed(400, [350]), { horizon: 10, split: 0.75 })).toEqual(range(300, 339));
    // k = 250 lies before the span but inside the context of its first origins 300..309.
    expect(findOrigins(observed(400, [250, 350]), { horizon: 10, split: 0.75 })).toEqual(range(310, 339));
    expect(findOrigins(observed(400, [350]), { horizon: 3, split: 0.75 })).toEqual(range(300, 346));
  });

  test('the horizon sets how many observed minutes are needed after the origin', () => {
    // Gap at 395: in the horizon of 392..394 and in the context of every later origin.
    expect(findOrigins(observed(400, [395]), { horizon: 3, split: 0.75 })).toEqual(range(300, 391));
    expect(findOrigins(observed(400), { horizon: 1, split: 0.75 }).at(-1)).toBe(398);
  });

  test('NaN and Infinity count as unobserved', () => {
    const values = observed(400);
    values[340] = NaN;
    values[341] = Infinity;
    expect(findOrigins(values, { horizon: 10, split: 0.75 })).toEqual(range(300, 329));
  });

  test('a trace too short or too gappy has no origin', () => {
    expect(findOrigins(observed(69), { horizon: 10, split: 0 })).toEqual([]);
    expect(findOrigins(observed(70), { horizon: 10, split: 0 })).toEqual([59]);
    expect(findOrigins(observed(400, range(0, 399).filter((i) => i % 50 === 0)), { horizon: 10, split: 0.75 })).toEqual([]);
  });

  test.each([
    [{ horizon: 0, split: 0.75 }, /horizon/],
    [{ horizon: 2.5, split: 0.75 }, /horizon/],
    [{ horizon: 10, split: 1 }, /split/],
    [{ horizon: 10, split: -0.1 }, /split/],
    [{ horizon: 10, split: NaN }, /split/],
  ])('rejects %j', (options, message) => {
    expect(() => findOrigins(observed(400), options)).toThrow(message);
  });
});
