// The seed's signaling stack, for comparison in `tools/bench signaling`: a Socket.IO 4.x server
// that authenticates each socket with the same HS256 tokens duet-server issues, puts it in a
// room named after its user id, and relays the call events to the target user's room with
// `from` set: the seed's `socket.to(userId).emit(...)` pattern. Nothing more (no call records,
// no contacts): whatever it measures is an upper bound for a Socket.IO server doing Duet's job.
//
//   node tools/benchmarks/socketio-relay.mjs            (PORT, HOST, JWT_SECRET from the env)
//
// With SERVE_CLIENT=1 it also serves the Socket.IO browser client at /socket.io/socket.io.js,
// as the seed's server did for its pages, and an empty page at / for them to run in
// (`tools/bench setup` runs the seed's calls through it).
//
// Prints "listening <port>" on stdout when it is ready. On SIGUSR2 it runs a full garbage
// collection (when node runs with --expose-gc) so the benchmark samples RSS without garbage.
import crypto from 'node:crypto';
import http from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 18081);
const host = process.env.HOST ?? '127.0.0.1';
const secret = process.env.JWT_SECRET ?? '';
if (secret.length < 32) {
  console.error('socketio-relay: JWT_SECRET must be at least 32 bytes');
  process.exit(2);
}

// HS256 verification as duet-server does it (src/server/tokens.cpp): alg HS256, the signature
// compared in constant time, exp in the future. Returns the claims or null.
function verify(token) {
  if (typeof token !== 'string' || token.length > 4096) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (header?.alg !== 'HS256' || typeof claims?.sub !== 'string' || typeof claims.exp !== 'number') return null;
  const expected = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  if (claims.exp <= Date.now() / 1000) return null;
  return claims;
}

const serveClient = process.env.SERVE_CLIENT === '1';
const httpServer = http.createServer((req, res) => {
  if (serveClient && req.method === 'GET' && req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><meta charset="utf-8"><title>seed</title><body></body>\n');
    return;
  }
  res.writeHead(404).end();
});
// The seed's options: Socket.IO defaults (the client may start on polling and upgrade; the
// signaling benchmark connects straight to the WebSocket transport, which the defaults allow).
const io = new Server(httpServer, { serveClient });

io.use((socket, next) => {
  const claims = verify(socket.handshake.auth?.token);
  if (!claims) return next(new Error('unauthenticated'));
  socket.data.userId = claims.sub;
  next();
});

const relayed = [
  'call:initiate', 'call:ringing', 'call:accept', 'call:reject', 'call:cancel', 'call:busy',
  'call:offer', 'call:answer', 'call:ice-candidate', 'call:end', 'call:media',
];

io.on('connection', (socket) => {
  const userId = socket.data.userId;
  socket.join(userId);
  for (const event of relayed) {
    socket.on(event, (data) => {
      if (!data || typeof data.to !== 'string') return;
      socket.to(data.to).emit(event, { ...data, from: userId });
    });
  }
});

process.on('SIGUSR2', () => {
  if (typeof globalThis.gc === 'function') globalThis.gc();
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));

httpServer.listen(port, host, () => {
  console.log(`listening ${httpServer.address().port}`);
});
