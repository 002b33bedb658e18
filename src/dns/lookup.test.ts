import http from 'node:http';
import type { AddressInfo } from 'node:net';
import dns, { type LookupAddress } from 'node:dns';
import { boundedLookup, type BoundedLookupOptions } from './lookup.js';
import { LookupSlots, processSlots } from './slots.js';

type Resolve = NonNullable<BoundedLookupOptions['resolve']>;

/** A resolver that answers only when told: how many times it was asked, and a way to answer each. */
function heldResolver() {
  const asked: { hostname: string; family?: number; answer(err: NodeJS.ErrnoException | null, addresses?: LookupAddress[]): void }[] = [];
  const resolve: Resolve = (hostname, options, cb) => void asked.push({ hostname, family: options.family, answer: (err, addresses = []) => cb(err, addresses) });
  return { resolve, asked };
}

/** One answer of a lookup: err, address (or addresses), family. */
const ask = (lookup: ReturnType<typeof boundedLookup>, hostname: string, options: { all?: boolean; family?: number } = {}) =>
  new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) => lookup(hostname, options, (err, address, family) => resolve({ err, address, family })));

const ADDRESSES: LookupAddress[] = [
  { address: '10.0.0.7', family: 4 },
  { address: 'fd00::7', family: 6 },
];

test('askers of one name share one lookup in flight, and each gets the answer in the form it asked for', async () => {
  const r = heldResolver();
  const lookup = boundedLookup({ resolve: r.resolve });
  const one = ask(lookup, 'prometheus.monitoring.svc');
  const all = ask(lookup, 'prometheus.monitoring.svc', { all: true });
  const other = ask(lookup, 'thanos.monitoring.svc');
  expect(r.asked.map((a) => a.hostname)).toEqual(['prometheus.monitoring.svc', 'thanos.monitoring.svc']);
  r.asked[0]!.answer(null, ADDRESSES);
  expect(await one).toEqual({ err: null, address: '10.0.0.7', family: 4 });
  expect(await all).toEqual({ err: null, address: ADDRESSES, family: undefined });
  r.asked[1]!.answer(Object.assign(new Error('getaddrinfo ENOTFOUND thanos.monitoring.svc'), { code: 'ENOTFOUND' }));
  expect((await other).err?.code).toBe('ENOTFOUND');
});

test('DNS not answering: one lookup however many ask, each asker fails at its deadline, and the late answer serves the next asker without asking again', async () => {
  const r = heldResolver();
  let now = 0;
  const lookup = boundedLookup({ resolve: r.resolve, deadlineMs: 50, cacheMs: 5000, now: () => now });
  const waits = await Promise.all([1, 2, 3, 4, 5].map(() => ask(lookup, 'prometheus.monitoring.svc')));
  for (const w of waits) {
    expect(w.err?.code).toBe('ETIMEOUT');
    expect(w.err?.message).toBe('getaddrinfo ETIMEOUT prometheus.monitoring.svc (no answer in 50 ms)');
  }
  // Still one lookup (one thread of the pool), however many connections were attempted.
  const sixth = ask(lookup, 'prometheus.monitoring.svc');
  expect(r.asked).toHaveLength(1);
  r.asked[0]!.answer(null, ADDRESSES);
  expect(await sixth).toEqual({ err: null, address: '10.0.0.7', family: 4 });
  now = 4999;
  expect((await ask(lookup, 'prometheus.monitoring.svc')).address).toBe('10.0.0.7');
  expect(r.asked).toHaveLength(1);
  // Past the cache: asked again.
  now = 5000;
  void ask(lookup, 'prometheus.monitoring.svc');
  expect(r.asked).toHaveLength(2);
});

test('a failed lookup is not kept: the next asker asks again', async () => {
  const r = heldResolver();
  const lookup = boundedLookup({ resolve: r.resolve });
  const first = ask(lookup, 'prometheus');
  r.asked[0]!.answer(Object.assign(new Error('getaddrinfo EAI_AGAIN prometheus'), { code: 'EAI_AGAIN' }));
  expect((await first).err?.code).toBe('EAI_AGAIN');
  const second = ask(lookup, 'prometheus');
  expect(r.asked).toHaveLength(2);
  r.asked[1]!.answer(null, ADDRESSES);
  expect((await second).address).toBe('10.0.0.7');
});

test('each address family is its own lookup', async () => {
  const r = heldResolver();
  const lookup = boundedLookup({ resolve: r.resolve });
  void ask(lookup, 'prometheus', { family: 4 });
  void ask(lookup, 'prometheus', { family: 6 });
  void ask(lookup, 'prometheus', { family: 4 });
  expect(r.asked.map((a) => a.family)).toEqual([4, 6]);
});

