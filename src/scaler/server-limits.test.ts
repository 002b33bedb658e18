/**
 * The gRPC server under hostile or careless input and at shutdown, over real loopback sockets:
 * error text stays small (a huge trailer makes the client drop the connection its other calls
 * share), keys every object inherits are not ours, absurd numbers are refused, and an open health
 * Watch does not hold a graceful shutdown to its timeout.
 */
import * as grpc from '@grpc/grpc-js';
import { MAX_MESSAGE_LENGTH } from '../config/fields.js';
import { silentLogger } from '../telemetry/logger.js';
import { fakeForecaster, fakeSource, waitFor } from '../test-support/fakes.js';
import { generateCerts } from '../test-support/certs.js';
import { healthClient } from '../test-support/health.js';
import { createScalerClient, type ScalerClient } from './client.js';
import type { GetMetricSpecResponse, ScaledObjectRef } from './contract.js';
import { createMetadataParser } from './metadata.js';
import { ScaledObjectRegistry } from './registry.js';
import { concurrentStreamsFor, MAX_REQUEST_BYTES, serverOptions, startScalerServer, type ScalerServer } from './server.js';
import { StreamSet } from './service.js';

let registry: ScaledObjectRegistry;
let server: ScalerServer;
let client: ScalerClient;
let address: string;

beforeEach(async () => {
  registry = new ScaledObjectRegistry({
    parseMetadata: createMetadataParser(),
    sourceFor: () => fakeSource(10),
    forecasterFor: () => fakeForecaster('holt-winters', 2),
    idleTimeoutMs: 60_000,
    maxObjects: 100,
    refreshConcurrency: 4,
    logger: silentLogger,
  });
  server = await startScalerServer({ address: '127.0.0.1:0', registry, logger: silentLogger });
  server.markReady();
  address = `127.0.0.1:${server.port}`;
  client = createScalerClient(address);
});

afterEach(async () => {
  client.close();
  await server.shutdown(1000);
  registry.close();
});

const ref = (metadata: Record<string, string>, name = 'web'): ScaledObjectRef => ({ name, namespace: 'shop', scalerMetadata: metadata });

/** GetMetricSpec with a deadline: a call on a connection the client gave up on hangs until it. */
function getMetricSpec(r: ScaledObjectRef, deadlineMs = 3000): Promise<GetMetricSpecResponse> {
  const raw = client.raw as unknown as {
    GetMetricSpec(req: ScaledObjectRef, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: GetMetricSpecResponse) => void): void;
  };
  return new Promise((resolve, reject) => raw.GetMetricSpec(r, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (e, res) => (e ? reject(e) : resolve(res))));
}

async function invalid(r: ScaledObjectRef): Promise<string> {
  try {
    await getMetricSpec(r);
  } catch (err) {
    const e = err as grpc.ServiceError;
    expect(grpc.status[e.code]).toBe('INVALID_ARGUMENT');
    return e.details;
  }
  throw new Error('expected INVALID_ARGUMENT, the call succeeded');
}

