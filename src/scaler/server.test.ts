/**
 * The gRPC server over real loopback sockets, called exactly as KEDA calls it.
 */
import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import type { Forecaster } from '../forecast/types.js';
import { floorMinute, MINUTE_MS } from '../series/minute.js';
import { silentLogger } from '../telemetry/logger.js';
import { generateCerts, type TestCerts } from '../test-support/certs.js';
import { fakeForecaster, fakeSource, manualClock, waitFor, type FakeSource } from '../test-support/fakes.js';
import { healthClient } from '../test-support/health.js';
import { createScalerClient, type ScalerClient } from './client.js';
import { loadExternalScaler, type ScaledObjectRef } from './contract.js';
import { createMetadataParser } from './metadata.js';
import { ScaledObjectRegistry } from './registry.js';
import { startScalerServer, type ScalerServer, type TlsFiles } from './server.js';

interface Harness {
  server: ScalerServer;
  registry: ScaledObjectRegistry;
  client: ScalerClient;
  address: string;
  /** The fake source of each ScaledObject, by name; its initial value is `initial[name] ?? 10`. */
  sources: Map<string, FakeSource>;
  stop(): Promise<void>;
}

async function startHarness(
  opts: { initial?: Record<string, number | null>; gated?: string[]; tls?: TlsFiles; maxObjects?: number; ready?: boolean; forecaster?: Forecaster; source?: () => FakeSource } = {},
): Promise<Harness> {
  const sources = new Map<string, FakeSource>();
  const gate = new Promise<void>(() => {}); // never resolves: those objects never get data
  const registry = new ScaledObjectRegistry({
    parseMetadata: createMetadataParser(),
    sourceFor: (_config, ref) => {
      const s = opts.source?.() ?? fakeSource(opts.initial?.[ref.name] === undefined ? 10 : opts.initial[ref.name]!);
      if (opts.gated?.includes(ref.name)) s.gate = gate;
      sources.set(ref.name, s);
      return s;
    },
    forecasterFor: () => opts.forecaster ?? fakeForecaster('holt-winters', 2),
    idleTimeoutMs: 60_000,
    maxObjects: opts.maxObjects ?? 100,
    refreshConcurrency: 4,
    logger: silentLogger,
  });
  const server = await startScalerServer({ address: '127.0.0.1:0', tls: opts.tls, registry, logger: silentLogger });
  if (opts.ready ?? true) server.markReady();
  const address = `127.0.0.1:${server.port}`;
  const client = createScalerClient(address);
  return {
    server,
    registry,
    client,
    address,
    sources,
    async stop() {
      client.close();
      await server.shutdown(2000);
      registry.close();
    },
  };
}

const ref = (name: string, metadata: Record<string, string> = {}): ScaledObjectRef => ({
  name,
  namespace: 'shop',
  // The planner's own margins off, so the values below are the arithmetic of the answer alone.
  scalerMetadata: { scalerAddress: 'amadeus.keda:6000', targetValue: '10', headroom: '0', noiseMargin: '0', surgeNoiseMargin: '0', signals: 'none', ...metadata },
});

async function expectStatus(p: Promise<unknown>, code: grpc.status, details?: string | RegExp): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    expect(grpc.status[e.code]).toBe(grpc.status[code]);
    if (details) expect(e.details).toMatch(details);
    return e;
  }
  throw new Error(`expected gRPC ${grpc.status[code]}, the call succeeded`);
}

/** One KEDA poll: GetMetricSpec, then GetMetrics with the spec's name, then IsActive. */
async function poll(client: ScalerClient, r: ScaledObjectRef) {
  const spec = await client.getMetricSpec(r);
  const metrics = await client.getMetrics(r, spec.metricSpecs[0]!.metricName);
  const active = await client.isActive(r);
  return { spec: spec.metricSpecs, metrics: metrics.metricValues, active: active.result };
}

async function pollUntilPlanned(h: Harness, r: ScaledObjectRef) {
  await h.client.getMetricSpec(r); // registers
  await waitFor(() => h.registry.get(r.namespace, r.name)?.plan != null, 3000, `plan for ${r.name}`);
  return poll(h.client, r);
}

