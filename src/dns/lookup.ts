/**
 * A host-name lookup for HTTP agents that cannot tie up the process when DNS is slow or down.
 * Node resolves names with getaddrinfo on libuv's thread pool — the pool file reads (weights, model
 * files) also run on — and a lookup has no deadline of its own: with DNS unanswering, every new
 * connection holds a pool thread for the resolver's full timeout and retries. Here one lookup per
 * name is in flight at a time, whoever asks (later askers wait for it), an answer is kept for a few
 * seconds, and each asker gets an error after `deadlineMs` even while the lookup runs on. So a DNS
 * outage occupies one thread per name, not one per connection attempt; and lookups across names
 * share the process's slots (slots.ts), so many black-holed names cannot take every thread.
 * Ground floor: node:dns only.
 */
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { processSlots, type LookupSlots } from './slots.js';

export interface BoundedLookupOptions {
  /** An asker waits at most this long for an answer (default 10 s). */
  deadlineMs?: number;
  /** A successful answer is reused for this long (default 5 s; well below a Service's usual DNS TTL of 30 s). */
  cacheMs?: number;
  /** The resolver (default dns.lookup); tests pass a fake. */
  resolve?: (hostname: string, options: { all: true; family?: number; hints?: number }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;
  now?: () => number;
  /** The lookups in flight this one counts against (default: the process's, shared by every boundedLookup). */
  slots?: LookupSlots;
}

export const LOOKUP_DEFAULTS = { deadlineMs: 10_000, cacheMs: 5_000 } as const;

/** The lookup callback of net.connect: an address and its family, or every address (`all`). */
type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** One asker of a lookup in flight; `settled` once answered or past its deadline. */
type Waiter = ((err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) & { settled?: boolean };

/** A lookup function for http(s).Agent's `lookup` option (net.LookupFunction). */
export type Lookup = (hostname: string, options: LookupOptions, callback: Callback) => void;

/** A lookup error as dns.lookup reports them (code, hostname), for the asker that waited too long. */
function timedOut(hostname: string, ms: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ${dns.TIMEOUT} ${hostname} (no answer in ${ms} ms)`), { code: dns.TIMEOUT, syscall: 'getaddrinfo', hostname });
}

export function boundedLookup(o: BoundedLookupOptions = {}): Lookup {
  const deadlineMs = o.deadlineMs ?? LOOKUP_DEFAULTS.deadlineMs;
  const cacheMs = o.cacheMs ?? LOOKUP_DEFAULTS.cacheMs;
  const resolve = o.resolve ?? ((h, opts, cb) => dns.lookup(h, opts, cb));
  const now = o.now ?? Date.now;
  const slots = o.slots ?? processSlots;
  const answers = new Map<string, { at: number; addresses: LookupAddress[] }>();
  const inFlight = new Map<string, Waiter[]>();

  const deliver = (callback: Callback, options: LookupOptions, err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
    if (err) return callback(err, options.all ? [] : '', undefined);
    if (options.all) return callback(null, addresses);
    // dns.lookup's single answer is its first address (the resolver's order, verbatim by default).
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), '', undefined);
    callback(null, first.address, first.family);
  };

  return (hostname, options, callback) => {
    const family = typeof options.family === 'number' ? options.family : options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : 0;
    const key = `${hostname}|${family}|${options.hints ?? 0}`;
    const cached = answers.get(key);
    if (cached && now() - cached.at < cacheMs) {
      const addresses = cached.addresses;
      // Asynchronously, as dns.lookup answers: a caller may attach its handlers after asking.
      return void process.nextTick(() => deliver(callback, options, null, addresses));
    }
    const waiter: Waiter = (err, addresses) => {
      if (waiter.settled) return;
      waiter.settled = true;
      clearTimeout(timer);
      deliver(callback, options, err, addresses);
    };
    waiter.settled = false;
    const timer = setTimeout(() => {
      waiter.settled = true;
      callback(timedOut(hostname, deadlineMs), options.all ? [] : '', undefined);
    }, deadlineMs);
    timer.unref();
    const waiting = inFlight.get(key);
    if (waiting) return void waiting.push(waiter);
    const waiters = [waiter];
    inFlight.set(key, waiters);
    // Waiting for a slot, every asker gave up: the lookup is dropped, and the next asker starts anew.
    const wanted = () => {
      if (waiters.some((w) => !w.settled)) return true;
      if (inFlight.get(key) === waiters) inFlight.delete(key);
      return false;
    };
    slots.request(hostname, wanted, (release) => {
      const answered = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
        release();
        inFlight.delete(key);
        if (!err) {
          answers.set(key, { at: now(), addresses });
          slots.answered(hostname);
        }
        // Bounded: a few names per process (its Prometheus servers); expired ones are dropped as met.
        for (const [k, a] of answers) if (now() - a.at >= cacheMs) answers.delete(k);
        for (const w of waiters) w(err, addresses ?? []);
      };
      try {
        resolve(hostname, { all: true, family: family || undefined, hints: options.hints }, answered);
      } catch (err) {
        // A resolver that throws (bad arguments) answers every waiter with it, asynchronously, rather
        // than leave the name in flight for good.
        process.nextTick(() => answered(err as NodeJS.ErrnoException, []));
      }
    });
  };
}
