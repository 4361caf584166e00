// The WebSocket protocol itself on the signaling socket (RFC 6455), below the messages: the
// opening handshake, fragments, pings, close handshakes, protocol violations, and many frames
// in one TCP write. duet-server speaks this directly (src/server/websocket.cpp), so these are
// checked from the wire, with a client that writes its own frames.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { RawWebSocket, assertServing, rawHttp, sleep, startServer, users } from './harness.mjs';

const TEXT = 0x1;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;

function upgrade(headers) {
  return 'GET /api/socket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `${headers}\r\n`;
}

// Waits until `count` pongs came back, or fails with what did.
async function pongs(raw, count, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (raw.pongs.length < count && Date.now() < deadline) await sleep(20);
  return raw.pongs;
}

describe('the WebSocket protocol on the signaling socket', () => {
  let server;
  let user;

  before(async () => {
    server = await startServer();
    [user] = await users(server, 'wire');
  });
  after(async () => {
    await server?.cleanup();
  });

  async function signedIn() {
    const raw = await RawWebSocket.open(server);
    raw.sendText(JSON.stringify({ v: 1, type: 'auth', token: user.token }));
    assert.ok(await raw.waitFor((m) => m.type === 'auth:ok'), `auth:ok: ${JSON.stringify(raw.messages)}`);
    return raw;
  }

  test('the handshake answers 101 with the accept key RFC 6455 derives from the client key', async () => {
    const raw = await RawWebSocket.open(server);
    const accept = crypto.createHash('sha1').update(`${raw.key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    assert.match(raw.handshake, /^HTTP\/1\.1 101 /);
    assert.ok(raw.handshake.includes(`\r\nSec-WebSocket-Accept: ${accept}\r\n`), raw.handshake);
    raw.destroy();
  });

  test('a version other than 13 is refused with 426 naming version 13', async () => {
    const r = await rawHttp(server, upgrade('Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n'));
    assert.equal(r.status, 426, r.raw.slice(0, 300));
    assert.match(r.raw, /\r\nSec-WebSocket-Version: 13\r\n/i);
    await assertServing(server, user);
  });

  test('a missing or malformed key is refused with 400 bad_value', async () => {
    for (const key of ['', 'Sec-WebSocket-Key: short\r\n']) {
      const r = await rawHttp(server, upgrade(`${key}Sec-WebSocket-Version: 13\r\n`));
      assert.equal(r.status, 400, r.raw.slice(0, 300));
      assert.match(r.raw, /"bad_value"/);
    }
  });

  test('a message split into fragments arrives whole', async () => {
    const raw = await RawWebSocket.open(server);
    const text = JSON.stringify({ v: 1, type: 'auth', token: user.token });
    const third = Math.floor(text.length / 3);
    raw.sendFrame(TEXT, Buffer.from(text.slice(0, third)), { fin: false });
    raw.sendFrame(PING, Buffer.from('between'));
    raw.sendFrame(CONTINUATION, Buffer.from(text.slice(third, 2 * third)), { fin: false });
    raw.sendFrame(CONTINUATION, Buffer.from(text.slice(2 * third)));
    assert.ok(await raw.waitFor((m) => m.type === 'auth:ok'), JSON.stringify(raw.messages));
    assert.deepEqual(await pongs(raw, 1), ['between']);
    raw.destroy();
  });

  test('a ping is answered with a pong carrying its payload', async () => {
    const raw = await signedIn();
    raw.sendFrame(PING, Buffer.from('are you there'));
    assert.deepEqual(await pongs(raw, 1), ['are you there']);
    raw.destroy();
  });

  test('forty frames in one TCP write are each answered, in order', async () => {
    const raw = await signedIn();
    const frames = [];
    for (let i = 0; i < 40; i++) frames.push(raw.sendFrame(PING, Buffer.from(`p${i}`), { write: false }));
    raw.socket.write(Buffer.concat(frames));
    const got = await pongs(raw, 40);
    assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => `p${i}`));
    raw.destroy();
  });

  test('a frame split across TCP writes is read once it is whole', async () => {
    const raw = await RawWebSocket.open(server);
    const frame = raw.sendFrame(TEXT, Buffer.from(JSON.stringify({ v: 1, type: 'auth', token: user.token })), { write: false });
    for (let at = 0; at < frame.length; at += 7) {
      raw.socket.write(frame.subarray(at, at + 7));
      await sleep(2);
    }
    assert.ok(await raw.waitFor((m) => m.type === 'auth:ok'), JSON.stringify(raw.messages));
    raw.destroy();
  });

  test("the client's close frame is echoed with its code and the server closes the connection", async () => {
    const raw = await signedIn();
    const body = Buffer.alloc(2);
    body.writeUInt16BE(1000);
    raw.sendFrame(CLOSE, Buffer.concat([body, Buffer.from('bye')]));
    assert.equal(await raw.closed(), 1000);
  });

  test('an unmasked frame closes the connection with 1002', async () => {
    const raw = await signedIn();
    raw.sendFrame(TEXT, Buffer.from('{"v":1}'), { masked: false });
    assert.equal(await raw.closed(), 1002);
    await assertServing(server, user);
  });

  test('a continuation frame with nothing to continue closes the connection with 1002', async () => {
    const raw = await signedIn();
    raw.sendFrame(CONTINUATION, Buffer.from('x'));
    assert.equal(await raw.closed(), 1002);
  });

  test('a ping over 125 bytes closes the connection with 1002', async () => {
    const raw = await signedIn();
    raw.sendFrame(PING, Buffer.alloc(126, 0x61));
    assert.equal(await raw.closed(), 1002);
  });

  test('a client that never answers our close frame is cut off within a few seconds', { timeout: 20_000 }, async () => {
    const raw = await signedIn();
    // Deaf from here on: this client will never answer the close frame it is about to get.
    raw.socket.removeAllListeners('data');
    const closed = new Promise((resolve) => raw.socket.once('close', resolve));
    const started = Date.now();
    for (let i = 0; i < 25; i++) raw.sendText(`garbage ${i}`);  // the hub closes such a socket with 1008
    await closed;
    const waited = Date.now() - started;
    // The close frame goes out at once; the connection goes at the first sweep (every 5 s)
    // at least 5 s later: between 5 and 10 s, give or take a loaded machine.
    assert.ok(waited >= 4_500 && waited < 15_000, `closed after ${waited} ms`);
  });
});