describe('bad metadata over gRPC', () => {
  test('a 512 KiB value and 10,000 unknown keys: a short INVALID_ARGUMENT naming the field, and the same channel keeps answering promptly', async () => {
    const metadata: Record<string, string> = { targetValue: 'x'.repeat(1 << 19) };
    for (let i = 0; i < 10_000; i++) metadata[`unknownKey${i}`] = String(i);
    const details = await invalid(ref(metadata));
    expect(details.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(details).toMatch(/^metadata "targetValue" must be a number >= 0\.001 and <= 1e12, got "x+\.\.\." \(524288 characters\); metadata "unknownKey0" is not a known key \(known: targetValue, /);
    expect(details).toMatch(/; and \d+ more problems$/);
    // The connection the error went out on still serves, at once (not at a deadline).
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      expect((await getMetricSpec(ref({ targetValue: '10' }), 2000)).metricSpecs[0]!.targetSizeFloat).toBe(10);
      expect(Date.now() - started).toBeLessThan(1000);
    }
  });

  test.each([
    ['query', 'sum(x)' + ' + x'.repeat(5000), 'a PromQL expression returning one series (at most 16,384 characters)'],
    ['passwordFile', 'a/'.repeat(3000), 'the path of a mounted file (at most 4,096 characters)'],
    ['serverAddress', `http://prom/${'p'.repeat(3000)}`, 'an http(s) URL without credentials, query or fragment, e.g. http://prometheus.monitoring:9090 (at most 2,048 characters)'],
  ])('a %s longer than any real one is refused, naming the key and the bound', async (key, value, expected) => {
    const details = await invalid(ref({ targetValue: '10', serverAddress: 'http://prom:9090', query: 'up', [key]: value }));
    expect(details.startsWith(`metadata "${key}" must be ${expected}, got "`)).toBe(true);
  });

  test('a trigger\'s key costs the same whatever KEDA sends: its own 512 KiB connection keys are digested, not kept', async () => {
    const big = { targetValue: '10', caCert: 'c'.repeat(1 << 19) };
    expect((await getMetricSpec(ref(big), 5000)).metricSpecs[0]!.targetSizeFloat).toBe(10);
    await client.getMetrics(ref(big), 'amadeus-predicted-load').catch(() => undefined); // registers it
    const state = registry.get('shop', 'web')!;
    expect(state.key.length).toBeLessThan(200);
    // Still one trigger per metadata: another certificate is another trigger.
    await client.getMetrics(ref({ ...big, caCert: 'd'.repeat(1 << 19) }), 'amadeus-predicted-load').catch(() => undefined);
    expect(registry.triggers('shop', 'web')).toHaveLength(2);
    expect(registry.triggers('shop', 'web').every((t) => t.key.length < 200)).toBe(true);
  });

  test.each([
    ['name', { name: 'w'.repeat(1 << 19), namespace: 'shop' }, "scaledObjectRef.name must be a ScaledObject's name (lowercase letters, digits, '-' and '.', at most 253 characters)"],
    ['namespace', { name: 'web', namespace: 'n'.repeat(1 << 19) }, "scaledObjectRef.namespace must be a namespace (lowercase letters, digits and '-', at most 63 characters)"],
  ])('a 512 KiB %s is refused, naming the field: it would be kept in the trigger\'s key, its logs and its metrics\' labels', async (_field, names, expected) => {
    const r = { ...names, scalerMetadata: { targetValue: '10' } };
    const details = await invalid(r);
    expect(details.startsWith(`${expected}, got "`)).toBe(true);
    expect(details.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    const err = await client.getMetrics(r, 'amadeus-predicted-load').catch((e: grpc.ServiceError) => e);
    expect(grpc.status[(err as grpc.ServiceError).code]).toBe('INVALID_ARGUMENT');
    expect(registry.size).toBe(0);
    // Kubernetes's own longest names are served.
    expect((await getMetricSpec({ name: 'w'.repeat(253), namespace: 'n'.repeat(63), scalerMetadata: { targetValue: '10' } })).metricSpecs[0]!.targetSizeFloat).toBe(10);
  });

  test("names Kubernetes would not give are refused, naming the field: a '/' made namespace a, name b/c and namespace a/b, name c one object", async () => {
    for (const [names, field] of [
      [{ name: 'b/c', namespace: 'a' }, 'name'],
      [{ name: 'c', namespace: 'a/b' }, 'namespace'],
      [{ name: 'Web', namespace: 'shop' }, 'name'],
      [{ name: 'web', namespace: 'my.shop' }, 'namespace'],
      [{ name: '-web', namespace: 'shop' }, 'name'],
    ] as const) {
      const details = await invalid({ ...names, scalerMetadata: { targetValue: '10' } });
      expect(details.startsWith(`scaledObjectRef.${field} must be a`)).toBe(true);
    }
    expect(registry.size).toBe(0);
    // A dotted name is a ScaledObject's name all the same.
    expect((await getMetricSpec({ name: 'web.v2-canary', namespace: 'shop-1', scalerMetadata: { targetValue: '10' } })).metricSpecs[0]!.targetSizeFloat).toBe(10);
  });

  test('StreamIsActive calls are bounded: one past maxStreams is RESOURCE_EXHAUSTED, and a closed one frees its place', async () => {
    const small = await startScalerServer({ address: '127.0.0.1:0', registry, logger: silentLogger, maxStreams: 2 });
    small.markReady();
    const c = createScalerClient(`127.0.0.1:${small.port}`);
    const open = (name: string) => {
      const call = c.streamIsActive(ref({ targetValue: '10' }, name));
      const first = new Promise<unknown>((resolve) => {
        call.on('data', (d: unknown) => resolve(d));
        call.on('error', (e: unknown) => resolve(e));
      });
      return { call, first };
    };
    try {
      const a = open('a');
      const b = open('b');
      expect(await a.first).toEqual({ result: true });
      expect(await b.first).toEqual({ result: true });
      const third = open('c');
      expect(await third.first).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/already 2 open StreamIsActive calls/) });
      a.call.cancel();
      await waitFor(() => small.openStreams === 1, 5000, 'the cancelled stream closed');
      const d = open('d');
      expect(await d.first).toEqual({ result: true });
      b.call.cancel();
      d.call.cancel();
    } finally {
      c.close();
      await small.shutdown(1000);
    }
  });

  test('the streams\' character budget grows with the streams allowed: a large --max-objects does not turn its own streams away', () => {
    expect(new StreamSet().maxChars).toBe(64 * 1024 * 1024);
    expect(new StreamSet(2).maxChars).toBe(64 * 1024 * 1024);
    expect(new StreamSet(200_000).maxChars).toBe(200_000 * 4096); // --max-objects 100000
  });

  test('StreamIsActive calls hold their requests for their life: past the characters they may hold together, RESOURCE_EXHAUSTED, and a closed one frees its share', async () => {
    // Requests of 512 KiB (KEDA's own connection keys pass through unchecked), a budget of 1.25 MiB.
    const small = await startScalerServer({ address: '127.0.0.1:0', registry, logger: silentLogger, maxStreamChars: 2.5 * (1 << 19) });
    small.markReady();
    const c = createScalerClient(`127.0.0.1:${small.port}`);
    const open = (name: string, fill: string) => {
      const call = c.streamIsActive(ref({ targetValue: '10', caCert: fill.repeat(1 << 19) }, name));
      const first = new Promise<unknown>((resolve) => {
        call.on('data', (d: unknown) => resolve(d));
        call.on('error', (e: unknown) => resolve(e));
      });
      return { call, first };
    };
    try {
      const a = open('a', 'a');
      const b = open('b', 'b');
      expect(await a.first).toEqual({ result: true });
      expect(await b.first).toEqual({ result: true });
      const third = open('c', 'c');
      expect(await third.first).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED, details: expect.stringMatching(/^the open StreamIsActive calls hold 1048\d{3} characters of requests and this one 524\d{3}: more than the 1310720 they may hold together$/) });
      expect(small.openStreams).toBe(2);
      // A small one still fits; and a closed big one frees its share.
      const d = open('d', '');
      expect(await d.first).toEqual({ result: true });
      a.call.cancel();
      await waitFor(() => small.openStreams === 2, 5000, 'the cancelled stream closed');
      const e = open('e', 'e');
      expect(await e.first).toEqual({ result: true });
      for (const x of [b, d, e]) x.call.cancel();
    } finally {
      c.close();
      await small.shutdown(1000);
    }
  });

  test.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('%s (inherited by every object) is an unknown key', async (key) => {
    // JSON.parse makes "__proto__" an own key; protobufjs sends and decodes it as one.
    const metadata = JSON.parse(`{"targetValue": "10", ${JSON.stringify(key)}: "1"}`) as Record<string, string>;
    expect(await invalid(ref(metadata))).toMatch(new RegExp(`^metadata "${key}" is not a known key \\(known: `));
  });

  test.each([
    ['targetValue', '1e-320', 'a number >= 0.001 and <= 1e12'],
    ['targetValue', '0.0001', 'a number >= 0.001 and <= 1e12'],
    ['targetValue', '1e300', 'a number >= 0.001 and <= 1e12'],
    ['activationValue', '1e300', 'a number >= 0 and <= 1e12'],
    ['timeoutSeconds', '1e-300', 'a number >= 0.1 and <= 300'],
    ['timeoutSeconds', '0.01', 'a number >= 0.1 and <= 300'],
    ['replayScale', '1e-300', 'a number >= 0.001 and <= 1e9'],
  ])('%s=%s is refused, naming the key and its range', async (key, value, expected) => {
    expect(await invalid(ref({ targetValue: '10', [key]: value }))).toBe(`metadata "${key}" must be ${expected}, got "${value}"`);
  });

  test('the ends of the ranges are accepted', async () => {
    expect((await getMetricSpec(ref({ targetValue: '0.001', timeoutSeconds: '0.1' }, 'small'))).metricSpecs[0]!.targetSizeFloat).toBe(0.001);
    expect((await getMetricSpec(ref({ targetValue: '1e12', timeoutSeconds: '300' }, 'large'))).metricSpecs[0]!.targetSizeFloat).toBe(1e12);
  });
});

