import http from 'node:http';
import type { AddressInfo } from 'node:net';
import dns, { type LookupAddress } from 'node:dns';
import { boundedLookup, type BoundedLookupOptions } from './lookup.js';

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
