/**
 * `amadeus probe` against a server that accepts the connection and never answers (a wedged
 * process, a proxy with nothing behind it): every call has a deadline, so a poll fails with a short
 * DEADLINE_EXCEEDED line instead of hanging, and --watch reports it and polls again.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { type CliProcess, killCli, runCli } from '../test-support/process.js';

let silent: Server;
const sockets = new Set<Socket>();
let address: string;

beforeAll(async () => {
  // Accepts, reads nothing back, writes nothing: not even the HTTP/2 settings frame.
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

let proc: CliProcess | undefined;
afterEach(async () => {
  await killCli(proc);
  proc = undefined;
});

test('one poll gives up after the default 10 s, says so in one line, and exits 1', async () => {
  const started = Date.now();
  proc = runCli(['probe', '--address', address]);
  expect(await proc.exited).toBe(1);
  expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
  expect(proc.logs).toHaveLength(1);
  expect(proc.logs[0]).toMatchObject({
    scaledObject: 'default/amadeus-demo',
    error: { code: 'DEADLINE_EXCEEDED', details: `GetMetricSpec: no answer from ${address} within 10 s (--timeout)` },
  });
  expect(sockets.size).toBeGreaterThan(0); // it did connect: the server accepted and stayed silent
}, 30_000);

test('--watch reports each expired poll and keeps polling', async () => {
  proc = runCli(['probe', '--address', address, '--watch', '--interval', '1', '--timeout', '0.5']);
  await proc.waitForLog(() => proc!.logs.length >= 2, 15_000, 'two polls');
  for (const line of proc.logs.slice(0, 2)) {
    expect(line.error).toEqual({ code: 'DEADLINE_EXCEEDED', details: `GetMetricSpec: no answer from ${address} within 0.5 s (--timeout)` });
  }
  expect(proc.child.exitCode).toBeNull(); // still watching
}, 30_000);

test('--timeout is validated like every option', async () => {
  for (const bad of ['0', '-1', '301', 'x']) {
    proc = runCli(['probe', '--address', address, '--timeout', bad]);
    expect(await proc.exited).toBe(2);
    expect(proc.stderr()).toContain('--timeout');
    expect(proc.stderr()).toContain('a number >= 0.1 and <= 300');
  }
}, 30_000);
