import { PassThrough } from 'node:stream';
import { ByteSink, readCapped, TooManyBytesError } from './byte-sink.js';

describe('ByteSink', () => {
  test('a byte at a time is held in one buffer of at most twice the bytes, and read back whole', () => {
    const sink = new ByteSink(1_000_000);
    const text = 'x'.repeat(70_000) + 'end';
    let all = true;
    for (const c of Buffer.from(text)) all &&= sink.append(Uint8Array.of(c));
    expect(all).toBe(true);
    expect(sink.size).toBe(text.length);
    // The capacity it grew to (private): doubling from 16 KiB, not a chunk per byte.
    const capacity = (sink as unknown as { buf: Buffer }).buf.length;
    expect(capacity).toBeGreaterThanOrEqual(text.length);
    expect(capacity).toBeLessThanOrEqual(2 * text.length);
    expect(sink.bytes().toString()).toBe(text);
  });

  test('refuses, appending nothing, what would pass the cap; never grows past it', () => {
    const sink = new ByteSink(20_000);
    expect(sink.append(Buffer.alloc(19_999, 1))).toBe(true);
    expect(sink.append(Buffer.alloc(2, 2))).toBe(false);
    expect(sink.size).toBe(19_999);
    expect(sink.append(Buffer.alloc(1, 3))).toBe(true);
    expect((sink as unknown as { buf: Buffer }).buf.length).toBe(20_000);
    expect(sink.bytes().subarray(-2)).toEqual(Buffer.from([1, 3]));
  });

  test('bytes() is a copy, and clear() lets a grown buffer go', () => {
    const sink = new ByteSink(1 << 20);
    sink.append(Buffer.from('abc'));
    const copy = sink.bytes();
    sink.clear();
    sink.append(Buffer.from('xyz'));
    expect(copy.toString()).toBe('abc');
    sink.append(Buffer.alloc(100_000));
    sink.clear();
    expect((sink as unknown as { buf: Buffer | null }).buf).toBeNull();
    expect(sink.size).toBe(0);
  });
});

describe('readCapped', () => {
  test('reads a stream written in many small pieces', async () => {
    const s = new PassThrough();
    const read = readCapped(s, 10_000);
    for (let i = 0; i < 5000; i++) s.write('ab');
    s.end();
    expect((await read).toString()).toBe('ab'.repeat(5000));
  });

  test('past the cap: TooManyBytesError, and the stream is destroyed', async () => {
    const s = new PassThrough();
    const read = readCapped(s, 100);
    s.write(Buffer.alloc(60));
    s.write(Buffer.alloc(60));
    await expect(read).rejects.toBeInstanceOf(TooManyBytesError);
    expect(s.destroyed).toBe(true);
  });

  test('an abort ends the read with its reason and destroys the stream; a stream cut off is an error', async () => {
    const s = new PassThrough();
    const controller = new AbortController();
    const read = readCapped(s, 100, controller.signal);
    s.write('a');
    controller.abort(new Error('deadline'));
    await expect(read).rejects.toThrow('deadline');
    expect(s.destroyed).toBe(true);
    const cut = new PassThrough();
    const broken = readCapped(cut, 100);
    cut.write('a');
    cut.destroy();
    await expect(broken).rejects.toThrow('closed before its end');
  });
});
