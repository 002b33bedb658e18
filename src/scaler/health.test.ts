/**
 * The health service over real gRPC on loopback: Watch streams are capped like StreamIsActive, the
 * one past the cap is answered RESOURCE_EXHAUSTED, and a stream's slot is freed however it ends.
 */
import * as grpc from '@grpc/grpc-js';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { waitFor } from '../test-support/fakes.js';
import { healthClient } from '../test-support/health.js';
import { HealthService, MAX_HEALTH_WATCHES, MAX_SERVICE_NAME } from './health.js';

let server: grpc.Server;
let health: HealthService;
let address: string;

beforeEach(async () => {
  server = new grpc.Server();
  health = new HealthService({ '': 'SERVING' });
  health.addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

afterEach(() => {
  health.endWatches();
  server.forceShutdown();
});

interface Watch {
  stream: grpc.ClientReadableStream<{ status: string }>;
  seen: string[];
  status: Promise<grpc.StatusObject>;
}

function watch(client: ReturnType<typeof healthClient>, service = ''): Watch {
  const stream = client.watch(service);
  const seen: string[] = [];
  stream.on('data', (m: { status: string }) => seen.push(m.status));
  stream.on('error', () => {});
  return { stream, seen, status: new Promise((resolve) => stream.on('status', resolve)) };
}

test('the cap is a constant like StreamIsActive\'s', () => {
  expect(MAX_HEALTH_WATCHES).toBe(256);
});

test(`at most ${MAX_HEALTH_WATCHES} Watch streams at once; one more is RESOURCE_EXHAUSTED; a cancelled or ended one frees its slot`, async () => {
  const client = healthClient(address);
  try {
    const open = Array.from({ length: MAX_HEALTH_WATCHES }, () => watch(client));
    await waitFor(() => open.every((w) => w.seen.length === 1), 10_000, 'every watch answered');
    expect(health.openWatches).toBe(MAX_HEALTH_WATCHES);

    const refused = watch(client);
    // Refused, not served: its status comes before (instead of) any status message.
    const first = await Promise.race([refused.status, new Promise<'served'>((resolve) => refused.stream.once('data', () => resolve('served')))]);
    expect(first).not.toBe('served');
    const status = await refused.status;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toBe(`already ${MAX_HEALTH_WATCHES} open health Watch streams (the most at once: ${MAX_HEALTH_WATCHES}); use Check, or end a Watch`);
    expect(refused.seen).toEqual([]);
    expect(health.openWatches).toBe(MAX_HEALTH_WATCHES);
    expect(await client.check('')).toBe('SERVING'); // Check still answers

    // The client cancels one: its slot is freed, and a new Watch is served.
    open[0]!.stream.cancel();
    await waitFor(() => health.openWatches === MAX_HEALTH_WATCHES - 1, 10_000, 'the cancelled watch released');
    const again = watch(client);
    await waitFor(() => again.seen.length === 1, 10_000, 'the new watch answered');
    expect(again.seen).toEqual(['SERVING']);
    expect(health.openWatches).toBe(MAX_HEALTH_WATCHES);
    expect((await watch(client).status).code).toBe(grpc.status.RESOURCE_EXHAUSTED); // full again

    // Status changes still reach every open watch.
    health.setStatus('', 'NOT_SERVING');
    await waitFor(() => again.seen.length === 2 && open[1]!.seen.length === 2, 10_000, 'the change seen');

    // The server ends them all: every slot freed, and Watch serves again.
    expect(health.endWatches()).toBe(MAX_HEALTH_WATCHES);
    expect((await again.status).code).toBe(grpc.status.OK);
    expect(health.openWatches).toBe(0);
    const after = watch(client);
    await waitFor(() => after.seen.length === 1, 10_000, 'a watch after the end');
    expect(after.seen).toEqual(['NOT_SERVING']);
  } finally {
    client.close();
  }
}, 30_000);

test('a client whose connection drops frees its slots', async () => {
  // The client reaches the server through a loopback TCP relay, so the test can cut the connection
  // as a crashed client or a lost node would (client.close() alone leaves open calls running).
  const relayed = new Set<Socket>();
  const relay = createServer((inbound) => {
    const [host, port] = address.split(':');
    const outbound = connect(Number(port), host);
    for (const s of [inbound, outbound]) {
      relayed.add(s);
      s.on('error', () => {});
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const client = healthClient(`127.0.0.1:${(relay.address() as AddressInfo).port}`);
  try {
    const watches = Array.from({ length: 3 }, () => watch(client));
    await waitFor(() => watches.every((w) => w.seen.length === 1), 10_000, 'the watches answered');
    expect(health.openWatches).toBe(3);
    for (const s of relayed) s.destroy();
    await waitFor(() => health.openWatches === 0, 10_000, 'the watches released');
  } finally {
    client.close();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
});

test(`a service name over ${MAX_SERVICE_NAME} characters is INVALID_ARGUMENT, before a Watch is held; the longest allowed is answered as any`, async () => {
  const client = healthClient(address);
  try {
    const long = 's'.repeat(MAX_SERVICE_NAME + 1);
    const refused = watch(client, long);
    const status = await refused.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toBe(`the service name is ${MAX_SERVICE_NAME + 1} characters long; a service's name is at most ${MAX_SERVICE_NAME}`);
    expect(refused.seen).toEqual([]);
    expect(health.openWatches).toBe(0);
    const checked = await client.check('s'.repeat(512 * 1024)).catch((e: grpc.ServiceError) => e);
    expect((checked as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);

    // At the bound: the protocol's answers for an unknown service.
    const atBound = watch(client, 's'.repeat(MAX_SERVICE_NAME));
    await waitFor(() => atBound.seen.length === 1, 10_000, 'the watch at the bound answered');
    expect(atBound.seen).toEqual(['SERVICE_UNKNOWN']);
    expect(health.openWatches).toBe(1);
    expect(((await client.check('s'.repeat(MAX_SERVICE_NAME)).catch((e: grpc.ServiceError) => e)) as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
  } finally {
    client.close();
  }
});