test('as an http.Agent lookup, with the system resolver: a request to localhost reaches a loopback server', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const resolved: string[] = [];
  const lookup = boundedLookup({ resolve: (hostname, options, cb) => (resolved.push(hostname), dns.lookup(hostname, options, cb)) });
  const agent = new http.Agent({ lookup, family: 4 } as http.AgentOptions);
  try {
    const { port } = server.address() as AddressInfo;
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: 'localhost', port, agent, family: 4 }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(body).toBe('ok');
    expect(resolved).toEqual(['localhost']);
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('a resolver that throws fails its askers with its error, and the next asker asks again', async () => {
  let calls = 0;
  const lookup = boundedLookup({
    resolve: (_h, _o, cb) => {
      if (++calls === 1) throw Object.assign(new TypeError('bad hints'), { code: 'ERR_INVALID_ARG_VALUE' });
      cb(null, ADDRESSES);
    },
  });
  expect((await ask(lookup, 'prometheus')).err?.code).toBe('ERR_INVALID_ARG_VALUE');
  expect((await ask(lookup, 'prometheus')).address).toBe('10.0.0.7');
  expect(calls).toBe(2);
});

// Review 5, D8: one lookup per name bounded nothing across names: 16 black-holed `serverAddress`
// hosts held every libuv pool thread, and every other lookup and file read queued behind them.
describe('lookups across names share bounded slots', () => {
  test('names that never answer take at most the unproven slots; a name that answered before still resolves, and the rest wait', async () => {
    const r = heldResolver();
    const slots = new LookupSlots({ max: 3, maxUnproven: 2 });
    // No answer is reused (cacheMs 0): each ask of prometheus is a lookup of its own.
    const lookup = boundedLookup({ resolve: r.resolve, slots, cacheMs: 0, deadlineMs: 60_000 });
    // prometheus answered once: proven.
    const first = ask(lookup, 'prometheus');
    r.asked[0]!.answer(null, ADDRESSES);
    expect((await first).address).toBe('10.0.0.7');

    const black = [1, 2, 3, 4].map((i) => ask(lookup, `black${i}.example`));
    expect(r.asked.map((a) => a.hostname)).toEqual(['prometheus', 'black1.example', 'black2.example']);
    expect(slots.inFlight).toBe(2);
    // The proven name takes the third slot and resolves while the black-holed ones hang.
    const again = ask(lookup, 'prometheus');
    expect(r.asked.map((a) => a.hostname).at(-1)).toBe('prometheus');
    r.asked.at(-1)!.answer(null, ADDRESSES);
    expect((await again).address).toBe('10.0.0.7');
    // All slots taken (two stuck, one proven busy): a further lookup waits for one.
    await new Promise((resolve) => process.nextTick(resolve));
    const busy = ask(lookup, 'prometheus');
    void ask(lookup, 'new.example');
    expect(r.asked).toHaveLength(5);
    // A stuck one answers at last: its slot goes to the next waiting unproven name, in order.
    r.asked[1]!.answer(Object.assign(new Error('getaddrinfo EAI_AGAIN black1.example'), { code: 'EAI_AGAIN' }));
    expect((await black[0]!).err?.code).toBe('EAI_AGAIN');
    await waitTicks();
    expect(r.asked.map((a) => a.hostname).slice(5)).toEqual(['black3.example']);
    r.asked[4]!.answer(null, ADDRESSES);
    expect((await busy).address).toBe('10.0.0.7');
  });

  test('a lookup whose askers all gave up while it waited for a slot is dropped, never started; the next asker of the name starts anew', async () => {
    const r = heldResolver();
    const slots = new LookupSlots({ max: 1, maxUnproven: 1 });
    const lookup = boundedLookup({ resolve: r.resolve, slots, deadlineMs: 30 });
    const stuck = ask(lookup, 'black.example');
    const queued = await ask(lookup, 'other.example');
    expect(queued.err?.code).toBe('ETIMEOUT');
    expect((await stuck).err?.code).toBe('ETIMEOUT');
    expect(r.asked.map((a) => a.hostname)).toEqual(['black.example']);
    r.asked[0]!.answer(null, ADDRESSES); // the stuck one ends: its slot is free
    await waitTicks();
    expect(r.asked).toHaveLength(1); // other.example nobody awaits: not looked up
    const later = ask(lookup, 'other.example');
    expect(r.asked.map((a) => a.hostname)).toEqual(['black.example', 'other.example']);
    r.asked[1]!.answer(null, ADDRESSES);
    expect((await later).address).toBe('10.0.0.7');
  });

  test('every boundedLookup shares the process\'s slots by default', async () => {
    const r = heldResolver();
    const a = boundedLookup({ resolve: r.resolve, deadlineMs: 20 });
    const b = boundedLookup({ resolve: r.resolve, deadlineMs: 20 });
    const before = processSlots.inFlight;
    const asked = [ask(a, 'x1.example'), ask(b, 'x2.example')];
    expect(processSlots.inFlight).toBe(before + 2);
    for (const q of r.asked) q.answer(null, ADDRESSES);
    await Promise.all(asked);
    await waitTicks();
    expect(processSlots.inFlight).toBe(before);
  });
});

const waitTicks = () => new Promise((resolve) => setImmediate(resolve));
