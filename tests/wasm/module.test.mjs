// The real duet-core module (build/wasm/module/duet-core.mjs) used exactly as duet-core.d.ts
// declares it. The declarations are read from the .d.ts copied beside the module, so this fails
// when the module and its declarations drift apart: a function or method missing or with another
// arity, a method the bindings expose but the .d.ts does not declare, an event type the module
// does not know, an effect type or field or a view field the .d.ts does not list.
//   node --no-experimental-fetch --test --test-reporter=tap tests/wasm/
// DUET_MODULE_DIR (default build/wasm/module, from the repository root) says where the module is.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const moduleDir = path.resolve(root, process.env.DUET_MODULE_DIR ?? 'build/wasm/module');
const NOW = 1_700_000_000_000;

// ----- What duet-core.d.ts declares ---------------------------------------------------------------
// The .d.ts keeps one member per line and one union member per line, so a few regular
// expressions read it; each reader fails loudly when it finds nothing.

function linesOfBlock(text, opening) {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(opening));
  assert.notEqual(start, -1, `duet-core.d.ts has no line starting with "${opening}"`);
  const block = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break; // the next top-level line ends the block
    block.push(line);
  }
  return block;
}

// Methods of an interface: name -> arity.
function methodsOf(text, name) {
  const methods = new Map();
  for (const line of linesOfBlock(text, `export interface ${name} {`)) {
    const m = /^\s+(\w+)\((.*)\): [^;]+;$/.exec(line);
    if (m) methods.set(m[1], m[2].trim() === '' ? 0 : m[2].split(',').length);
  }
  assert.ok(methods.size > 0, `no methods found in interface ${name}`);
  return methods;
}

