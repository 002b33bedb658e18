/** Reads a `--trace` file for a command, turning every way it can fail into a usage error. */
import { UsageError } from '../config/options.js';
import { loadTrace, TraceError, type Trace } from '../sources/trace.js';

export function readTrace(file: string): Trace {
  try {
    return loadTrace(file);
  } catch (err) {
    if (err instanceof TraceError) throw new UsageError(`--trace: ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`--trace: no such file "${file}"`);
    if (code === 'EISDIR') throw new UsageError(`--trace: "${file}" is a directory, not a trace file`);
    throw new UsageError(`--trace: cannot read "${file}": ${err instanceof Error ? err.message : String(err)}`);
  }
}
