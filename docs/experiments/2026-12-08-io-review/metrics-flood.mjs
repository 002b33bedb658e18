// The real metrics server (HTTP_LIMITS) at 5000 objects x horizon 10 (defaults but for the object
// count): C concurrent GET /metrics from one client. How long is the event loop (which answers KEDA) held?
import { ScalerMetrics } from './dist/telemetry/metrics.js';
import { startMetricsServer } from './dist/telemetry/http.js';
const N = 5000, H = 10, C = Number(process.argv[2] ?? 20);
const m = new ScalerMetrics({ defaultMetrics: false });
const at = Math.floor(Date.now() / 60000) * 60000;
for (let i = 0; i < N; i++) m.recordRefresh({ namespace: `team-${i % 50}`, name: `shop-frontend-service-${i}`, at, observed: 1, horizon: H, forecast: { values: Array.from({ length: H }, (_, k) => 100 + k), model: 'lstm', gate: { reason: 'ok', mae: { lstm: 1, mean: 2 }, relativeError: { lstm: 1, mean: 2 } } } });
const s = await startMetricsServer({ address: '127.0.0.1:0', metrics: m, ready: () => true });
// The load: a child process, so its own parsing does not count against this event loop.
const { spawn } = await import('node:child_process');
const client = spawn(process.execPath, ['-e', `
  const http = require('node:http'); let done = 0, bytes = 0;
  for (let i = 0; i < ${C}; i++) http.get({ host: '127.0.0.1', port: ${s.port}, path: '/metrics', agent: false }, (r) => { r.on('data', (d) => (bytes += d.length)); r.on('end', () => { if (++done === ${C}) console.log('client: ${C} scrapes, ' + (bytes / 2 ** 20).toFixed(0) + ' MiB received'); }); });
`], { stdio: 'inherit' });
let worst = 0, total = 0, last = performance.now();
const t = setInterval(() => { const n = performance.now(); const g = n - last - 10; if (g > 50) total += g; worst = Math.max(worst, g); last = n; }, 10);
await new Promise((r) => client.on('exit', r));
clearInterval(t);
console.log(`server: longest event-loop stall ${Math.round(worst)} ms, stalled ${Math.round(total)} ms in all; rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);
await s.close();
