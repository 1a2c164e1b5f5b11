/**
 * A small HTTP + WebSocket server that tests start inside a workspace (plain Node, no packages):
 * it records every request's headers so a test can see what reached the workspace.
 *   GET  /hello            "hello from the workspace"
 *   POST /echo             the request body streamed back as it comes
 *   GET  /big?n=<bytes>    n bytes of a known pattern, in 64 KiB writes
 *   GET  /slow             three chunks 150 ms apart (the body streams, not buffered)
 *   GET  /cookies          Set-Cookie: with a Domain, a plain one, and one named like Keel's
 *   GET  /seen             the headers of every request so far (JSON)
 *   GET  /page             a small HTML page (for the browser tests)
 *   WS   /ws               echoes each text or binary message
 */
export const WORKSPACE_SERVER = String.raw`
const http = require('http');
const crypto = require('crypto');
const port = Number(process.argv[1] || process.env.PORT);
const seen = [];
const server = http.createServer((req, res) => {
  seen.push({ method: req.method, url: req.url, headers: req.headers });
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/hello') return res.end('hello from the workspace');
  if (url.pathname === '/echo') { res.writeHead(200, { 'content-type': 'application/octet-stream' }); return req.pipe(res); }
  if (url.pathname === '/big') {
    let left = Number(url.searchParams.get('n'));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
    const block = Buffer.alloc(65536);
    for (let i = 0; i < block.length; i++) block[i] = i % 251;
    const more = () => {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!res.write(block.subarray(0, n))) return res.once('drain', more);
      }
      res.end();
    };
    return more();
  }
  if (url.pathname === '/slow') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let i = 0;
    const t = setInterval(() => { res.write('chunk' + i + '\n'); if (++i === 3) { clearInterval(t); res.end(); } }, 150);
    return;
  }
  if (url.pathname === '/cookies') {
    res.setHeader('set-cookie', ['app=1; Domain=localhost; Path=/', 'plain=2; Path=/', 'keel_session=evil; Path=/']);
    res.setHeader('clear-site-data', '"cookies"');
    return res.end('cookies');
  }
  if (url.pathname === '/page') { res.setHeader('content-type', 'text/html'); return res.end('<!doctype html><title>preview page</title><p>preview page</p>'); }
  if (url.pathname === '/seen') { res.setHeader('content-type', 'application/json'); return res.end(JSON.stringify(seen)); }
  res.statusCode = 404;
  res.end('no such page');
});
server.on('upgrade', (req, socket) => {
  seen.push({ method: 'UPGRADE', url: req.url, headers: req.headers });
  const key = req.headers['sec-websocket-key'];
  const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  const proto = req.headers['sec-websocket-protocol'];
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n' + (proto ? 'Sec-WebSocket-Protocol: ' + proto.split(',')[0].trim() + '\r\n' : '') + '\r\n');
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 15;
      let len = buf[1] & 127, at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      const masked = buf[1] & 128;
      const mask = masked ? buf.subarray(at, at + 4) : null;
      if (masked) at += 4;
      if (buf.length < at + len) return;
      const payload = Buffer.from(buf.subarray(at, at + len));
      buf = buf.subarray(at + len);
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      if (op === 8) { socket.end(Buffer.from([0x88, 0])); return; }
      if (op === 9) { socket.write(frame(10, payload)); continue; }
      if (op === 1 || op === 2) socket.write(frame(op, payload));
    }
  });
  socket.on('error', () => {});
});
function frame(op, payload) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | op, n]) : n < 65536 ? Buffer.from([0x80 | op, 126, n >> 8, n & 255]) : (() => { const b = Buffer.alloc(10); b[0] = 0x80 | op; b[1] = 127; b.writeBigUInt64BE(BigInt(n), 2); return b; })();
  return Buffer.concat([head, payload]);
}
server.listen(port, '127.0.0.1', () => console.log('listening ' + port));
`;
