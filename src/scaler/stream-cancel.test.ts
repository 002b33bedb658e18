/**
 * StreamIsActive calls cancelled at every moment of their opening, over real loopback sockets:
 * each must give back its place, its registry subscription, and leave the trigger forgettable.
 */
import * as http2 from 'node:http2';
import { service as healthService } from 'grpc-health-check';
import { silentLogger } from '../telemetry/logger.js';
import { fakeForecaster, fakeSource, waitFor } from '../test-support/fakes.js';
import { startFrameRelay, type FrameRelay } from '../test-support/h2-frame-relay.js';
import { healthClient } from '../test-support/health.js';
import { createScalerClient } from './client.js';
import { loadExternalScaler, type ScaledObjectRef } from './contract.js';
import { createMetadataParser } from './metadata.js';
import { ScaledObjectRegistry } from './registry.js';
import { startScalerServer, type ScalerServer } from './server.js';

const ref = (name: string): ScaledObjectRef => ({ name, namespace: 'shop', scalerMetadata: { scalerAddress: 'amadeus.keda:6000', targetValue: '10' } });

let registry: ScaledObjectRegistry;
let server: ScalerServer;
let relay: FrameRelay;

beforeEach(async () => {
  registry = new ScaledObjectRegistry({
    parseMetadata: createMetadataParser(),
    sourceFor: () => fakeSource(10),
    forecasterFor: () => fakeForecaster('holt-winters', 2),
    idleTimeoutMs: 2000,
    maxObjects: 100,
    refreshConcurrency: 4,
    logger: silentLogger,
  });
  server = await startScalerServer({ address: '127.0.0.1:0', registry, logger: silentLogger });
  server.markReady();
  relay = await startFrameRelay(server.port);
});

afterEach(async () => {
  relay.close();
  await server.shutdown(2000);
  registry.close();
});

/** Subscriptions the registry holds for `name`'s trigger (0 once forgotten). */
const subscriptions = (name: string): number => (registry.get('shop', name) as unknown as { listeners?: Map<unknown, unknown> } | undefined)?.listeners?.size ?? 0;

/** Cancel at once (same tick as the call), or after each kind of turn of the event loop. */
const delays: (() => Promise<void>)[] = [
  async () => {},
  () => new Promise((r) => process.nextTick(r)),
  () => new Promise((r) => setImmediate(r)),
  () => new Promise((r) => setTimeout(r, 0)),
  () => new Promise((r) => setTimeout(r, 1)),
  () => new Promise((r) => setTimeout(r, 3)),
];

const streamsWithoutReset = (): number[] => [...relay.fromClient].filter(([id, frames]) => id > 0 && !frames.some((f) => f.type === 'RST_STREAM')).map(([id]) => id);

test('our client cancelling StreamIsActive in the tick it opens it, or any moment later, resets the stream: the server frees it, its subscription, and forgets the idle trigger', async () => {
  const client = createScalerClient(`127.0.0.1:${relay.port}`);
  try {
    // A first stream, so the connection is up and the trigger planned: later streams get a state at once.
    const warm = client.streamIsActive(ref('web'));
    warm.on('error', () => {});
    await new Promise((r) => warm.on('data', r));
    warm.cancel();
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          const call = client.streamIsActive(ref('web'));
          call.on('error', () => {});
          call.on('data', () => {});
          if (i % delays.length === 0) call.cancel(); // the same tick as the call: grpc-js alone sent no RST_STREAM
          else {
            await delays[i % delays.length]!();
            call.cancel();
          }
        }),
      );
    }
    await waitFor(() => server.openStreams === 0 && subscriptions('web') === 0, 5000, `streams closed (open ${server.openStreams}, subscriptions ${subscriptions('web')})`);
    expect(streamsWithoutReset()).toEqual([]);
    // No stream and no call left: the trigger is forgotten after the idle timeout.
    await waitFor(() => registry.get('shop', 'web') === undefined, 6000, 'the idle trigger forgotten');
  } finally {
    client.close();
  }
}, 20_000);

test('our health client cancelling Watch in the tick it opens it, or any moment later, resets the stream: the server keeps no watch', async () => {
  const health = healthClient(`127.0.0.1:${relay.port}`);
  try {
    await health.check('');
    const before = new Set(relay.fromClient.keys()); // the Check, which ended without a reset
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          const call = health.watch('');
          call.on('error', () => {});
          call.on('data', () => {});
          if (i % delays.length === 0) call.cancel();
          else {
            await delays[i % delays.length]!();
            call.cancel();
          }
        }),
      );
    }
    await waitFor(() => server.health.openWatches === 0, 5000, `watches closed (open ${server.health.openWatches})`);
    expect(streamsWithoutReset().filter((id) => !before.has(id))).toEqual([]);
  } finally {
    health.close();
  }
}, 20_000);

/** Opens `count` calls of `path` on one HTTP/2 session, resetting each (RST_STREAM CANCEL) as Go does: with the request or at a moment after. */
async function openAndReset(path: string, request: Buffer, rounds: number): Promise<http2.ClientHttp2Session> {
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), request]);
  frame.writeUInt32BE(request.length, 1);
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  session.on('error', () => {});
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
        req.on('error', () => {});
        req.on('data', () => {});
        // A third reset before the request half-closes (the handler never runs), the rest after.
        if (i % 3 === 0) req.write(frame);
        else req.end(frame);
        await delays[i % delays.length]!();
        req.close(http2.constants.NGHTTP2_CANCEL);
      }),
    );
  }
  return session;
}

test('clients resetting StreamIsActive and health Watch as Go does (RST_STREAM CANCEL), with the request or at any moment after, leave nothing behind', async () => {
  const { service } = loadExternalScaler();
  // 900 resets a session: Node's HTTP/2 server ends a connection past about 1,000 quick ones (its rapid-reset guard).
  const scaler = await openAndReset('/externalscaler.ExternalScaler/StreamIsActive', service.StreamIsActive!.requestSerialize(ref('raw')), 15);
  const watch = await openAndReset(healthService.Watch.path, healthService.Watch.requestSerialize({ service: '' }), 15);
  try {
    await waitFor(() => server.openStreams === 0 && subscriptions('raw') === 0 && server.health.openWatches === 0, 5000, `streams closed (open ${server.openStreams}, subscriptions ${subscriptions('raw')}, watches ${server.health.openWatches})`);
    expect([scaler.closed, watch.closed]).toEqual([false, false]);
  } finally {
    scaler.destroy();
    watch.destroy();
  }
}, 20_000);
