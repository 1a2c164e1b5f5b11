/*
 * The preview forwarder's program: plain JavaScript for Node 18, run inside the workspace by the
 * file agent's loader (files/agent/loader.ts: `node -e`, the program on stdin, nothing on disk).
 * Being inside, it shares the workspace's network namespace on every driver, so it reaches
 * 127.0.0.1:<port> (or [::1]) exactly as the workspace's own programs do, and reads the
 * workspace's /proc/net/tcp{,6} for the listening ports.
 *
 * It speaks the file agent's frames (files/agent/framing.ts) over stdin/stdout; the frame id is
 * the connection id. Runner → forwarder: {op:'open',port}, {op:'data'}+bytes, {op:'end'},
 * {op:'close'}, {op:'pause'}, {op:'resume'}, {op:'ports'}. Forwarder → runner: {op:'opened'},
 * {op:'data'}+bytes, {op:'end'}, {op:'closed'}, {op:'error',code,message}, {op:'ports',ports}.
 * A frame is at most 1 MiB: socket reads are far smaller, and anything bigger is a broken runner.
 *
 * Frames written in one turn of the event loop leave together, in one write to stdout.
 * Backpressure: when stdout is full every socket pauses until it drains; when a socket cannot take
 * more, stdin pauses until that socket drains (connections share the pipe, so one slow reader
 * slows the others for as long as its own buffer is full, never longer).
 */
/**
 * The listening TCP ports of the namespace the reading process is in (`/proc/net` is that of the
 * reader's network namespace), as `listening()`: shared by the forwarder and the namespace helper
 * (./netns-ports.ts), both plain JavaScript.
 */
export const LISTENING_SOURCE = String.raw`
function listening() {
  const seen = new Map();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue;
      const [addr, portHex] = f[1].split(':');
      const port = parseInt(portHex, 16);
      if (!(port > 0)) continue;
      const loop = /^0100007F$/i.test(addr) || /^0{24}01000000$/.test(addr);
      const any = /^0+$/.test(addr);
      const address = any ? 'any' : loop ? 'loopback' : 'other';
      const before = seen.get(port);
      if (!before || address === 'any') seen.set(port, address);
    }
  }
  return [...seen].sort((a, b) => a[0] - b[0]).slice(0, 256).map(([port, address]) => ({ port, address }));
}
`;

export const FORWARDER_PROGRAM = `
const net = require('net');
const fs = require('fs');
const MAX = 1024 * 1024;
const conns = new Map();
const out = process.stdout;
const input = process.stdin;
let outFull = false;
// Frames made in one turn of the event loop leave in one write (a small answer's opened, data,
// end and closed together; several socket reads of a download together): every write is a
// wake-up of the engine's relay and of the runner.
let pending = [];
let pendingBytes = 0;
let flushing = null;
function flush() {
  if (flushing) clearImmediate(flushing);
  flushing = null;
  if (!pending.length) return;
  const frames = pending;
  pending = [];
  pendingBytes = 0;
  // Corked: the frames leave in one writev, without joining them first.
  out.cork();
  let room = true;
  for (const f of frames) room = out.write(f);
  out.uncork();
  if (!room && !outFull) {
    outFull = true;
    for (const c of conns.values()) c.socket.pause();
  }
}
const DATA = Buffer.from(JSON.stringify({ op: 'data' }));
function send(id, head, payload) {
  const json = head.op === 'data' ? DATA : Buffer.from(JSON.stringify(head));
  const n = payload ? payload.length : 0;
  const frame = Buffer.allocUnsafe(12 + json.length);
  frame.writeUInt32BE(8 + json.length + n, 0);
  frame.writeUInt32BE(id >>> 0, 4);
  frame.writeUInt32BE(json.length, 8);
  json.copy(frame, 12);
  pending.push(frame);
  // The payload (a socket read of its own) follows its head as it is: the corked write sends
  // both in one writev, with no copy into the frame.
  if (n) pending.push(payload);
  pendingBytes += frame.length + n;
  if (pendingBytes >= 512 * 1024) flush();
  else if (!flushing) flushing = setImmediate(flush);
}
out.on('drain', () => {
  outFull = false;
  for (const c of conns.values()) if (!c.paused) c.socket.resume();
});
out.on('error', () => process.exit(0));
${LISTENING_SOURCE}
function open(id, port) {
  const tryHost = (host, fallback) => {
    const socket = net.connect({ host, port, noDelay: true });
    const c = { socket, paused: false, opened: false };
    conns.set(id, c);
    socket.once('connect', () => { c.opened = true; send(id, { op: 'opened' }); });
    socket.on('data', (b) => { send(id, { op: 'data' }, b); });
    socket.on('end', () => send(id, { op: 'end' }));
    socket.on('drain', () => input.resume());
    socket.on('error', (err) => {
      if (!c.opened && fallback && err.code === 'ECONNREFUSED') { conns.delete(id); tryHost(fallback); return; }
      c.failed = true;
      send(id, { op: 'error', code: c.opened ? 'bad_gateway' : 'port_closed', message: String(err.code || err.message) });
    });
    socket.on('close', () => {
      if (conns.get(id) !== c) return;
      conns.delete(id);
      if (!c.failed) send(id, { op: 'closed' });
    });
    if (outFull) socket.pause();
  };
  tryHost('127.0.0.1', '::1');
}
function frame(id, head, payload) {
  const c = conns.get(id);
  switch (head.op) {
    case 'open': if (!c) open(id, head.port); return;
    case 'data': if (c && !c.socket.write(payload)) input.pause(); return;
    case 'end': if (c) c.socket.end(); return;
    case 'close': if (c) c.socket.destroy(); return;
    case 'pause': if (c) { c.paused = true; c.socket.pause(); } return;
    case 'resume': if (c) { c.paused = false; if (!outFull) c.socket.resume(); } return;
    case 'ports': send(id, { op: 'ports', ports: listening() }); return;
  }
}
let chunks = [];
let held = 0;
let want = -1;
function take(n) {
  const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  chunks = all.length > n ? [all.subarray(n)] : [];
  held -= n;
  return all.subarray(0, n);
}
input.on('data', (b) => {
  chunks.push(b);
  held += b.length;
  for (;;) {
    if (want < 0) {
      if (held < 4) return;
      want = take(4).readUInt32BE(0);
      if (want < 8 || want > MAX) process.exit(4);
    }
    if (held < want) return;
    const body = take(want);
    want = -1;
    const hl = body.readUInt32BE(4);
    let head;
    try { head = JSON.parse(body.subarray(8, 8 + hl).toString('utf8')); } catch { process.exit(4); }
    frame(body.readUInt32BE(0), head, Buffer.from(body.subarray(8 + hl)));
  }
});
input.on('end', () => process.exit(0));
input.resume();
`;
