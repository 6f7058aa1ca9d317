import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../../functions/core/model.ts';
import { parseStrictJson } from '../../../functions/http/strict-json.ts';
import { testApp } from '../../support/app.ts';
import { decision } from '../../support/fixtures.ts';

const limits = { maxDepth: 36 };
const encode = (text: string) => new TextEncoder().encode(text);

function problemOf(body: Uint8Array | string) {
  const result = parseStrictJson(body, limits);
  if (result.ok) throw new Error(`expected a problem, parsed ${JSON.stringify(result.value)}`);
  return result.problem;
}

/** A submission whose `action.args` is `argsText`, as raw JSON text. */
function submission(argsText: string): string {
  return `{"action":{"name":"data.export","args":${argsText}},"resource":{"type":"aws:s3:bucket","id":"arn:aws:s3:::b","properties":{}},"context":{}}`;
}

describe('strict JSON parsing', () => {
  it('refuses a duplicate key, even when both values are equal', () => {
    expect(problemOf('{"name":"secrets.read","x":1,"name":"logs.tail"}')).toMatchObject({
      code: 'duplicate_key',
      path: '(body)',
      message: expect.stringContaining('"name" appears more than once'),
    });
    expect(problemOf('{"a":{"b":1,"b":1}}')).toMatchObject({ code: 'duplicate_key', path: '(body).a' });
  });

  it('refuses an integer outside the safe range instead of rounding it', () => {
    expect(problemOf('{"n":[1,9007199254740993]}')).toMatchObject({
      code: 'unsafe_number',
      path: '(body).n[1]',
      message: expect.stringMatching(
        /9007199254740993 is an integer outside .* 9007199254740992; send it as a string/,
      ),
    });
    expect(problemOf('{"n":-9007199254740992}')).toMatchObject({ code: 'unsafe_number' });
    expect(problemOf('{"n":1e16}')).toMatchObject({ code: 'unsafe_number' });
  });

  it('refuses numbers that underflow to 0 or overflow to Infinity', () => {
    expect(problemOf('{"n":1e-400}').message).toMatch(/too small .* would become 0/);
    expect(problemOf('{"n":-1e400}').message).toMatch(/too large .* would become Infinity/);
  });

  it('refuses a fraction with more digits than a 64-bit float keeps', () => {
    expect(problemOf('{"n":0.10000000000000000001}').message).toMatch(/more digits .* stored as 0.1/);
  });

  it('refuses invalid UTF-8 and says at which byte', () => {
    const bytes = new Uint8Array([...encode('{"a":"x'), 0xff, ...encode('"}')]);
    expect(problemOf(bytes)).toMatchObject({
      code: 'invalid_utf8',
      message: expect.stringContaining('byte 7'),
    });
    // An overlong encoding of "/" and a truncated sequence are invalid too.
    expect(problemOf(new Uint8Array([0x22, 0xc0, 0xaf, 0x22])).code).toBe('invalid_utf8');
    expect(problemOf(new Uint8Array([0x22, 0xe2, 0x82, 0x22])).code).toBe('invalid_utf8');
  });

  it('refuses a byte order mark and syntax JSON.parse refuses', () => {
    expect(problemOf(new Uint8Array([0xef, 0xbb, 0xbf, ...encode('{}')])).code).toBe('syntax');
    expect(problemOf('{"a":1,}').code).toBe('syntax');
  });

  it('refuses nesting beyond the limit without exhausting the stack', () => {
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    expect(problemOf(deep).code).toBe('too_deep');
  });

  it('accepts numbers that every reader keeps as written', () => {
    const result = parseStrictJson(
      '{"a":9007199254740991,"b":-0.5,"c":5e-324,"d":123456.789e-3,"e":1.0,"f":"9007199254740993"}',
      limits,
    );
    expect(result).toEqual({
      ok: true,
      text: expect.any(String),
      value: { a: 9007199254740991, b: -0.5, c: 5e-324, d: 123.456789, e: 1, f: '9007199254740993' },
    });
  });
});

