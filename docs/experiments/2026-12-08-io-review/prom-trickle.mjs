// One trigger's Prometheus read (timeoutSeconds 60, a 10,000-minute window: a 1.5 MB answer cap)
// against a server (serverAddress is the ScaledObject's) that sends its answer one byte per packet.
import { spawn } from 'node:child_process';
import { createPrometheusClient } from './dist/sources/prometheus-client.js';
const secs = Number(process.argv[2] ?? 20);
const srv = spawn(process.execPath, ['prom-trickle-server.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((r) => srv.stdout.once('data', (d) => r(Number(String(d).trim()))));
const c = createPrometheusClient({ serverAddress: `http://127.0.0.1:${port}`, prometheusUnsafeSsl: false, timeoutSeconds: 60 });
global.gc(); const m0 = process.memoryUsage();
const now = Math.floor(Date.now() / 60000) * 60000;
const p = c.minutes('up', now - 10000 * 60000, 10000).then(() => 'answered', (e) => `failed: ${e.reason}`);
await new Promise((r) => setTimeout(r, secs * 1000));
global.gc(); const m1 = process.memoryUsage();
const mb = (x) => Math.round(x / 2 ** 20);
console.log(`after ${secs} s of one request: heapUsed +${mb(m1.heapUsed - m0.heapUsed)} MiB, rss ${mb(m1.rss)} MiB; still pending: ${await Promise.race([p.then(() => false), new Promise((r) => setTimeout(() => r(true), 10))])}`);
c.close(); srv.kill(); setTimeout(() => process.exit(0), 200);