describe('ExternalScaler over gRPC', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.stop();
  });

  test("KEDA's poll pattern for several ScaledObjects at once", async () => {
    h = await startHarness({ initial: { frontend: 40, cart: 7, checkout: 3 } });
    const refs = [
      ref('frontend', { targetValue: '25', headroom: '0.1', metricName: 'frontend-rps' }),
      ref('cart', { targetValue: '2.5' }),
      ref('checkout', { targetValue: '5', mode: 'reactive' }),
    ];
    const results = await Promise.all(refs.map((r) => pollUntilPlanned(h, r)));
    // frontend: forecast 2 × 40 = 80, × 1.1 = 88; target 25 → the HPA wants ceil(88/25) = 4 pods.
    expect(results[0]!.spec).toEqual([{ metricName: 'frontend-rps', targetSize: 25, targetSizeFloat: 25 }]);
    expect(results[0]!.metrics).toEqual([{ metricName: 'frontend-rps', metricValue: 88, metricValueFloat: expect.closeTo(88, 9) }]);
    expect(results[0]!.active).toBe(true);
    // cart: a fractional target is sent exactly as a float, and floored (>= 1) as the deprecated int.
    expect(results[1]!.spec).toEqual([{ metricName: 'amadeus-predicted-load', targetSize: 2, targetSizeFloat: 2.5 }]);
    expect(results[1]!.metrics[0]).toMatchObject({ metricValue: 14, metricValueFloat: 14 });
    // checkout: reactive mode answers the observed value.
    expect(results[2]!.metrics[0]).toMatchObject({ metricValue: 3, metricValueFloat: 3 });
    // A second round of polls answers from the cache, the same values.
    const again = await Promise.all(refs.map((r) => poll(h.client, r)));
    expect(again.map((r) => r.metrics[0]!.metricValueFloat)).toEqual(results.map((r) => r.metrics[0]!.metricValueFloat));
  });

  test('fractional values: the int fields round up the metric and down the target', async () => {
    h = await startHarness({ initial: { api: 1.2 } });
    const r = ref('api', { targetValue: '0.4', mode: 'reactive' });
    const got = await pollUntilPlanned(h, r);
    expect(got.spec[0]).toMatchObject({ targetSize: 1, targetSizeFloat: 0.4 });
    expect(got.metrics[0]).toMatchObject({ metricValue: 2, metricValueFloat: 1.2 });
  });

  test('a zero load answers 0 in both fields and is inactive', async () => {
    h = await startHarness({ initial: { idle: 0 } });
    const got = await pollUntilPlanned(h, ref('idle'));
    expect(got.metrics[0]).toMatchObject({ metricValue: 0, metricValueFloat: 0 });
    expect(got.active).toBe(false);
  });

  test('before any data exists GetMetrics and IsActive are UNAVAILABLE (KEDA fallback), GetMetricSpec still answers', async () => {
    h = await startHarness({ gated: ['cold'] });
    const r = ref('cold');
    expect((await h.client.getMetricSpec(r)).metricSpecs).toHaveLength(1);
    await expectStatus(h.client.getMetrics(r, 'amadeus-predicted-load'), grpc.status.UNAVAILABLE, /no data yet for ScaledObject shop\/cold/);
    await expectStatus(h.client.isActive(r), grpc.status.UNAVAILABLE);
  });

  test('GetMetricSpec answers from metadata even when the registry is full', async () => {
    h = await startHarness({ maxObjects: 1 });
    await h.client.getMetricSpec(ref('one'));
    expect((await h.client.getMetricSpec(ref('two', { targetValue: '7' }))).metricSpecs[0]!.targetSizeFloat).toBe(7);
    await expectStatus(h.client.getMetrics(ref('two'), ''), grpc.status.RESOURCE_EXHAUSTED, /already serving 1 ScaledObjects/);
  });

  test('GetMetrics echoes the requested metric name and defaults it when empty', async () => {
    h = await startHarness();
    const r = ref('named', { metricName: 'mine' });
    await pollUntilPlanned(h, r);
    expect((await h.client.getMetrics(r, 's0-mine')).metricValues[0]!.metricName).toBe('s0-mine');
    expect((await h.client.getMetrics(r, '')).metricValues[0]!.metricName).toBe('mine');
  });

  describe('StreamIsActive', () => {
    test('sends the current state at once, then every change, and stays open', async () => {
      h = await startHarness({ initial: { push: 0 } });
      const r = ref('push', { activationValue: '5' });
      await pollUntilPlanned(h, r);
      const stream = h.client.streamIsActive(r);
      const seen: boolean[] = [];
      stream.on('data', (m: { result: boolean }) => seen.push(m.result));
      stream.on('error', () => {});
      await waitFor(() => seen.length === 1, 3000, 'initial state');
      expect(seen).toEqual([false]);
      h.sources.get('push')!.value = 10; // forecast 20 > 5
      await waitFor(() => seen.length === 2, 3000, 'activation');
      expect(seen).toEqual([false, true]);
      h.sources.get('push')!.value = 0;
      await waitFor(() => seen.length === 3, 3000, 'deactivation');
      expect(seen).toEqual([false, true, false]);
      expect(h.server.openStreams).toBe(1);
      stream.cancel();
    });

    test('a stream opened before any data sends the first state when it exists', async () => {
      h = await startHarness({ initial: { fresh: 10 } });
      const stream = h.client.streamIsActive(ref('fresh'));
      const seen: boolean[] = [];
      stream.on('data', (m: { result: boolean }) => seen.push(m.result));
      stream.on('error', () => {});
      await waitFor(() => seen.length >= 1, 3000, 'first state');
      expect(seen[0]).toBe(true);
      stream.cancel();
    });

    test('a client cancel cleans up the server side', async () => {
      h = await startHarness();
      const stream = h.client.streamIsActive(ref('gone'));
      const errors: grpc.ServiceError[] = [];
      stream.on('error', (e: grpc.ServiceError) => errors.push(e));
      stream.on('data', () => {});
      await waitFor(() => h.server.openStreams === 1, 3000, 'stream open');
      stream.cancel();
      await waitFor(() => h.server.openStreams === 0, 3000, 'server-side cleanup');
      expect(errors[0]?.code).toBe(grpc.status.CANCELLED);
    });

    test('a client whose connection drops cleans up the server side', async () => {
      h = await startHarness();
      // A raw HTTP/2 session we can destroy: closing a grpc-js channel lets its calls run on.
      const { service } = loadExternalScaler();
      const body = service.StreamIsActive!.requestSerialize(ref('dropped'));
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
      frame.writeUInt32BE(body.length, 1);
      const session = http2.connect(`http://${h.address}`);
      session.on('error', () => {});
      const req = session.request({ ':method': 'POST', ':path': '/externalscaler.ExternalScaler/StreamIsActive', 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => {});
      req.on('data', () => {});
      req.end(frame); // a server-streaming call starts once the request half-closes
      await waitFor(() => h.server.openStreams === 1, 3000, 'stream open');
      session.destroy();
      await waitFor(() => h.server.openStreams === 0, 3000, 'server-side cleanup');
    });

    test('shutdown ends open streams with OK and completes', async () => {
      h = await startHarness();
      const stream = h.client.streamIsActive(ref('open'));
      stream.on('data', () => {});
      const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
      stream.on('error', () => {});
      await waitFor(() => h.server.openStreams === 1, 3000, 'stream open');
      const started = Date.now();
      await h.server.shutdown(5000);
      expect(Date.now() - started).toBeLessThan(4000);
      expect((await status).code).toBe(grpc.status.OK);
    });
  });

  describe('INVALID_ARGUMENT', () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['missing targetValue', { targetValue: '' }, /metadata "targetValue" is required: a number >= 0\.001 and <= 1e12/],
      ['zero targetValue', { targetValue: '0' }, /metadata "targetValue" must be a number >= 0\.001 and <= 1e12, got "0"/],
      ['negative activationValue', { activationValue: '-1' }, /metadata "activationValue" must be a number >= 0/],
      ['bad metricName', { metricName: 'a b' }, /metadata "metricName" must be a metric name/],
      ['bad horizonMinutes', { horizonMinutes: '0' }, /metadata "horizonMinutes" must be an integer >= 1 and <= 120/],
      ['bad podStartupSeconds', { podStartupSeconds: '90s' }, /metadata "podStartupSeconds" must be an integer >= 0 and <= 3600, got "90s"/],
      ['bad historyMinutes', { historyMinutes: 'hour' }, /metadata "historyMinutes" must be an integer/],
      ['bad headroom', { headroom: '-1' }, /metadata "headroom" must be a number >= 0 and <= 10/],
      ['bad mode', { mode: 'turbo' }, /metadata "mode" must be one of "predictive", "shadow", "reactive"/],
      ['unknown forecaster', { forecaster: 'crystal-ball' }, /metadata "forecaster" must be one of/],
      ['bad replayScale', { replayScale: '-2' }, /metadata "replayScale" must be a number >= 0\.001 and <= 1e9/],
      ['unknown key', { targetvalue: '5' }, /metadata "targetvalue" is not a known key/],
    ];

    test.each(cases)('%s → every RPC answers INVALID_ARGUMENT naming the key', async (_name, metadata, message) => {
      h = await startHarness();
      const r = ref('bad', metadata);
      await expectStatus(h.client.getMetricSpec(r), grpc.status.INVALID_ARGUMENT, message);
      await expectStatus(h.client.getMetrics(r, 'x'), grpc.status.INVALID_ARGUMENT, message);
      await expectStatus(h.client.isActive(r), grpc.status.INVALID_ARGUMENT, message);
      const stream = h.client.streamIsActive(r);
      stream.on('data', () => {});
      await expectStatus(new Promise((resolve, reject) => stream.on('error', reject).on('end', resolve)), grpc.status.INVALID_ARGUMENT, message);
      expect(h.registry.size).toBe(0);
      expect(h.server.openStreams).toBe(0);
    });

    test('missing name, namespace or scaledObjectRef', async () => {
      h = await startHarness();
      await expectStatus(h.client.getMetricSpec({ ...ref('x'), name: '' }), grpc.status.INVALID_ARGUMENT, /scaledObjectRef.name is required/);
      await expectStatus(h.client.isActive({ ...ref('x'), namespace: '' }), grpc.status.INVALID_ARGUMENT, /scaledObjectRef.namespace is required/);
      const raw = h.client.raw as unknown as { GetMetrics(req: object, cb: (e: grpc.ServiceError | null) => void): void };
      await expectStatus(new Promise((res, rej) => raw.GetMetrics({ metricName: 'x' }, (e) => (e ? rej(e) : res(null)))), grpc.status.INVALID_ARGUMENT, /scaledObjectRef is required/);
    });

    test('the server keeps serving after bad requests', async () => {
      h = await startHarness();
      await expectStatus(h.client.getMetricSpec(ref('bad', { mode: '?' })), grpc.status.INVALID_ARGUMENT);
      expect((await pollUntilPlanned(h, ref('good'))).metrics[0]!.metricValueFloat).toBe(20);
    });
  });

  test('health: NOT_SERVING until ready, SERVING when ready, NOT_SERVING once shutting down', async () => {
    h = await startHarness({ ready: false });
    const health = healthClient(h.address);
    try {
      expect(await health.check('')).toBe('NOT_SERVING');
      expect(await health.check('externalscaler.ExternalScaler')).toBe('NOT_SERVING');
      h.server.markReady();
      expect(await health.check('')).toBe('SERVING');
      expect(await health.check('externalscaler.ExternalScaler')).toBe('SERVING');
      // A Watch stream sees the flip to NOT_SERVING the moment a shutdown starts.
      const watch = health.watch('');
      const statuses: string[] = [];
      watch.on('data', (m: { status: string }) => statuses.push(m.status));
      watch.on('error', () => {});
      await waitFor(() => statuses.length === 1, 3000, 'first watch status');
      const stopping = h.server.shutdown(5000);
      await waitFor(() => statuses.length === 2, 3000, 'status change');
      expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
      watch.cancel();
      await stopping;
    } finally {
      health.close();
    }
  });
});

