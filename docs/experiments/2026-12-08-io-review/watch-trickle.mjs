// BoundedWatch (the healer's pod watch) against a stream trickling one byte per packet with no
// newline: every chunk is kept (pending) until the line ends or passes 32 MiB, for up to the watch's life.
import { spawn } from 'node:child_process';
import { KubeConfig } from '@kubernetes/client-node';
import { BoundedWatch } from './dist/healer/kube.js';
const secs = Number(process.argv[2] ?? 20);
const srv = spawn(process.execPath, ['watch-trickle-server.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((r) => srv.stdout.once('data', (d) => r(Number(String(d).trim()))));
const kc = new KubeConfig();
kc.loadFromOptions({ clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }], users: [{ name: 'u', token: 't' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
global.gc(); const m0 = process.memoryUsage();
const ended = new Promise((resolve) => void new BoundedWatch(kc, { timeoutSeconds: () => 600 }).watch('/api/v1/pods', {}, () => {}, resolve).then((c) => (globalThis.ctl = c)));
await new Promise((r) => setTimeout(r, secs * 1000));
global.gc(); const m1 = process.memoryUsage();
const mb = (x) => Math.round(x / 2 ** 20);
console.log(`after ${secs} s of a trickled line: heapUsed +${mb(m1.heapUsed - m0.heapUsed)} MiB, external+arrayBuffers +${mb(m1.external - m0.external + m1.arrayBuffers - m0.arrayBuffers)} MiB, rss ${mb(m1.rss)} MiB; watch still open: ${!(await Promise.race([ended.then(() => true), new Promise((r) => setTimeout(() => r(false), 10))]))}`);
globalThis.ctl?.abort(); srv.kill(); process.exit(0);