describe('the size of a request', () => {
  const code = (e: unknown) => grpc.status[(e as grpc.ServiceError).code];

  test('one over MAX_REQUEST_BYTES is RESOURCE_EXHAUSTED (grpc-js held each unary request until half-close, up to 4 MiB), and the server keeps serving', async () => {
    const over = { targetValue: '10', caCert: 'c'.repeat(MAX_REQUEST_BYTES) };
    expect(code(await getMetricSpec(ref(over)).catch((e: unknown) => e))).toBe('RESOURCE_EXHAUSTED');
    const stream = client.streamIsActive(ref(over, 'streamed'));
    expect(code(await new Promise((resolve) => stream.on('error', resolve)))).toBe('RESOURCE_EXHAUSTED');
    expect(server.openStreams).toBe(0);
    // The health service shares the server and its limit.
    const health = healthClient(address);
    try {
      expect(code(await health.check('s'.repeat(MAX_REQUEST_BYTES)).catch((e: unknown) => e))).toBe('RESOURCE_EXHAUSTED');
      expect(await health.check('')).toBe('SERVING');
    } finally {
      health.close();
    }
    // The same channel still answers.
    expect((await getMetricSpec(ref({ targetValue: '10' }))).metricSpecs[0]!.targetSizeFloat).toBe(10);
  });

  test("KEDA's metadata with its PEM connection keys (a CA bundle, a client certificate and key) is served", async () => {
    const certs = generateCerts();
    const pem = (f: string) => certs.read(f).toString();
    // A bundle of 150 CAs (~250 KiB, as large as a system bundle), a client certificate and its key.
    const metadata = {
      targetValue: '10',
      scalerAddress: 'amadeus.keda:6000',
      caCert: pem(certs.caCert).repeat(150),
      tlsClientCert: pem(certs.clientCert),
      tlsClientKey: pem(certs.clientKey),
      unsafeSsl: 'false',
    };
    expect(metadata.caCert.length).toBeGreaterThan(150_000);
    expect((await getMetricSpec(ref(metadata))).metricSpecs[0]!.targetSizeFloat).toBe(10);
    const stream = client.streamIsActive(ref(metadata));
    stream.on('error', () => {});
    expect(await new Promise((resolve) => stream.on('data', resolve))).toEqual({ result: true });
    stream.cancel();
  });

  test('every StreamIsActive allowed, every health Watch and room for unary calls fit on one connection; its HTTP/2 session memory is bounded', () => {
    for (const maxStreams of [2, 10_000, 2_000_000]) {
      const o = serverOptions(undefined, maxStreams);
      expect(o['grpc.max_concurrent_streams']).toBe(concurrentStreamsFor(maxStreams));
      expect(concurrentStreamsFor(maxStreams)).toBeGreaterThanOrEqual(maxStreams + 256 + 1000);
      const mb = o['grpc-node.max_session_memory'] as number;
      // grpc-js lifts it to MAX_SAFE_INTEGER unless it is set; Node counts ~1 KB a stream.
      expect(Number.isSafeInteger(mb) && mb >= 10 + concurrentStreamsFor(maxStreams) / 1000 && mb < 10 + concurrentStreamsFor(maxStreams) / 100).toBe(true);
    }
    expect(serverOptions()['grpc.max_receive_message_length']).toBe(MAX_REQUEST_BYTES);
  });
});

