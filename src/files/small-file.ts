/**
 * Reading the small files a process is pointed at (a token, a certificate, a kubeconfig, a mounted
 * credential) with a size cap and without blocking. Why: a path that turns out to be a FIFO would
 * block the event loop for good, a device such as /dev/zero would fill memory, and a wrong path to
 * a large file would be read whole — at start-up that hangs or kills the process with no word
 * about which file. Here each fails at once with a short reason. Ground floor: node:fs only.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** A certificate chain, a key or a CA bundle fits well inside this. */
export const MAX_TLS_FILE_BYTES = 1024 * 1024;

export class SmallFileError extends Error {
  override name = 'SmallFileError';
  constructor(
    message: string,
    /** The file's kind or size is wrong, not an errno that may pass (ENOENT while a volume mounts). */
    readonly permanent = false,
  ) {
    super(message);
  }
}

export interface SmallFileOptions {
  /** Refuse a symbolic link as the last component (a caller that has resolved the path already). */
  noFollow?: boolean;
}

/**
 * The file's bytes, at most `maxBytes`: a regular file only (opened with O_NONBLOCK, so a FIFO or a
 * device is refused by its type rather than waited on), refused when larger. The message is the
 * reason alone (an errno code, "not a regular file", "larger than N bytes"): callers say which file.
 */
export function readSmallFile(path: string, maxBytes: number, o: SmallFileOptions = {}): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (o.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    throw new SmallFileError((err as NodeJS.ErrnoException).code ?? 'cannot open');
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new SmallFileError('not a regular file', true);
    if (stat.size > maxBytes) throw new SmallFileError(`larger than ${maxBytes} bytes`, true);
    // One byte more than the cap: a file that grew since fstat is refused, not cut short.
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > maxBytes) throw new SmallFileError(`larger than ${maxBytes} bytes`, true);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** A short reason for a failed read, whichever way it failed. */
export function readFailure(err: unknown): string {
  return err instanceof SmallFileError ? err.message : ((err as NodeJS.ErrnoException).code ?? String(err));
}
