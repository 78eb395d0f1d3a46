import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientFrame } from '../../src/protocol/parse-client-frame.js';

function code(text: string): string | undefined {
  const r = parseClientFrame(text);
  return r.ok ? undefined : r.error.code;
}

describe('parseClientFrame', () => {
  it('parses a publish frame into its typed form', () => {
    const r = parseClientFrame(
      '{"type":"publish","ref":7,"channel":"general","text":"hi","client_msg_id":"c1"}',
    );
    assert.deepEqual(r, {
      ok: true,
      frame: { type: 'publish', ref: 7, channel: 'general', text: 'hi', client_msg_id: 'c1' },
    });
  });

  it('gives invalid_json for malformed JSON and bad_request for non-objects', () => {
    assert.equal(code('{"type":'), 'invalid_json');
    assert.equal(code('[1,2]'), 'bad_request');
    assert.equal(code('null'), 'bad_request');
    assert.equal(code('"auth"'), 'bad_request');
  });

  it('gives unknown_type for an unknown type, keeping the ref', () => {
    const r = parseClientFrame('{"type":"launch_missiles","ref":"a"}');
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'unknown_type');
      assert.equal(r.ref, 'a');
    }
    // Inherited object keys are not frame types.
    assert.equal(code('{"type":"toString"}'), 'unknown_type');
    assert.equal(code('{"type":"__proto__"}'), 'unknown_type');
  });

  it('gives bad_request for wrong field types', () => {
    assert.equal(code('{"type":"publish","channel":"general","text":5,"client_msg_id":"c"}'), 'bad_request');
    assert.equal(
      code('{"type":"publish","channel":"general","text":"  ","client_msg_id":"c"}'),
      'bad_request',
    );
    assert.equal(code('{"type":"publish","channel":"general","text":"x"}'), 'bad_request');
    assert.equal(
      code(`{"type":"publish","channel":"general","text":"x","client_msg_id":"${'c'.repeat(65)}"}`),
      'bad_request',
    );
    assert.equal(
      code('{"type":"publish","channel":"general","text":"x","client_msg_id":"a b"}'),
      'bad_request',
    );
    assert.equal(
      code('{"type":"publish","channel":"general","text":"a\\u0000b","client_msg_id":"c"}'),
      'bad_request',
    );
    assert.equal(code('{"type":"subscribe","channel":"general","since":-1}'), 'bad_request');
    assert.equal(code('{"type":"subscribe","channel":"general","since":1.5}'), 'bad_request');
    assert.equal(code('{"type":"subscribe","channel":"../etc"}'), 'bad_request');
    assert.equal(code('{"type":"history","channel":"general","before":3,"after":1}'), 'bad_request');
    assert.equal(code('{"type":"member_add","channel":"x","user_id":"u","role":"god"}'), 'bad_request');
    assert.equal(code('{"type":"channel_create","channel":"Has Spaces"}'), 'bad_request');
    assert.equal(code('{"type":"ping","ref":{"a":1}}'), 'bad_request');
  });
});