describe('several replicas behind one Service: KEDA round-robins its calls over them', () => {
  const started: Harness[] = [];
  afterEach(async () => {
    for (const h of started.splice(0)) await h.stop();
  });

  test("a replica whose first forecast is still running (a rollout's new pod loading its model) answers UNAVAILABLE, never the observed load below its peers' plan", async () => {
    const r = ref('web', { activationValue: '15' });
    const a = await startHarness();
    started.push(a);
    // Observed 10, forecast 2 × 10: the plan is 20 and active (> 15).
    expect(await pollUntilPlanned(a, r)).toMatchObject({ metrics: [{ metricValueFloat: 20 }], active: true });
    // The new replica has read the load; its first forecast has not answered yet.
    let release!: () => void;
    const gate = new Promise<void>((res) => (release = res));
    const model = fakeForecaster('holt-winters', 2);
    const forecast = model.forecast.bind(model);
    let asked = 0;
    model.forecast = async (req) => {
      asked++;
      await gate;
      return forecast(req);
    };
    const b = await startHarness({ forecaster: model });
    started.push(b);
    await b.client.getMetricSpec(r);
    await waitFor(() => b.registry.get('shop', 'web')?.observed != null && asked === 1, 3000, "b's first read");
    // KEDA's calls that land on b meanwhile: not 10 and inactive while a answers 20 and active (the
    // HPA would see its metric halve, KEDA the workload go idle), but UNAVAILABLE, which holds both.
    await expectStatus(b.client.getMetrics(r, 'amadeus-predicted-load'), grpc.status.UNAVAILABLE, /no data yet for ScaledObject shop\/web: its first forecast has not answered yet/);
    await expectStatus(b.client.isActive(r), grpc.status.UNAVAILABLE);
    release();
    await waitFor(() => b.registry.get('shop', 'web')?.plan != null, 3000, "b's first plan");
    expect(await poll(b.client, r)).toEqual(await poll(a.client, r));
  });

  test('a replica first asked for a trigger within the refresh offset of a minute (mm:02) answers what its peer planned at the previous offset, not a plan on the minute just ended', async () => {
    // One view of the data for both, on one clock the test moves by hand (a running one had to
    // answer within mm:10 of real-time budget); each minute's load its own, so a plan on another
    // window answers another value.
    const minute = floorMinute(Date.now()) + 10 * MINUTE_MS;
    const clock = manualClock(minute - 3_000);
    const loadOf = (m: number) => 10 + ((m / MINUTE_MS) % 7);
    const source = () => {
      const s = fakeSource(null, 1, clock);
      s.byMinute = loadOf;
      return s;
    };
    const r = ref('web');
    const a = await startHarness({ source });
    started.push(a);
    const planned = await pollUntilPlanned(a, r); // at mm−1:57, on the minutes up to mm−2
    expect(planned.metrics[0]!.metricValueFloat).toBe(2 * loadOf(minute - 2 * MINUTE_MS));
    clock.set(minute + 2_000);
    const b = await startHarness({ source });
    started.push(b);
    const answer = await pollUntilPlanned(b, r); // at mm:02, before mm:10
    expect(answer).toEqual(await poll(a.client, r));
    expect(answer).toEqual(planned);
    // At mm:10 both plan on the minute just ended, alike.
    clock.set(minute + 10_000);
    const moved = 2 * loadOf(minute - MINUTE_MS);
    await waitFor(() => [a, b].every((h) => h.registry.get('shop', 'web')?.plan?.value === moved), 5000, 'both replicas on the window ending at mm');
    expect(await poll(b.client, r)).toEqual(await poll(a.client, r));
  });
});

