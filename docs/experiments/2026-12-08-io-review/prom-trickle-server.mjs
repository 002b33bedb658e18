import http from 'node:http';
let total = 0;
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.socket.setNoDelay(true);
  const tick = () => { if (res.destroyed) return; res.write(' '); total++; setImmediate(tick); };
  tick();
});
process.on('SIGTERM', () => { console.error('server sent ' + total + ' bytes'); process.exit(0); });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