describe('strict JSON at the edge', () => {
  const raw = (
    call: ReturnType<typeof testApp>['call'],
    body: string | Uint8Array,
    path = '/v1/action-requests',
  ) => call('POST', path, { raw: body as string, headers: { 'content-type': 'application/json' } });

  it('answers 400 for each parser differential on every JSON route, and records nothing', async () => {
    const { call, store } = testApp();
    const bodies: (string | Uint8Array)[] = [
      // The policy would decide on one name while a first-wins parser shows the other.
      '{"action":{"name":"secrets.read","args":{},"name":"logs.tail"},"resource":{"type":"t","id":"i"}}',
      submission('{"amount":9007199254740993}'),
      submission('{"epsilon":1e-400}'),
      submission('{"huge":1e400}'),
      new Uint8Array([...encode(submission('{"s":"a')), 0xc3, ...encode('"}')]).subarray(0),
    ];
    for (const body of bodies) {
      for (const path of ['/v1/action-requests', '/v1/evaluate']) {
        const res = await raw(call, body, path);
        expect(res.status, String(body)).toBe(400);
        const error = (await res.json()) as { error: string; message: string };
        expect(['invalid_request', 'invalid_json']).toContain(error.error);
        expect(error.message).toMatch(/send/);
      }
    }
    expect((await store.listByStatus('pending')).items).toHaveLength(0);
  });

  it('gives the policy, the stored record and the approver the same value for the same bytes, or refuses them', async () => {
    const seen: PolicyInput[] = [];
    const { call, store } = testApp((input) => {
      seen.push(input);
      return decision();
    });
    const anyJson = fc
      .jsonValue({ maxDepth: 4 })
      .filter((value) => !JSON.stringify(value).includes('"__proto__"'));
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 5 }), async (args) => {
        const text = submission(JSON.stringify(args));
        const sent = JSON.parse(text) as { action: { args: unknown } };
        seen.length = 0;
        const before = (await store.listByStatus('pending', { limit: 1000 })).items.length;
        const res = await raw(call, text);
        if (res.status === 400) {
          // Only a number no 64-bit float holds as written (fc.jsonValue makes ±1.7e308 and the like).
          refused++;
          expect(((await res.json()) as { message: string }).message).toMatch(
            /integer outside|too large|too small|more digits/,
          );
          expect(seen).toHaveLength(0);
          expect((await store.listByStatus('pending', { limit: 1000 })).items).toHaveLength(before);
          return;
        }
        accepted++;
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as { id: string };
        expect(seen[0]?.action.args).toStrictEqual(sent.action.args);
        expect((await store.get(id))?.action.args).toStrictEqual(sent.action.args);
        const view = (await (await call('GET', `/v1/action-requests/${id}`, { token: 'bob' })).json()) as {
          action: { args: unknown };
        };
        expect(JSON.stringify(view.action.args)).toBe(JSON.stringify(sent.action.args));
      }),
      { numRuns: 80 },
    );
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  }, 60_000);

  it('treats a JSON cancel with an empty body as a cancel without a reason', async () => {
    const { call } = testApp();
    const { id } = (await (
      await call('POST', '/v1/action-requests', { body: JSON.parse(submission('{}')) })
    ).json()) as {
      id: string;
    };
    const res = await raw(call, '', `/v1/action-requests/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'cancelled' });
  });

  it('answers 400 naming the body when a required body is empty', async () => {
    const { call } = testApp();
    const res = await raw(call, '');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('refuses a chunked body without a content type with 415', async () => {
    const { app } = testApp();
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(encode(submission('{}')));
        controller.close();
      },
    });
    const res = await app.request('/v1/action-requests', {
      method: 'POST',
      headers: { authorization: 'Bearer agent-token-0123456789abcdef', 'transfer-encoding': 'chunked' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: 'unsupported_media_type' });
  });
});

describe('The OpenAPI pattern of a principal id', () => {
  it('admits only canonical ids', async () => {
    const { PRINCIPAL } = await import('../../../functions/http/schemas.ts');
    const { principalProblem } = await import('../../../functions/core/principals.ts');
    fc.assert(
      fc.property(fc.stringMatching(PRINCIPAL), (id) => {
        expect(principalProblem(id)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
    for (const id of [
      'user:Bob@x.gov',
      'user:bob.',
      'agent:-x',
      'human:bob',
      'user: bob',
      `agent:${'a'.repeat(257)}`,
    ]) {
      expect(PRINCIPAL.test(id), id).toBe(false);
    }
    for (const id of [
      'user:alice@example.gov',
      'agent:demo-exporter',
      'iam:arn:aws-us-gov:iam::123456789012:role/deployer',
    ]) {
      expect(PRINCIPAL.test(id), id).toBe(true);
    }
  });
});
