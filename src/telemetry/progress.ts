/**
 * A progress bar for long CLI work (training, evaluation, simulation), on stderr so stdout stays
 * machine-readable: redrawn in place on a terminal, an occasional plain line in a log.
 */

/** The part of a `WriteStream` the bar needs (a fake in tests). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  write(chunk: string): unknown;
}

export interface Progress {
  /** `info` is shown after the bar (e.g. "epoch 3/8 loss 0.71"). */
  update(done: number, total: number, info?: string): void;
  /** Draws the final state and ends the line; call once, when the work is over. */
  finish(): void;
}

const BAR_WIDTH = 30;
/** A terminal redraw costs a syscall; ten a second look continuous. */
const REDRAW_MS = 100;
/** In a log, a line per 10% step, but not more than one per 5 s: a fast run gets few lines. */
const LINE_STEP = 0.1;
const LINE_MS = 5000;

/** `[######------]  50.0%  1,000/2,000  ETA 0:42`; the ETA extrapolates the rate so far. */
export function formatProgress(done: number, total: number, elapsedMs: number, width = BAR_WIDTH): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(share * width);
  const eta = done > 0 && done < total ? formatDuration((elapsedMs * (total - done)) / done) : done >= total ? '0:00' : '--:--';
  const counts = `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(1).padStart(5)}%  ${counts}  ETA ${eta}`;
}

/** m:ss (h:mm:ss from an hour). */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function createProgress(stream: ProgressStream, label: string, now: () => number = Date.now): Progress {
  const started = now();
  const tty = stream.isTTY === true;
  let done = 0;
  let total = 0;
  let lastDraw = -Infinity;
  let lastStep = 0;
  let detail = '';

  const line = () => `${label} ${formatProgress(done, total, now() - started)}${detail ? '  ' + detail : ''}`;
  return {
    update(d, t, info) {
      done = d;
      total = t;
      detail = info ?? '';
      const time = now();
      if (tty) {
        if (time - lastDraw < REDRAW_MS) return;
        stream.write(`\r${line()}\x1b[K`);
      } else {
        const step = total > 0 ? Math.floor(done / total / LINE_STEP) : 0;
        if (step <= lastStep || time - lastDraw < LINE_MS) return;
        lastStep = step;
        stream.write(`${line()}\n`);
      }
      lastDraw = time;
    },
    finish() {
      const summary = `${line()}  took ${((now() - started) / 1000).toFixed(1)} s`;
      stream.write(tty ? `\r${summary}\x1b[K\n` : `${summary}\n`);
    },
  };
}