describe('graceful shutdown', () => {
  test('open health Watch streams are told NOT_SERVING and ended: the shutdown does not wait for its timeout', async () => {
    const health = healthClient(address);
    const watches = ['', 'externalscaler.ExternalScaler'].map((service) => {
      const stream = health.watch(service);
      const seen: string[] = [];
      stream.on('data', (m: { status: string }) => seen.push(m.status));
      stream.on('error', () => {});
      const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
      return { seen, status };
    });
    // A StreamIsActive too, as KEDA holds one.
    const scalerStream = client.streamIsActive(ref({ targetValue: '10' }));
    scalerStream.on('error', () => {});
    scalerStream.on('data', () => {});
    const scalerStatus = new Promise<grpc.StatusObject>((resolve) => scalerStream.on('status', resolve));
    await waitFor(() => watches.every((w) => w.seen.length === 1) && server.openStreams === 1, 3000, 'the watches and the stream open');

    const timeoutMs = 5000;
    const started = Date.now();
    await server.shutdown(timeoutMs);
    const took = Date.now() - started;
    expect(took).toBeLessThan(timeoutMs / 2.5); // well before the timeout (before: the whole 5 s)
    for (const w of watches) {
      expect(w.seen).toEqual(['SERVING', 'NOT_SERVING']);
      expect((await w.status).code).toBe(grpc.status.OK); // ended by the server, not cut
    }
    expect((await scalerStatus).code).toBe(grpc.status.OK);
    expect(server.health.openWatches).toBe(0);
    health.close();
  });

  test('markReady after a shutdown started leaves health NOT_SERVING', async () => {
    const stopping = server.shutdown(1000);
    server.markReady();
    expect(server.ready).toBe(false);
    expect(server.health.status('')).toBe('NOT_SERVING');
    await stopping;
  });
});