describe('TLS', () => {
  let certs: TestCerts;
  let h: Harness | undefined;
  beforeAll(() => {
    certs = generateCerts();
  });
  afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  const serverTls = () => ({ certFile: certs.serverCert, keyFile: certs.serverKey });
  const ssl = (ca: string, client = false) =>
    grpc.credentials.createSsl(certs.read(ca), client ? certs.read(certs.clientKey) : null, client ? certs.read(certs.clientCert) : null);

  test('server TLS: a client trusting the CA is served; one trusting another CA is refused', async () => {
    h = await startHarness({ tls: serverTls() });
    const good = createScalerClient(`localhost:${h.server.port}`, ssl(certs.caCert));
    const bad = createScalerClient(`localhost:${h.server.port}`, ssl(certs.otherCaCert));
    const plain = createScalerClient(`localhost:${h.server.port}`);
    try {
      expect((await good.getMetricSpec(ref('tls'))).metricSpecs[0]!.targetSizeFloat).toBe(10);
      await expectStatus(bad.getMetricSpec(ref('tls')), grpc.status.UNAVAILABLE);
      await expectStatus(plain.getMetricSpec(ref('tls')), grpc.status.UNAVAILABLE);
    } finally {
      good.close();
      bad.close();
      plain.close();
    }
  });

  test('mutual TLS: a client with a certificate from the CA is served; one without is refused', async () => {
    h = await startHarness({ tls: { ...serverTls(), clientCaFile: certs.caCert } });
    const withCert = createScalerClient(`localhost:${h.server.port}`, ssl(certs.caCert, true));
    const withoutCert = createScalerClient(`localhost:${h.server.port}`, ssl(certs.caCert));
    try {
      expect((await withCert.getMetricSpec(ref('mtls'))).metricSpecs).toHaveLength(1);
      await expectStatus(withoutCert.getMetricSpec(ref('mtls')), grpc.status.UNAVAILABLE);
    } finally {
      withCert.close();
      withoutCert.close();
    }
  });

  test('unreadable certificate files fail start-up with a clear error', async () => {
    const registry = new ScaledObjectRegistry({
      parseMetadata: createMetadataParser(),
      sourceFor: () => fakeSource(),
      forecasterFor: () => fakeForecaster(),
      idleTimeoutMs: 1000,
      maxObjects: 1,
      refreshConcurrency: 1,
      logger: silentLogger,
    });
    await expect(startScalerServer({ address: '127.0.0.1:0', tls: { certFile: '/nope.crt', keyFile: certs.serverKey }, registry, logger: silentLogger })).rejects.toThrow(
      'cannot read TLS certificate /nope.crt: ENOENT',
    );
    // A key path that is a device (or a FIFO) fails at once with its reason, instead of filling memory or hanging start-up.
    await expect(startScalerServer({ address: '127.0.0.1:0', tls: { certFile: certs.serverCert, keyFile: '/dev/zero' }, registry, logger: silentLogger })).rejects.toThrow(
      'cannot read TLS key /dev/zero: not a regular file',
    );
    registry.close();
  });
});
