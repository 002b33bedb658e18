/**
 * Bytes collected from a stream (an HTTP answer, a watch's partial line) into one buffer that grows
 * by doubling, up to a cap. Why not a list of chunks: each chunk costs a Buffer object of its own,
 * so a peer sending one byte per packet made a 1.5 MB answer cost about 250 MiB of heap — memory
 * followed the packets, not the bytes the cap counts. Here it is at most twice the bytes (a
 * doubling's slack), whatever the chunking. Ground floor: node:buffer only.
 */

/** The capacity a sink starts with, and keeps after clear() when it grew no larger. */
const INITIAL_BYTES = 16 * 1024;

export class ByteSink {
  private buf: Buffer | null = null;
  private used = 0;

  constructor(readonly maxBytes: number) {
    if (!(maxBytes >= 0)) throw new RangeError(`maxBytes must be >= 0, got ${maxBytes}`);
  }

  get size(): number {
    return this.used;
  }

  /** Appends `chunk`; false, appending nothing, when the bytes would pass maxBytes. */
  append(chunk: Uint8Array): boolean {
    const need = this.used + chunk.length;
    if (need > this.maxBytes) return false;
    if (chunk.length === 0) return true;
    if (!this.buf || need > this.buf.length) {
      let capacity = Math.max(this.buf?.length ?? 0, INITIAL_BYTES);
      while (capacity < need) capacity *= 2;
      const grown = Buffer.allocUnsafe(Math.min(capacity, Math.max(need, this.maxBytes)));
      if (this.buf) this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    this.buf.set(chunk, this.used);
    this.used = need;
    return true;
  }

  /** A copy of the bytes so far (the sink may be cleared and reused after). */
  bytes(): Buffer {
    return this.buf ? Buffer.from(this.buf.subarray(0, this.used)) : Buffer.alloc(0);
  }

  /** Empties the sink; a buffer grown past the initial size is let go (one huge line must not pin it). */
  clear(): void {
    this.used = 0;
    if (this.buf && this.buf.length > INITIAL_BYTES) this.buf = null;
  }
}

/** Thrown by readCapped when the stream passes its cap; the stream is destroyed. */
export class TooManyBytesError extends Error {
  override name = 'TooManyBytesError';
  constructor(readonly maxBytes: number) {
    super(`more than ${maxBytes} bytes`);
  }
}

/**
 * The whole of `stream` in a ByteSink of `maxBytes`, or TooManyBytesError as soon as it passes them;
 * `signal` aborting destroys the stream and rejects with its reason. The stream is destroyed on
 * every failure, so nothing more is read into memory.
 */
export function readCapped(stream: NodeJS.ReadableStream & { destroy(error?: Error): unknown }, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sink = new ByteSink(maxBytes);
    let done = false;
    const finish = (err: unknown, value?: Buffer) => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      if (err !== null) {
        stream.destroy();
        reject(err);
      } else resolve(value!);
    };
    const onAbort = () => finish(signal!.reason ?? new Error('aborted'));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Uint8Array | string) => {
      if (!sink.append(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)) finish(new TooManyBytesError(maxBytes));
    });
    stream.on('end', () => finish(null, sink.bytes()));
    stream.on('error', (err) => finish(err));
    stream.on('close', () => finish(new Error('the stream closed before its end')));
  });
}