// Property (non-method) members of an interface: name -> { optional }.
function propertiesOf(text, name) {
  const properties = new Map();
  for (const line of linesOfBlock(text, `export interface ${name} {`)) {
    const m = /^\s+(\w+)(\??): (?![^;]*=>)[^(;]*;/.exec(line);
    if (m) properties.set(m[1], { optional: m[2] === '?' });
  }
  assert.ok(properties.size > 0, `no properties found in interface ${name}`);
  return properties;
}

// A union of object types, one per line: tag -> { required: Set, optional: Set } (without type).
function unionOf(text, name) {
  const members = new Map();
  for (const line of linesOfBlock(text, `export type ${name} =`)) {
    const m = /^\s+\| \{ type: '(\w+)';?(.*)\}[;]?$/.exec(line);
    if (!m) continue;
    const required = new Set();
    const optional = new Set();
    for (const field of m[2].matchAll(/(\w+)(\??): /g)) (field[2] ? optional : required).add(field[1]);
    members.set(m[1], { required, optional });
  }
  assert.ok(members.size > 0, `no members found in union ${name}`);
  return members;
}

// A union of string literals: the set of strings.
function literalsOf(text, name) {
  const start = text.indexOf(`export type ${name} =`);
  assert.notEqual(start, -1, `duet-core.d.ts has no type ${name}`);
  const body = text.slice(start, text.indexOf(';', start));
  return new Set([...body.matchAll(/'([^']+)'/g)].map((m) => m[1]));
}

// ----- Checking values against the declarations ---------------------------------------------------

function assertFields(object, { required, optional }, what) {
  const keys = Object.keys(object).filter((k) => k !== 'type');
  for (const key of required) assert.ok(key in object, `${what} lacks the declared field "${key}": ${JSON.stringify(object)}`);
  for (const key of keys) {
    assert.ok(required.has(key) || optional.has(key), `${what} has the undeclared field "${key}": ${JSON.stringify(object)}`);
  }
}

function parseJson(text, what) {
  assert.equal(typeof text, 'string', `${what} must be a string`);
  try {
    return JSON.parse(text);
  } catch (error) {
    assert.fail(`${what} is not JSON (${error.message}): ${text}`);
  }
}

describe('duet-core.mjs, used as duet-core.d.ts declares it', () => {
  let dts;
  let core;
  let effectTypes;
  let eventTypes;
  let viewKeys;
  let errorCodes;

  before(async () => {
    const dtsPath = path.join(moduleDir, 'duet-core.d.ts');
    assert.ok(fs.existsSync(dtsPath), `${dtsPath} is missing: build the wasm preset`);
    dts = fs.readFileSync(dtsPath, 'utf8');
    effectTypes = unionOf(dts, 'PhoneEffect');
    eventTypes = unionOf(dts, 'PhoneEvent');
    viewKeys = propertiesOf(dts, 'CallView');
    errorCodes = literalsOf(dts, 'ErrorCode');
    // The module is built for the web: in Node it is handed the bytes of the .wasm.
    const { default: createDuetCore } = await import(pathToFileURL(path.join(moduleDir, 'duet-core.mjs')).href);
    core = await createDuetCore({ wasmBinary: fs.readFileSync(path.join(moduleDir, 'duet-core.wasm')) });
  });

  // Every effect of a handle() result, checked against the declared union; returns the effects.
  function effectsOf(resultText) {
    const result = parseJson(resultText, 'handle()');
    assert.deepEqual(Object.keys(result), ['effects'], `not an effects result: ${resultText}`);
    assert.ok(Array.isArray(result.effects));
    for (const effect of result.effects) {
      assert.ok(effectTypes.has(effect.type), `effect type "${effect.type}" is not declared in PhoneEffect`);
      assertFields(effect, effectTypes.get(effect.type), `the ${effect.type} effect`);
      if (effect.type === 'publish') assertView(effect.view);
      if (effect.type === 'intentRefused') assertErrorInfo(effect.error);
    }
    return result.effects;
  }

  function assertView(view) {
    assert.deepEqual(Object.keys(view).sort(), [...viewKeys.keys()].sort(), 'the view fields differ from CallView');
  }

  function assertErrorInfo(error) {
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message']);
    assert.ok(errorCodes.has(error.code), `error code "${error.code}" is not declared in ErrorCode`);
    assert.equal(typeof error.message, 'string');
  }

  function errorOf(resultText) {
    const result = parseJson(resultText, 'handle()');
    assert.deepEqual(Object.keys(result), ['error'], `not an error result: ${resultText}`);
    assertErrorInfo(result.error);
    return result.error;
  }

  test('the .d.ts beside the module is the one in wasm/', () => {
    assert.equal(dts, fs.readFileSync(path.join(root, 'wasm/duet-core.d.ts'), 'utf8'));
  });

  test('the module has every function DuetCore declares, with its arity', () => {
    for (const [name, arity] of methodsOf(dts, 'DuetCore')) {
      assert.equal(typeof core[name], 'function', `${name} is missing`);
      assert.equal(core[name].length, arity, `${name} takes ${core[name].length} arguments, declared ${arity}`);
    }
    assert.ok(propertiesOf(dts, 'DuetCore').has('Phone'));
    assert.equal(typeof core.Phone, 'function', 'Phone is missing');
  });

  test('Phone has exactly the methods the .d.ts declares, with their arity', () => {
    const declared = methodsOf(dts, 'Phone');
    const phone = new core.Phone('alice', '');
    try {
      for (const [name, arity] of declared) {
        assert.equal(typeof phone[name], 'function', `Phone.${name} is missing`);
        assert.equal(phone[name].length, arity, `Phone.${name} takes ${phone[name].length} arguments, declared ${arity}`);
      }
      // The bound methods live on Phone.prototype (delete() comes from Embind's base class).
      const bound = Object.getOwnPropertyNames(core.Phone.prototype).filter((n) => n !== 'constructor');
      for (const name of bound) assert.ok(declared.has(name), `Phone.${name} is bound but not declared`);
    } finally {
      phone.delete();
    }
  });

  test('the Phone constructor takes the declared arguments', () => {
    const m = /^\s+new \((.*)\): Phone;$/m.exec(linesOfBlock(dts, 'export interface PhoneConstructor {').join('\n'));
    assert.ok(m, 'PhoneConstructor declares no constructor');
    const arity = m[1].split(',').length;
    assert.equal(arity, 2);
    assert.throws(() => new core.Phone('alice'), /parameters|arguments/);
    const phone = new core.Phone('alice', '{}');
    phone.delete();
  });

  test('protocolVersion() and checkMessage() answer as before', () => {
    assert.equal(core.protocolVersion(), 1);
    const ok = parseJson(core.checkMessage('{"v":1,"type":"call:accept","callId":"c1"}'), 'checkMessage()');
    assert.deepEqual(ok, { ok: true, type: 'call:accept', message: { v: 1, type: 'call:accept', callId: 'c1' } });
    const refused = parseJson(core.checkMessage('{"type":"call:accept"}'), 'checkMessage()');
    assert.equal(refused.ok, false);
    assertErrorInfo(refused.error);
    assert.equal(refused.error.code, 'bad_version');
  });

  test('a dial gives declared effects: acquireMedia, then publish with the outgoing view', () => {
    const phone = new core.Phone('alice', '');
    try {
      assert.equal(phone.configError(), '');
      const effects = effectsOf(phone.handle(JSON.stringify({ type: 'dial', callId: 'c1', peer: 'bob', callType: 'video' }), NOW));
      assert.deepEqual(effects.map((e) => e.type), ['acquireMedia', 'publish']);
      assert.deepEqual(effects[0], { type: 'acquireMedia', audio: true, video: true });
      assert.equal(effects[1].view.state, 'outgoing');
      assert.equal(effects[1].view.peer, 'bob');
      assert.deepEqual(parseJson(phone.view(), 'view()'), effects[1].view);
    } finally {
      phone.delete();
    }
  });

  test('a whole call between two phones runs over JSON, and brings out every declared effect type', () => {
    const phones = { alice: new core.Phone('alice', ''), bob: new core.Phone('bob', JSON.stringify({ ringTimeoutMs: 45000 })) };
    const seen = new Set();
    let now = NOW;
    // One event to one phone; its effects, checked against the declarations.
    const act = (user, event) => {
      const effects = effectsOf(phones[user].handle(JSON.stringify(event), (now += 10)));
      for (const e of effects) seen.add(e.type);
      return effects;
    };
    // The server's part: every message a phone sends goes to the other, stamped with its sender.
    const relay = (user, effects) => {
      const other = user === 'alice' ? 'bob' : 'alice';
      return effects.filter((e) => e.type === 'send')
        .flatMap((e) => act(other, { type: 'received', text: JSON.stringify({ ...JSON.parse(e.text), from: user }) }));
    };
    const has = (effects, type, fields = {}) =>
      assert.ok(effects.some((e) => e.type === type && Object.entries(fields).every(([k, v]) => e[k] === v)),
        `no ${type} ${JSON.stringify(fields)} in ${JSON.stringify(effects)}`);
    const state = (user) => parseJson(phones[user].view(), 'view()');
    const sdp = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
    try {
      assert.equal(phones.bob.configError(), '');
      has(act('alice', { type: 'dial', callId: 'c1', peer: 'bob', callType: 'audio' }), 'acquireMedia');
      const opened = act('alice', { type: 'mediaAcquired', audio: true, video: false });
      has(opened, 'openPeer', { peer: 'bob', initiator: true });
      has(opened, 'startTimer', { timer: 'ring', callId: 'c1' });
      // bob rings and, preconnecting, opens his peer; alice hears ringback.
      const rung = relay('alice', opened);
      has(rung, 'playTone', { tone: 'ringtone' });
      has(rung, 'startTimer', { timer: 'ring', afterMs: 45000 });
      has(relay('bob', rung), 'playTone', { tone: 'ringback' });
      assert.equal(state('bob').state, 'incoming');
      // Negotiation while it rings.
      has(act('alice', { type: 'negotiationNeeded', peer: 'bob' }), 'makeOffer', { peer: 'bob' });
      act('alice', { type: 'signalingChanged', peer: 'bob', state: 'have-local-offer' });
      const offered = relay('alice', act('alice', { type: 'localDescription', peer: 'bob', sdpType: 'offer', sdp }));
      has(offered, 'applyRemoteDescription', { peer: 'alice', sdpType: 'offer', sdp });
      has(act('bob', { type: 'remoteDescriptionApplied', peer: 'alice', sdpType: 'offer' }), 'makeAnswer');
      const answered = relay('bob', act('bob', { type: 'localDescription', peer: 'alice', sdpType: 'answer', sdp }));
      has(answered, 'applyRemoteDescription', { sdpType: 'answer' });
      act('alice', { type: 'remoteDescriptionApplied', peer: 'bob', sdpType: 'answer' });
      act('alice', { type: 'signalingChanged', peer: 'bob', state: 'stable' });
      const candidate = { candidate: 'candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host', sdpMid: '0', sdpMLineIndex: 0 };
      const added = relay('alice', act('alice', { type: 'localCandidate', peer: 'bob', candidate }));
      has(added, 'addRemoteCandidate', { peer: 'alice' });
      assert.deepEqual(added.find((e) => e.type === 'addRemoteCandidate').candidate, candidate);
      // bob accepts; the ring timer runs on until his devices are open and call:accept goes
      // out; media flows once both connect.
      act('bob', { type: 'accept' });
      const accepted = act('bob', { type: 'mediaAcquired', audio: true, video: false });
      has(accepted, 'cancelTimer', { timer: 'ring' });
      has(accepted, 'attachMedia', { peer: 'alice' });
      has(relay('bob', accepted), 'attachMedia', { peer: 'bob' });
      act('alice', { type: 'peerStateChanged', peer: 'bob', state: 'connected' });
      act('bob', { type: 'peerStateChanged', peer: 'alice', state: 'connected' });
      assert.equal(state('alice').state, 'active');
      assert.equal(state('bob').state, 'active');
      assert.equal(typeof state('bob').startedAt, 'number');
      // Mute, a network outage and an ICE restart.
      const muted = act('alice', { type: 'setMicrophone', on: false });
      has(muted, 'setTrackEnabled', { kind: 'audio', enabled: false });
      relay('alice', muted);
      assert.equal(state('bob').remoteAudioMuted, true);
      has(act('alice', { type: 'peerStateChanged', peer: 'bob', state: 'disconnected' }), 'startTimer', { timer: 'ice_grace' });
      has(act('alice', { type: 'timerFired', timer: 'ice_grace', callId: 'c1' }), 'restartIce', { peer: 'bob' });
      act('alice', { type: 'peerStateChanged', peer: 'bob', state: 'connected' });
      // alice shares her screen, and the browser's own "stop sharing" ends it.
      has(act('alice', { type: 'shareScreen', on: true }), 'acquireScreen');
      const sharing = act('alice', { type: 'screenAcquired' });
      has(sharing, 'attachScreen', { peer: 'bob' });
      relay('alice', sharing);
      assert.equal(state('bob').remoteScreenShared, true);
      has(act('alice', { type: 'screenEnded' }), 'releaseScreen');
      assert.equal(state('alice').screenSharing, false);
      // alice hangs up; bob's phone ends too, and refuses a hang-up of a call that is over.
      const hungUp = act('alice', { type: 'hangUp' });
      has(hungUp, 'closePeer', { peer: 'bob' });
      has(hungUp, 'releaseMedia');
      has(relay('alice', hungUp), 'releaseMedia');
      assert.equal(state('bob').state, 'ended');
      assert.equal(state('bob').endReason, 'hangup');
      const refused = act('bob', { type: 'hangUp' });
      assert.deepEqual(refused.map((e) => e.type), ['intentRefused']);
      assert.equal(refused[0].error.code, 'not_found');

      assert.deepEqual([...seen].sort(), [...effectTypes.keys()].sort(),
        'the effect types of a whole call differ from those PhoneEffect declares');
    } finally {
      phones.alice.delete();
      phones.bob.delete();
    }
  });

  test('every event type the .d.ts declares is known to the module, with the declared required fields', () => {
    const phone = new core.Phone('alice', '');
    try {
      for (const [type, { required }] of eventTypes) {
        const text = phone.handle(JSON.stringify({ type }), NOW);
        if (required.size === 0) {
          effectsOf(text);
        } else {
          const error = errorOf(text);
          assert.equal(error.code, 'missing_field', `${type}: ${error.message}`);
          assert.ok([...required].some((field) => error.message.includes(`"${field}"`)), `${type}: ${error.message}`);
        }
      }
      assert.equal(errorOf(phone.handle('{"type":"callUser"}', NOW)).code, 'unknown_type');
    } finally {
      phone.delete();
    }
  });

  test('view() gives exactly the declared CallView fields, nullable ones null while unset', () => {
    const phone = new core.Phone('alice', '');
    try {
      const view = parseJson(phone.view(), 'view()');
      assertView(view);
      assert.equal(view.state, 'idle');
      for (const key of ['startedAt', 'endedAt', 'endReason', 'serverError']) assert.equal(view[key], null, key);
    } finally {
      phone.delete();
    }
  });

  test('invalid event JSON and an invalid nowMs give the error result and change nothing', () => {
    const phone = new core.Phone('alice', '');
    try {
      const before = phone.view();
      assert.equal(errorOf(phone.handle('{"type":"dial"', NOW)).code, 'bad_json');
      assert.equal(errorOf(phone.handle('{"type":"dial","callId":"c1","peer":"bob","callType":"screen"}', NOW)).code, 'bad_value');
      assert.equal(errorOf(phone.handle('{"type":"accept","audioonly":true}', NOW)).code, 'bad_value');
      assert.equal(errorOf(phone.handle(JSON.stringify({ type: 'received', text: '{"v":2}' }), NOW)).code, 'bad_version');
      assert.equal(errorOf(phone.handle('{"type":"hangUp"}', NOW + 0.5)).code, 'bad_value');
      assert.equal(errorOf(phone.handle('{"type":"hangUp"}', Number.NaN)).code, 'bad_value');
      assert.equal(phone.view(), before);
    } finally {
      phone.delete();
    }
  });

  test('a bad config is reported by configError() and refuses every event', () => {
    const phone = new core.Phone('alice', JSON.stringify({ ringTimeoutMs: 0 }));
    try {
      const error = parseJson(phone.configError(), 'configError()');
      assertErrorInfo(error);
      assert.equal(error.code, 'bad_value');
      assert.deepEqual(errorOf(phone.handle('{"type":"hangUp"}', NOW)), error);
    } finally {
      phone.delete();
    }
    const nobody = new core.Phone('', '');
    try {
      assert.equal(parseJson(nobody.configError(), 'configError()').code, 'bad_value');
    } finally {
      nobody.delete();
    }
  });

  test('delete() frees the phone, and using it afterwards throws', () => {
    const phone = new core.Phone('alice', '');
    phone.delete();
    assert.throws(() => phone.view(), /deleted/);
    assert.throws(() => phone.delete(), /deleted/);
  });
});
