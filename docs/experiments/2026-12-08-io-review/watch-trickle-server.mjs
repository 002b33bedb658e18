// A watch stand-in that answers 200 and then sends one byte at a time, never a newline.
import http from 'node:http';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.socket.setNoDelay(true);
  const tick = () => { if (res.destroyed) return; for (let i = 0; i < 1; i++) res.write('x'); total++; setImmediate(tick); };
  tick();
});
setInterval(() => {}, 1000); process.on('SIGTERM', () => { console.error('server sent ' + total + ' bytes'); process.exit(0); }); let total = 0;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
