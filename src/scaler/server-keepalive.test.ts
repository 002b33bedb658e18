/**
 * A KEDA connection that goes silent without closing (its node lost, no FIN) is found by the
 * server's keepalive pings and closed, so its StreamIsActive calls give their places back. Real
 * loopback sockets, through a TCP relay that can stop passing bytes either way while keeping both
 * sockets open: a half-open connection as the server sees it.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { silentLogger } from '../telemetry/logger.js';
import { fakeForecaster, fakeSource, waitFor } from '../test-support/fakes.js';
import { createScalerClient } from './client.js';
import { createMetadataParser } from './metadata.js';
import { ScaledObjectRegistry } from './registry.js';
import { SERVER_KEEPALIVE, serverOptions, startScalerServer } from './server.js';

test('the server pings every connection (KEDA sets no keepalive of its own) and gives a silent one a deadline', () => {
  expect(serverOptions()).toMatchObject({ 'grpc.keepalive_time_ms': SERVER_KEEPALIVE.timeMs, 'grpc.keepalive_timeout_ms': SERVER_KEEPALIVE.timeoutMs });
  // Found within a minute and a half of going silent; not so often that idle KEDA connections churn.
  expect(SERVER_KEEPALIVE.timeMs + SERVER_KEEPALIVE.timeoutMs).toBeLessThanOrEqual(90_000);
  expect(SERVER_KEEPALIVE.timeMs).toBeGreaterThanOrEqual(30_000);
});

/** A TCP relay to `port`; `freeze()` stops it passing bytes without closing anything. */
async function relay(port: number): Promise<{ port: number; freeze(): void; close(): void }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((down) => {
    const up = connect(port, '127.0.0.1');
    sockets.push(down, up);
    down.pipe(up);
    up.pipe(down);
    // The far side going away after the freeze is expected; nothing to report.
    down.on('error', () => undefined);
    up.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('a connection that stops answering is closed at the keepalive deadline, and its StreamIsActive place is freed', async () => {
  const registry = new ScaledObjectRegistry({
    parseMetadata: createMetadataParser(),
    sourceFor: () => fakeSource(10),
    forecasterFor: () => fakeForecaster('holt-winters', 2),
    idleTimeoutMs: 60_000,
    maxObjects: 10,
    refreshConcurrency: 2,
    logger: silentLogger,
  });
  const server = await startScalerServer({ address: '127.0.0.1:0', registry, logger: silentLogger, keepalive: { timeMs: 100, timeoutMs: 100 } });
  server.markReady();
  const link = await relay(server.port);
  const client = createScalerClient(`127.0.0.1:${link.port}`);
  try {
    const stream = client.streamIsActive({ name: 'web', namespace: 'shop', scalerMetadata: { targetValue: '5' } });
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    await waitFor(() => server.openStreams === 1, 5000, 'the stream to open');
    // A connection that answers keeps its stream across many pings.
    await new Promise((r) => setTimeout(r, 600));
    expect(server.openStreams).toBe(1);
    link.freeze();
    const frozenAt = Date.now();
    await waitFor(() => server.openStreams === 0, 5000, 'the silent connection to be closed');
    // One ping interval plus its deadline, with room for a slow machine; not TCP's 15 minutes.
    expect(Date.now() - frozenAt).toBeLessThan(3000);
    stream.cancel();
  } finally {
    client.close();
    link.close();
    await server.shutdown(1000);
    registry.close();
  }
});