describe('a request that never arrives whole', () => {
  test('is ended with DEADLINE_EXCEEDED and its stream reset after requestReceiveMs (grpc-js would hold it while the connection lives); a request sent whole is answered as ever', async () => {
    const http2 = await import('node:http2');
    const held = await startScalerServer({ address: '127.0.0.1:0', registry, logger: silentLogger, requestReceiveMs: 300 });
    held.markReady();
    const session = http2.connect(`http://127.0.0.1:${held.port}`);
    session.on('error', () => {});
    // ScaledObjectRef { name: 'web' }, framed as gRPC: a whole message, but the client never half-closes.
    const body = Buffer.from([0x0a, 3, ...Buffer.from('web')]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length]), body]);
    const calls = Array.from({ length: 20 }, () => {
      const st = session.request({ ':method': 'POST', ':path': '/externalscaler.ExternalScaler/IsActive', 'content-type': 'application/grpc', te: 'trailers' });
      const seen = { status: '', closed: false };
      st.on('response', (h) => (seen.status = String(h['grpc-status'] ?? '')));
      st.on('close', () => (seen.closed = true));
      st.on('error', () => {});
      st.write(frame); // no end()
      return seen;
    });
    try {
      await waitFor(() => calls.every((c) => c.closed), 5000, 'the held calls ended by the server');
      expect(calls.every((c) => c.status === String(grpc.status.DEADLINE_EXCEEDED))).toBe(true);
      // The same connection still works for a whole request.
      const ok = createScalerClient(`127.0.0.1:${held.port}`);
      try {
        await expect(new Promise((resolve, reject) => (ok.raw as unknown as { GetMetricSpec(r: ScaledObjectRef, cb: (e: Error | null, r: unknown) => void): void }).GetMetricSpec(ref({ targetValue: '5' }), (e, r) => (e ? reject(e) : resolve(r))))).resolves.toBeDefined();
      } finally {
        ok.close();
      }
    } finally {
      session.destroy();
      await held.shutdown(1000);
    }
  });
});
