/**
 * The Socket.IO 4.8 server the benchmark compares Parley with: the canonical chat room server.
 * WebSocket transport only, no compression (Socket.IO's default; see below), in-memory adapter, no
 * storage. A client joins the room named in its CONNECT packet's auth (`40{"room":"r1"}`) and
 * is told `joined`; `pub(room, text)` broadcasts `msg` with the room, sender and time to the
 * whole room, sender included (`io.to(room).emit`), as Parley delivers to every subscriber.
 * IPC as in parley-server.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { serveStats } from './server-stats.js';

const http = createServer();
// `PARLEY_BENCH_SOCKETIO_DEFLATE=1`: permessage-deflate on (ws's defaults: 1 KiB threshold, a context per socket).
const deflate = process.env.PARLEY_BENCH_SOCKETIO_DEFLATE === '1';
const io = new Server(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: deflate });
io.on('connection', (socket) => {
  const auth = socket.handshake.auth as { room?: unknown; user?: unknown };
  const user = typeof auth.user === 'string' ? auth.user : socket.id;
  if (typeof auth.room === 'string') {
    void socket.join(auth.room);
    socket.emit('joined', auth.room);
  }
  socket.on('pub', (room: unknown, text: unknown) => {
    if (typeof room !== 'string' || typeof text !== 'string') return;
    io.to(room).emit('msg', { room, user, text, ts: Date.now() });
  });
});
http.listen(0, '127.0.0.1', () => {
  serveStats(
    (http.address() as AddressInfo).port,
    () => ({}),
    () =>
      new Promise<void>((resolve) => {
        io.close(() => resolve());
      }),
  );
});
