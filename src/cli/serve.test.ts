/**
 * `amadeus serve` as a real process: start-up, configuration errors, the embedded demo, and a
 * SIGTERM while KEDA holds a stream open.
 */
import * as grpc from '@grpc/grpc-js';
import { rmSync } from 'node:fs';
import { generateCerts } from '../test-support/certs.js';
import { createScalerClient } from '../scaler/client.js';
import { waitFor } from '../test-support/fakes.js';
import { healthClient } from '../test-support/health.js';
import { type CliProcess, killCli, runCli } from '../test-support/process.js';

const listening = (l: Record<string, unknown>) => l.msg === 'gRPC server listening';

describe('amadeus serve (process)', () => {
  let proc: CliProcess | undefined;
  afterEach(async () => {
    await killCli(proc);
    proc = undefined;
  });

  test('serves the demo on the embedded replay source, logs each refresh, and stops gracefully on SIGTERM with a stream open', async () => {
    proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--demo', '--address', '127.0.0.1:0']);
    const port = (await proc.waitForLog(listening)).port as number;
    const address = `127.0.0.1:${port}`;
    const refresh = await proc.waitForLog((l) => l.msg === 'refresh' && l.scaledObject === 'default/amadeus-demo', 10_000, 'demo refresh');
    // The replay source is on, and says so.
    expect(proc.logs).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'replay source on: triggers without a query are served synthetic load (for demos and tests, never production)', by: '--demo' }));
    // The default forecaster is `auto`: the shipped LSTM, gated by live accuracy (warming up at first).
    expect(refresh).toMatchObject({ level: 'info', reason: expect.any(String), model: 'lstm', gate: 'warming-up' });
    expect(refresh.observed).toBeGreaterThan(0);
    expect((refresh.forecast as number[]).length).toBe(10);
    expect(refresh.planned).toBeGreaterThanOrEqual(refresh.observed as number);

    // Metrics on their own port: the demo's planned value, and readiness.
    const metricsPort = (await proc.waitForLog((l) => l.msg === 'metrics listening')).port as number;
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/^amadeus_planned_value\{namespace="default",scaledobject="amadeus-demo"\} \d/m);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);

    const health = healthClient(address);
    expect(await health.check('externalscaler.ExternalScaler')).toBe('SERVING');
    health.close();

    const client = createScalerClient(address);
    const r = { name: 'web', namespace: 'shop', scalerMetadata: { targetValue: '10' } };
    expect((await client.getMetricSpec(r)).metricSpecs[0]!.targetSizeFloat).toBe(10);
    const stream = client.streamIsActive(r);
    const seen: boolean[] = [];
    stream.on('data', (m: { result: boolean }) => seen.push(m.result));
    stream.on('error', () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    await waitFor(() => seen.length >= 1, 10_000, 'the stream\'s first state'); // the stream is open on the server
    const started = Date.now();
    proc.child.kill('SIGTERM');
    expect((await status).code).toBe(grpc.status.OK); // ended by the server, not cut
    expect(await proc.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000); // within --shutdown-timeout (default 10 s)
    expect(seen).toEqual([true]); // one state: activity did not change
    expect(proc.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM' && l.openStreams === 1)).toBe(true);
    expect(proc.logs.at(-1)).toMatchObject({ msg: 'stopped' });
    client.close();
  });

  test('SIGTERM with a health Watch open stops well before --shutdown-timeout (the Watch is ended, not waited for)', async () => {
    proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--address', '127.0.0.1:0', '--shutdown-timeout', '5', '--fine-tune', 'false', '--no-inference-worker', '--heal', 'off']);
    const port = (await proc.waitForLog(listening, 15_000)).port as number;
    await proc.waitForLog((l) => l.msg === 'ready', 10_000, 'ready');
    const health = healthClient(`127.0.0.1:${port}`);
    const watch = health.watch('');
    const seen: string[] = [];
    watch.on('data', (m: { status: string }) => seen.push(m.status));
    watch.on('error', () => {});
    const status = new Promise<grpc.StatusObject>((resolve) => watch.on('status', resolve));
    await waitFor(() => seen.length === 1, 5000, 'the Watch open');
    const started = Date.now();
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000); // the exit, before --shutdown-timeout even passed
    expect((await status).code).toBe(grpc.status.OK); // the server ended the Watch
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    // The shutdown itself, by the process's own clock: well under the 5 s timeout (it was all of it).
    const at = (msg: string) => Date.parse(proc!.logs.find((l) => l.msg === msg)!.time as string);
    expect(at('stopped') - at('shutting down')).toBeLessThan(2000);
    expect(proc.logs.some((l) => l.msg === 'graceful shutdown timed out; closing remaining calls')).toBe(false);
    health.close();
  });

  // Without --prometheus-url a trigger with no query was served the replay generator's synthetic
  // load, in production too (the base ConfigMap leaves the URL unset).
  test('without --replay, a trigger with no query is INVALID_ARGUMENT naming query and --replay; the ready line says replay is off', async () => {
    proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--address', '127.0.0.1:0', '--fine-tune', 'false', '--no-inference-worker', '--heal', 'off']);
    const port = (await proc.waitForLog(listening, 15_000)).port as number;
    expect(await proc.waitForLog((l) => l.msg === 'ready', 10_000, 'ready')).toMatchObject({ replay: 'off', prometheus: 'each trigger\'s serverAddress' });
    expect(proc.logs.some((l) => l.msg?.toString().startsWith('replay source on'))).toBe(false);
    const client = createScalerClient(`127.0.0.1:${port}`);
    await expect(client.getMetricSpec({ name: 'web', namespace: 'shop', scalerMetadata: { targetValue: '10' } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^metadata "query" is required: .*needs amadeus serve --replay\)$/),
    });
    client.close();
  });

  test('configuration comes from environment variables too, flags winning', async () => {
    proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--demo', '--address', '127.0.0.1:0'], {
      AMADEUS_ADDRESS: 'not-an-address', // overridden by the flag, so never an error
      AMADEUS_REPLAY_SPEED: '600',
      AMADEUS_REFRESH_OFFSET: '5',
      AMADEUS_REFRESH_LOG_LEVEL: 'warn',
      AMADEUS_HEAL_NAMESPACE: 'shop', // misspelt (…_NAMESPACES): warned of, not fatal
      AMADEUS_SOME_OTHER_TOOL: 'x',
    });
    await proc.waitForLog(listening);
    const ignored = proc.logs.filter((l) => l.msg === 'environment variable ignored: no option of amadeus serve reads it');
    expect(ignored).toEqual([
      expect.objectContaining({ level: 'warn', variable: 'AMADEUS_HEAL_NAMESPACE', didYouMean: 'AMADEUS_HEAL_NAMESPACES' }),
      expect.not.objectContaining({ didYouMean: expect.anything() }),
    ]);
    expect(ignored[1]!.variable).toBe('AMADEUS_SOME_OTHER_TOOL');
    const first = await proc.waitForLog((l) => l.msg === 'refresh', 10_000, 'refresh');
    expect(first.level).toBe('warn');
    // A replayed minute every 0.1 s: the next minute's refresh comes within seconds, not a real minute.
    const second = await proc.waitForLog((l) => l.msg === 'refresh' && l !== first, 5_000, 'second refresh');
    const minutes = (Date.parse(second.at as string) - Date.parse(first.at as string)) / 60_000;
    expect(Number.isInteger(minutes) && minutes >= 1).toBe(true); // a later minute (more than one if the first refresh overran)
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });

  test.each([
    [['--refresh-offset', '60'], '--refresh-offset (AMADEUS_REFRESH_OFFSET) must be a number >= 0 and <= 59, got "60"'],
    [['--refresh-interval', '30'], 'unknown option --refresh-interval'],
    [['--replay-start', '2025-02-30T00:00:00Z'], '--replay-start (AMADEUS_REPLAY_START) is not a valid time: "2025-02-30T00:00:00Z"'],
    [['--address', 'nowhere'], '--address (AMADEUS_ADDRESS) must be host:port, the port 0-65535 (0: any free port), got "nowhere"'],
    [['--address', '127.0.0.1:99999'], '--address (AMADEUS_ADDRESS) must be host:port, the port 0-65535 (0: any free port), got "127.0.0.1:99999"'],
    [['--tls-cert', '/x.crt'], 'TLS needs both --tls-cert and --tls-key'],
    [['--heal-pod-selector', 'app in (('], '--heal-pod-selector (AMADEUS_HEAL_POD_SELECTOR) must be a label selector'],
    [['--speed', '2'], 'unknown option --speed'],
    [['--replay-speed'], '--replay-speed needs a value'],
    [['--replay-trace', '/nonexistent/trace.csv'], '--replay-trace: no such file "/nonexistent/trace.csv"'],
  ])('bad configuration %j exits 2 with a clear message', async (args, message) => {
    proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--address', '127.0.0.1:0', ...args]);
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toContain(message);
  });

  // Swapped, they reached gRPC: "cannot listen on …: PEM routines::no start line", exit 1.
  test('a TLS certificate and key swapped exit 2, naming the flags and the files', async () => {
    const certs = generateCerts();
    try {
      proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--address', '127.0.0.1:0', '--tls-cert', certs.serverKey, '--tls-key', certs.serverCert]);
      expect(await proc.exited).toBe(2);
      expect(proc.stderr()).toContain(`--tls-cert (AMADEUS_TLS_CERT): ${certs.serverKey} is not a PEM certificate (it holds a private key: swapped with --tls-key?)`);
    } finally {
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  test('a bad environment variable is named', async () => {
    proc = runCli(['serve'], { AMADEUS_MAX_OBJECTS: 'lots' });
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toContain('--max-objects (AMADEUS_MAX_OBJECTS) must be an integer >= 1 and <= 1e6, got "lots"');
  });

  test('a port in use fails start-up with exit 1 and says why', async () => {
    const first = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--address', '127.0.0.1:0']);
    const port = (await first.waitForLog(listening)).port as number;
    proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--address', `127.0.0.1:${port}`]);
    expect(await proc.exited).toBe(1);
    expect(proc.stderr()).toContain(`cannot listen on 127.0.0.1:${port}`);
    first.child.kill('SIGTERM');
    await first.exited;
  });

  test('amadeus probe polls a running scaler as KEDA does', async () => {
    proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--demo', '--address', '127.0.0.1:0']);
    const port = (await proc.waitForLog(listening)).port as number;
    await proc.waitForLog((l) => l.msg === 'refresh', 10_000, 'demo refresh');
    const probe = runCli(['probe', '--address', `127.0.0.1:${port}`]);
    expect(await probe.exited).toBe(0);
    const line = probe.logs[0]!;
    expect(line).toMatchObject({ scaledObject: 'default/amadeus-demo', metricName: 'amadeus-predicted-load', targetSize: 20, active: true });
    expect(line.desiredReplicas).toBe(Math.ceil((line.metricValue as number) / 20));

    const bad = runCli(['probe', '--address', `127.0.0.1:${port}`, '--name', 'x', '--metadata', 'targetValue=0']);
    expect(await bad.exited).toBe(1);
    expect(bad.logs[0]!.error).toEqual({ code: 'INVALID_ARGUMENT', details: 'metadata "targetValue" must be a number >= 0.001 and <= 1e12, got "0"' });
  });

  test('--help lists every option with its environment variable and default', async () => {
    proc = runCli(['serve', '--metrics-address', '127.0.0.1:0', '--help']);
    expect(await proc.exited).toBe(0);
    const out = proc.logs.map((l) => l.raw).join('\n');
    expect(out).toContain('--refresh-offset VALUE');
    expect(out).toContain('[AMADEUS_REFRESH_OFFSET]');
    expect(out).toContain('default 0.0.0.0:6000');
  });
});
