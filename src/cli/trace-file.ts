/** Reads a trace file named by `flag` (`--trace`, `--replay-trace`), turning every way it can fail into a usage error naming the flag. */
import { UsageError } from '../config/options.js';
import { loadTrace, TraceError, type Trace } from '../sources/trace.js';

export function readTrace(file: string, flag = '--trace'): Trace {
  try {
    return loadTrace(file);
  } catch (err) {
    if (err instanceof TraceError) throw new UsageError(`${flag}: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${flag}: no such file "${file}"`);
    if (code === 'EISDIR') throw new UsageError(`${flag}: "${file}" is a directory, not a trace file`);
    throw new UsageError(`${flag}: cannot read "${file}": ${err instanceof Error ? err.message : String(err)}`);
  }
}
