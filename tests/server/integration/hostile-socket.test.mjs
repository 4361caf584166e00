// Hostile input on the signaling socket: every malformed kind gets its typed error (or the
// documented close), and afterwards the server still serves /healthz and other users.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  Client, RawWebSocket, api, befriend, callId, healthy, show, startServer, users,
} from './harness.mjs';

const nested = (levels) => `{"v":1,"type":"call:media","x":${'['.repeat(levels - 1)}1${']'.repeat(levels - 1)}}`;

// [name, text to send, expected error code]. Each goes to a fresh signed-in socket, which
// must stay open and answer afterwards.
const TYPED = [
  ['text that is not JSON', '{"v":1,"type":"call:end",', 'bad_json'],
  ['an empty frame', '', 'bad_json'],
  ['JSON with a trailing comma', '{"v":1,"type":"call:end","callId":"c-1",}', 'bad_json'],
  ['a number that overflows a double', '{"v":1e400,"type":"call:end","callId":"c-1"}', 'bad_json'],
  ['a lone surrogate escape in a string', '{"v":1,"type":"call:end","callId":"c-1","reason":"\\ud800"}', 'bad_json'],
  ['JSON nested 9 levels deep', nested(9), 'too_deep'],
  ['60,000 opening brackets', '['.repeat(60_000), 'too_deep'],
  ['an array at the top level', '[{"v":1,"type":"call:end","callId":"c-1"}]', 'not_an_object'],
  ['a string at the top level', '"call:end"', 'not_an_object'],
  ['version 2', '{"v":2,"type":"call:end","callId":"c-1"}', 'bad_version'],
  ['version "1" as a string', '{"v":"1","type":"call:end","callId":"c-1"}', 'bad_version'],
  ['no version', '{"type":"call:end","callId":"c-1"}', 'bad_version'],
  ['an unknown type', '{"v":1,"type":"callUser","callId":"c-1"}', 'unknown_type'],
  ['a type in the wrong case', '{"v":1,"type":"CALL:END","callId":"c-1"}', 'unknown_type'],
  ['a missing callId', '{"v":1,"type":"call:accept"}', 'missing_field'],
  ['a null sdp', '{"v":1,"type":"call:offer","callId":"c-1","sdp":null}', 'missing_field'],
  ['a numeric callId', '{"v":1,"type":"call:accept","callId":5}', 'wrong_type'],
  ['a string boolean', '{"v":1,"type":"call:media","callId":"c-1","audioMuted":"true","videoMuted":false}', 'wrong_type'],
  ['a 65-byte id', `{"v":1,"type":"call:accept","callId":"${'a'.repeat(65)}"}`, 'too_long'],
  ['an SDP over 32 KiB', JSON.stringify({ v: 1, type: 'call:offer', callId: 'c-1', sdp: 'a'.repeat(32_769) }), 'too_long'],
  ['a callId with a slash', '{"v":1,"type":"call:accept","callId":"../etc"}', 'bad_value'],
  ['an unknown call type', '{"v":1,"type":"call:initiate","callId":"c-1","to":"x","callType":"hologram"}', 'bad_value'],
  ['sdpMLineIndex out of range', '{"v":1,"type":"call:ice-candidate","callId":"c-1","candidate":{"candidate":"","sdpMLineIndex":256}}', 'bad_value'],
  ['a 70,000-byte message', JSON.stringify({ v: 1, type: 'call:offer', callId: 'c-1', sdp: 'x'.repeat(70_000) }), 'too_large'],
];

