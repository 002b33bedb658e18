// The real scaler gRPC server (serverOptions as serve uses them) with a stub registry; prints its port,
// then its RSS and how many handlers ran, once a second.
import { startScalerServer } from './dist/scaler/server.js';
import { silentLogger } from './dist/telemetry/logger.js';
let calls = 0;
const registry = { touch() { calls++; throw new Error('not reached'); }, configOf() { throw new Error('x'); } };
const s = await startScalerServer({ address: '127.0.0.1:0', registry, logger: silentLogger });
console.log(JSON.stringify({ port: s.port }));
setInterval(() => console.log(JSON.stringify({ rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20), arrayBuffersMiB: Math.round(process.memoryUsage().arrayBuffers / 2 ** 20), handlersRun: calls })), 1000);
