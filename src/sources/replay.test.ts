import { createGenerator } from './generator.js';
import { createReplayFeed, createReplaySource, TRACE_DEFAULT_LEAD_MS } from './replay.js';
import { parseTrace, type Trace } from './trace.js';
import { MINUTE_MS } from '../series/minute.js';

/** A clock the test moves by hand. */
function fakeClock(start: number): { clock: () => number; advance: (ms: number) => void } {
  let t = start;
  return { clock: () => t, advance: (ms) => (t += ms) };
}

const REAL_START = Date.UTC(2025, 0, 6, 9, 0, 17); // deliberately off the minute
const TRACE_START = Date.UTC(2024, 0, 1);

/** A 10-minute trace with counts 60, 120, …, 600 and one masked minute. */
function tenMinuteTrace(extra = ''): Trace {
  const rows = Array.from({ length: 10 }, (_, i) => {
    const ts = new Date(TRACE_START + i * MINUTE_MS).toISOString().replace('.000Z', 'Z');
    return `${ts},${(i + 1) * 60},${i === 4 ? 0 : 1}${extra}`;
  });
  return parseTrace(['timestamp,requests,observed' + (extra ? ',cpu' : ''), ...rows].join('\n'), '/data/ten.csv');
}

describe('createReplaySource', () => {
  it('advances speed × real time: 60 virtual minutes per real minute at speed 60', async () => {
    const { clock, advance } = fakeClock(REAL_START);
    const source = createReplaySource({ generator: {}, speed: 60, clock, virtualStart: Date.UTC(2025, 0, 1) });
    expect(source.now()).toBe(Date.UTC(2025, 0, 1));
    advance(MINUTE_MS);
    expect(source.now()).toBe(Date.UTC(2025, 0, 1) + 60 * MINUTE_MS);
    advance(1_000);
    expect(source.now()).toBe(Date.UTC(2025, 0, 1) + 61 * MINUTE_MS);
    const history = await source.read(60);
    expect(history.start).toBe(Date.UTC(2025, 0, 1) + 1 * MINUTE_MS);
  });

  it('tells how long, in real time, until its clock reads an instant: the virtual distance ÷ speed', () => {
    const { clock, advance } = fakeClock(REAL_START);
    const source = createReplaySource({ generator: {}, speed: 30, clock, virtualStart: Date.UTC(2025, 0, 1, 12, 0, 0) });
    expect(source.msUntil!(Date.UTC(2025, 0, 1, 12, 1, 10))).toBe(70_000 / 30);
    advance(1_000); // 30 virtual seconds
    expect(source.msUntil!(Date.UTC(2025, 0, 1, 12, 1, 10))).toBe(40_000 / 30);
    expect(source.msUntil!(Date.UTC(2025, 0, 1, 12, 0, 0))).toBeLessThan(0);
  });

  it('reads the last complete virtual minutes, ending before the one in progress', async () => {
    const { clock, advance } = fakeClock(REAL_START);
    const virtualStart = Date.UTC(2025, 0, 1, 12, 0, 30); // mid-minute
    const source = createReplaySource({ generator: { seed: 3 }, clock, virtualStart });
    advance(10 * MINUTE_MS);
    // now = 12:10:30, so 12:09 is the last complete minute and 60 minutes start at 11:10.
    const history = await source.read(60);
    expect(history.start).toBe(Date.UTC(2025, 0, 1, 11, 10));
    expect(history.requests).toHaveLength(60);
    expect(history.cpu).toHaveLength(60);
    expect(history.memory).toHaveLength(60);
    const g = createGenerator({ seed: 3 });
    expect(history.requests[59]).toBe(g.requests(Date.UTC(2025, 0, 1, 12, 9)));
    expect(history.requests.every((v) => typeof v === "number" && v >= 0)).toBe(true);
  });

  it('reads the window ending at the minute asked for, on its virtual clock; the cache never hands out a newer one; never past the minute in progress', async () => {
    const { clock, advance } = fakeClock(REAL_START);
    const source = createReplaySource({ generator: { seed: 3 }, speed: 60, clock, virtualStart: Date.UTC(2025, 0, 1, 12, 0, 0) });
    advance(1_000 / 12); // 12:00:05 virtual
    const g = createGenerator({ seed: 3 });
    const newest = await source.read(10); // up to 11:59, cached
    expect(newest.requests[9]).toBe(g.requests(Date.UTC(2025, 0, 1, 11, 59)));
    const earlier = await source.read(10, undefined, Date.UTC(2025, 0, 1, 11, 59, 0));
    expect(earlier.start).toBe(Date.UTC(2025, 0, 1, 11, 49));
    expect(earlier.requests).toHaveLength(10);
    expect(earlier.requests[9]).toBe(g.requests(Date.UTC(2025, 0, 1, 11, 58)));
    expect(earlier.requests.slice(1)).toEqual(newest.requests.slice(0, 9));
    // An end inside a minute is that minute; one past the minute in progress is the minute in progress.
    expect(await source.read(10, undefined, Date.UTC(2025, 0, 1, 11, 59, 40))).toEqual(earlier);
    expect(await source.read(10, undefined, Date.UTC(2025, 0, 1, 12, 5))).toEqual(newest);
  });

  it('defaults the generator to wall-clock time at speed 1', async () => {
    const { clock, advance } = fakeClock(REAL_START);
    const source = createReplaySource({ generator: { scenario: 'flash-sale' }, clock });
    expect(source.description).toBe('replay:generator(flash-sale)x1');
    advance(5 * MINUTE_MS);
    expect(source.now()).toBe(clock());
    const history = await source.read(3);
    expect(history.start + 3 * MINUTE_MS).toBe(Math.floor(clock() / MINUTE_MS) * MINUTE_MS);
  });

  it('plays a trace in requests per second (count / 60), from trace start + 2 days by default', async () => {
    const trace = tenMinuteTrace();
    const { clock } = fakeClock(REAL_START);
    const source = createReplaySource({ trace, speed: 60, clock });
    expect(source.description).toBe('replay:trace(ten.csv)x60');
    expect(source.now()).toBe(TRACE_START + TRACE_DEFAULT_LEAD_MS);
    // Two days is a whole number of 10-minute loops, so the last complete minute is slot 9.
    const history = await source.read(10);
    expect(history.start).toBe(TRACE_START + TRACE_DEFAULT_LEAD_MS - 10 * MINUTE_MS);
    expect(history.requests).toEqual([1, 2, 3, 4, null, 6, 7, 8, 9, 10]);
    expect(history.cpu).toBeUndefined();
    expect(history.memory).toBeUndefined();
  });

  it('loops the trace while timestamps keep increasing', async () => {
    const trace = tenMinuteTrace();
    const { clock, advance } = fakeClock(REAL_START);
    const source = createReplaySource({ trace, clock, virtualStart: TRACE_START + 3 * MINUTE_MS });
    // At start the complete minutes are slots 0..2; reading 25 reaches back before the trace start.
    const before = await source.read(25);
    expect(before.start).toBe(TRACE_START - 22 * MINUTE_MS);
    expect(before.requests).toEqual([9, 10, 1, 2, 3, 4, null, 6, 7, 8, 9, 10, 1, 2, 3, 4, null, 6, 7, 8, 9, 10, 1, 2, 3]);
    advance(24 * MINUTE_MS);
    const after = await source.read(12);
    expect(after.start).toBe(TRACE_START + 15 * MINUTE_MS);
    expect(after.start).toBeGreaterThan(before.start);
    expect(after.requests).toEqual([6, 7, 8, 9, 10, 1, 2, 3, 4, null, 6, 7]);
  });

  it('applies scale to requests and cpu (totals of a larger workload), leaving masked minutes masked', async () => {
    const trace = tenMinuteTrace(',0.25');
    const { clock } = fakeClock(REAL_START);
    const source = createReplaySource({ trace, scale: 2.5, clock, virtualStart: TRACE_START + 10 * MINUTE_MS });
    const history = await source.read(10);
    expect(history.requests).toEqual([2.5, 5, 7.5, 10, null, 15, 17.5, 20, 22.5, 25]);
    expect(history.cpu).toEqual([0.625, 0.625, 0.625, 0.625, null, 0.625, 0.625, 0.625, 0.625, 0.625]);
  });

  it('applies scale to the generator, whose cpu follows the scaled load', async () => {
    const { clock } = fakeClock(REAL_START);
    const opts = { generator: { seed: 8 }, clock, virtualStart: Date.UTC(2025, 0, 8, 15) };
    const plain = await createReplaySource(opts).read(30);
    const doubled = await createReplaySource({ ...opts, scale: 2 }).read(30);
    doubled.requests.forEach((v, i) => expect(v).toBe((plain.requests[i] as number) * 2));
    expect((doubled.cpu as number[])[0]).toBeGreaterThan((plain.cpu as number[])[0] * 1.5);
  });

  it('tells the forecaster the local time offset: the trace\'s, or the generator\'s', async () => {
    const { clock } = fakeClock(REAL_START);
    const csv = 'timestamp,requests\n' + Array.from({ length: 5 }, (_, i) => `2024-01-01T00:0${i}:00-04:00,${i}`).join('\n');
    const fromTrace = await createReplaySource({ trace: parseTrace(csv), clock, virtualStart: Date.parse('2024-01-01T00:05:00-04:00') }).read(3);
    expect(fromTrace.utcOffsetMinutes).toBe(-240);
    const fromGenerator = await createReplaySource({ generator: { utcOffsetMinutes: 540 }, clock }).read(3);
    expect(fromGenerator.utcOffsetMinutes).toBe(540);
  });

  it('sources of one feed share its virtual clock and series; closing one leaves the others', async () => {
    const { clock, advance } = fakeClock(REAL_START);
    const feed = createReplayFeed({ generator: { seed: 5 }, speed: 60, clock, virtualStart: Date.UTC(2025, 0, 8, 9) });
    const a = feed.source();
    advance(MINUTE_MS);
    const b = feed.source(3); // created later, same virtual time
    expect(b.now()).toBe(a.now());
    expect(b.description).toBe('replay:generator(daily)x60*3');
    const [ha, hb] = [await a.read(120), await b.read(120)];
    expect(hb.start).toBe(ha.start);
    hb.requests.forEach((v, i) => expect(v).toBeCloseTo((ha.requests[i] as number) * 3, 9));
    a.close();
    await expect(a.read(10)).rejects.toThrow('read after close');
    await expect(b.read(10)).resolves.toBeDefined();
  });

  it('validates its inputs; close is idempotent and ends reads', async () => {
    const trace = tenMinuteTrace();
    expect(() => createReplaySource({ trace, speed: 0 })).toThrow(/speed/);
    expect(() => createReplaySource({ trace, scale: -1 })).toThrow(/scale/);
    expect(() => createReplaySource({ trace, virtualStart: NaN })).toThrow(/virtualStart/);
    expect(() => createReplaySource({ trace: { ...trace, start: trace.start + 1 } })).toThrow(/whole minute/);
    const source = createReplaySource({ trace });
    await expect(source.read(0)).rejects.toThrow(/positive integer/);
    await expect(source.read(1.5)).rejects.toThrow(/positive integer/);
    source.close();
    source.close();
    await expect(source.read(5)).rejects.toThrow(/after close/);
  });
});