describe('hostile messages on the signaling socket', () => {
  let server;
  let h;          // the hostile user
  let bystanders; // two contacts, signed in, who must not notice anything
  let b1;
  let b2;

  before(async () => {
    server = await startServer();
    const [hu, x, y] = await users(server, 'hostile', 'by-x', 'by-y');
    h = hu;
    await befriend(server, x, y);
    bystanders = [x, y];
    b1 = await Client.login(server, x, 'bystander-x');
    b2 = await Client.login(server, y, 'bystander-y');
  });
  after(async () => {
    b1?.close();
    b2?.close();
    await server?.cleanup();
  });

  // The server serves /healthz and the bystanders' sockets.
  async function stillServing() {
    await healthy(server);
    await b1.ping();
    await b2.ping();
  }

  for (const [name, text, code] of TYPED) {
    test(`${name} is refused with ${code} and the socket stays open`, async () => {
      const c = await Client.login(server, h, `hostile(${name})`);
      c.sendRaw(text);
      const e = await c.error(code);
      assert.equal(typeof e.message, 'string');
      assert.ok(Buffer.byteLength(e.message) <= 512, `error message of ${Buffer.byteLength(e.message)} bytes`);
      assert.ok(!e.message.includes('x'.repeat(100)), 'the error quotes the input at length');
      await c.ping();
      assert.equal(c.closeInfo, null);
      c.close();
      await stillServing();
    });
  }

  test('a 200,000-byte message closes the socket with 1009', async () => {
    const c = await Client.login(server, h, 'hostile(200k)');
    c.sendRaw(JSON.stringify({ v: 1, type: 'call:offer', callId: 'c-1', sdp: 'x'.repeat(200_000) }));
    assert.equal((await c.closed()).code, 1009);
    await stillServing();
  });

  test('a text frame with invalid UTF-8 bytes is closed with 1007 and the server keeps serving', async () => {
    const raw = await RawWebSocket.open(server);
    raw.sendText(JSON.stringify({ v: 1, type: 'auth', token: h.token }));
    assert.ok(await raw.waitFor((m) => m.type === 'auth:ok'), 'auth:ok over the raw socket');
    const bytes = Buffer.concat([
      Buffer.from('{"v":1,"type":"call:end","callId":"c-1","reason":"'),
      Buffer.from([0xff, 0xfe, 0xc0, 0x80]),
      Buffer.from('"}'),
    ]);
    raw.sendText(bytes);
    // The server checks UTF-8 in text frames itself and fails the connection with 1007 (RFC
    // 6455 "invalid frame payload data") before the hub sees the message.
    assert.equal(await raw.closed(), 1007);
    assert.ok(!raw.messages.some((m) => m.type === 'error'), JSON.stringify(raw.messages));
    raw.destroy();
    await stillServing();
  });

  test('a binary frame with invalid UTF-8 gets bad_json', async () => {
    const c = await Client.login(server, h, 'hostile(binary)');
    c.sendRaw(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    await c.error('bad_json');
    await c.ping();
    c.close();
    await stillServing();
  });

  test('a flood of 300 messages gets rate_limited errors and leaves other users unaffected', async () => {
    const c = await Client.login(server, h, 'hostile(flood)');
    // A second auth is answered invalid_state, which the hub does not count as abuse: only
    // the rate limit speaks here.
    const text = JSON.stringify({ v: 1, type: 'auth', token: h.token });
    for (let i = 0; i < 300; i++) c.sendRaw(text);
    await c.next('error', 5000, (m) => m.code === 'rate_limited');
    const { code } = await c.closed(5000);
    const limited = c.seen.filter((t) => t === 'error:rate_limited').length;
    const answered = c.seen.filter((t) => t === 'error:invalid_state').length;
    assert.ok(limited >= 1, `rate_limited errors: ${limited}`);
    assert.ok(answered >= 195 && answered <= 210, `invalid_state answers: ${answered}`);
    assert.equal(code, 4429, 'a connection that keeps flooding is closed as rate limited');

    // The bystanders can still make a call.
    await stillServing();
    const id = callId();
    b1.send({ type: 'call:initiate', callId: id, to: bystanders[1].id, callType: 'audio' });
    await b2.next('call:initiate');
    b1.send({ type: 'call:cancel', callId: id, reason: 'cancelled' });
    await b2.next('call:cancel');
    // The flooding user can sign in again.
    const again = await Client.login(server, h, 'hostile(after flood)');
    await again.ping();
    again.close();
  });

  test('25 garbage frames close the socket with 1008', async () => {
    const c = await Client.login(server, h, 'hostile(garbage)');
    for (let i = 0; i < 25; i++) c.sendRaw(`garbage ${i}`);
    const { code } = await c.closed(5000);
    assert.equal(code, 1008);
    const errors = c.seen.filter((t) => t === 'error:bad_json').length;
    assert.ok(errors >= 19 && errors <= 20, `bad_json errors before the close: ${errors}`);
    await stillServing();
  });

  test('the bystanders were never sent anything unexpected', async () => {
    const r = await api(server, 'GET', '/api/calls', { token: bystanders[0].token });
    assert.equal(r.status, 200, show(r));
    await b1.none(100, ['error', 'call:end', 'call:offer']);
    await b2.none(0, ['error', 'call:end', 'call:offer']);
    assert.equal(b1.closeInfo, null);
    assert.equal(b2.closeInfo, null);
  });
});
