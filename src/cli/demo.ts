/**
 * `--demo` is for a laptop, whose kubeconfig may well point at production: with the healer and the
 * replica Leases on `auto` it took the healer Lease there, watched every pod and would have patched
 * workloads. So it turns both off, unless --heal / --replicas (or their variables) were given.
 */
import { UsageError, type ParsedOptions } from '../config/options.js';
import type { SERVE_OPTIONS } from './options/serve.js';

type Opts = Pick<ParsedOptions<typeof SERVE_OPTIONS>, 'demo' | 'heal' | 'replicas' | 'replay' | 'replayTrace'>;

/**
 * `opts` with --demo's defaults; `off`: the options it turned off (for the log). --no-replay (or
 * AMADEUS_REPLAY=false) beside --demo or --replay-trace, which turn the replay source on, is a
 * contradiction: refused, rather than one of them silently winning.
 */
export function demoDefaults<O extends Opts>(opts: O, given: ReadonlySet<string>): { opts: O; off: ('heal' | 'replicas')[] } {
  if (given.has('replay') && !opts.replay) {
    const by = opts.demo ? '--demo' : opts.replayTrace !== undefined ? '--replay-trace' : null;
    if (by) throw new UsageError(`${by} serves from the replay source: it cannot be given with --no-replay (AMADEUS_REPLAY=false)`);
  }
  if (!opts.demo) return { opts, off: [] };
  const off = (['heal', 'replicas'] as const).filter((k) => !given.has(k) && opts[k] !== 'off');
  const changed = { ...opts };
  for (const k of off) changed[k] = 'off';
  return { opts: changed, off };
}
