/**
 * Key hardening in real nginx with the real bundle, each finding as a user
 * meets it (status, body and the log line):
 *   F7  revoking a kid (deny list, and the run-time zone where njs has one)
 *       revokes the key: a token verified by that key is refused even when
 *       its header has no kid, or names its credential by a `kid` claim;
 *   F11 a UTF-8 byte order mark before the header or payload JSON is a 401
 *       `JWT token invalid`, and a key file that starts with one is a config
 *       error (JSON.parse and js_preload_object refuse it too);
 *   F12 HMAC keys shorter than the hash (RFC 7518 3.2) are skipped with a
 *       warn line naming file, entry and field, their tokens find no usable
 *       key; an empty JWK Set or a map without credentials says so in the log.
 * Tokens are minted with jose.
 */
import http from 'node:http';
import { SignJWT } from 'jose';
import { engine } from '../support/nginx';
import { b64, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, now, Reply, unique } from '../support/gateway';
import { signRaw } from '../support/tokens';

const SHARED_DICT = engine().features.sharedDict;
const K1 = 'k1-secret-of-the-first-key-0123456789';
const K2 = 'k2-secret-of-the-second-key-0123456789';
const JACK_SECRET = 'jack-hs256-secret-that-is-very-long';
const utf8 = (text: string) => new TextEncoder().encode(text);

const JWKS = {
  keys: [
    { kty: 'oct', kid: 'k1', alg: 'HS256', k: b64(K1) },
    { kty: 'oct', kid: 'k2', alg: 'HS256', k: b64(K2) },
  ],
};
const CONSUMERS = {
  consumers: [
    { username: 'jack', credentials: [{ id: 'cred-jack', key: 'jack-key', secret: JACK_SECRET }] },
    { username: 'shorty', credentials: [{ id: 'cred-short', key: 'short-key', secret: 'a' }] },
    { username: 'based', credentials: [{ id: 'cred-base64', key: 'base64-key', secret: 'AA==', base64_secret: true }] },
  ],
};
const SHORT_JWKS = {
  keys: [
    { kty: 'oct', kid: 'short', k: 'YQ' },
    { kty: 'oct', kid: 'good', alg: 'HS256', k: b64(K1) },
  ],
};
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function location(path: string, settings: string[], body: string): string {
  return [
    'location ' + path + ' {',
    ...settings.map((line) => '    ' + line),
    '    include ${ROOT}/nginx/jwt-auth.conf;',
    '    return 200 "' + body + '\\n";',
    '}',
  ].join('\n');
}

const ok = 'sub=$jwt_claim_sub consumer=$jwt_consumer';

const { it, g } = gatewayPerFile(() => ({
  config: gatewayConfig({
    echo: false,
    http: SHARED_DICT ? 'js_shared_dict_zone zone=jwt_revoked:1m timeout=1d;' : '',
    server: [
      location('/jwks/', ['set $auth_jwt_key_file ${PREFIX}/jwks.json;', 'set $auth_jwt_revocation_list ${PREFIX}/revoked.json;'], ok),
      location(
        '/by-kid/',
        ['set $auth_jwt_consumers ${PREFIX}/consumers.json;', 'set $auth_jwt_key_claim_name kid;', 'set $auth_jwt_revocation_list ${PREFIX}/revoked.json;'],
        ok,
      ),
      location('/consumers/', ['set $auth_jwt_consumers ${PREFIX}/consumers.json;'], ok),
      location('/short/', ['set $auth_jwt_key_file ${PREFIX}/short-jwks.json;'], ok),
      location('/bom/', ['set $auth_jwt_key_file ${PREFIX}/bom-jwks.json;'], ok),
      location('/empty/', ['set $auth_jwt_key_file ${PREFIX}/empty-jwks.json;'], ok),
      location('/no-credentials/', ['set $auth_jwt_consumers ${PREFIX}/no-consumers.json;'], ok),
      ...(SHARED_DICT
        ? [
            location('/zone/', ['set $auth_jwt_key_file ${PREFIX}/jwks.json;', 'set $auth_jwt_revocation_zone jwt_revoked;'], ok),
            'location = /admin/revoke {\n    set $auth_jwt_revocation_zone jwt_revoked;\n    js_content jwt.revoke;\n}',
          ]
        : []),
    ],
  }),
  ports: ['PORT'],
  files: {
    'jwks.json': JSON.stringify(JWKS),
    'revoked.json': JSON.stringify({ kid: ['k1', 'jack-key'] }),
    'consumers.json': JSON.stringify(CONSUMERS),
    'short-jwks.json': JSON.stringify(SHORT_JWKS),
    // written as UTF-8: U+FEFF becomes the bytes EF BB BF
    'bom-jwks.json': '\ufeff' + JSON.stringify(JWKS),
    'empty-jwks.json': JSON.stringify({ keys: [] }),
    'no-consumers.json': JSON.stringify({ consumers: [] }),
  },
}));

function hs256(secret: string, payload: object, header: object = {}): Promise<string> {
  return new SignJWT({ exp: now() + 600, ...payload }).setProtectedHeader({ alg: 'HS256', ...header }).sign(utf8(secret));
}

const bearer = (token: string) => ({ Authorization: 'Bearer ' + token });

/** The error-log lines at `level` that match, counted before and after `act`. */
async function newLines(level: string, pattern: RegExp, act: () => Promise<void>): Promise<string[]> {
  const lines = () =>
    g()
      .nginx.errorLog()
      .split('\n')
      .filter((line) => line.includes('[' + level + ']') && pattern.test(line));
  const before = lines().length;
  await act();
  await g().logLine('error.log', pattern);
  return lines().slice(before);
}

describe('F7: revoking a kid revokes the key', () => {
  it('a token without a kid header, verified by the revoked kid k1, is refused; k2 passes', async () => {
    const sub = unique('no-kid');
    expectRejected(await g().get('/jwks/a', bearer(await hs256(K1, { sub }))), MESSAGES.verifyFailed);
    await g().logLine(
      'error.log',
      new RegExp('rejected 401 TOKEN_REVOKED: kid "k1" \\(of the key that verified the token\\) is on the deny list .*/revoked\\.json'),
    );
    expectRejected(await g().get('/jwks/a', bearer(await hs256(K1, { sub }, { kid: 'k1' }))), MESSAGES.verifyFailed);
    await g().logLine('error.log', /rejected 401 TOKEN_REVOKED: kid "k1" is on the deny list/);
    const passing = await g().get('/jwks/a', bearer(await hs256(K2, { sub: 'bob' })));
    expect({ status: passing.status, body: passing.text }).toEqual({ status: 200, body: 'sub=bob consumer=\n' });
  });

  it('a credential named by a kid claim in the payload (no kid header) is revoked by that kid', async () => {
    expectRejected(await g().get('/by-kid/a', bearer(await hs256(JACK_SECRET, { kid: 'jack-key', sub: 'jack' }))), MESSAGES.verifyFailed);
    await g().logLine('error.log', /rejected 401 TOKEN_REVOKED: kid "jack-key" \(of the key that verified the token\) is on the deny list/);
    expectRejected(await g().get('/by-kid/a', bearer(await hs256(JACK_SECRET, { sub: 'jack' }, { kid: 'jack-key' }))), MESSAGES.verifyFailed);
  });

  (SHARED_DICT ? it : test.skip)('the run-time zone (njs >= 0.8.0): a kid revoked there revokes its key for tokens without a kid header', async () => {
    const token = await hs256(K1, { sub: unique('zone') });
    const before = await g().get('/zone/a', bearer(token));
    expect(before.status).toBe(200);
    const reply = await post('/admin/revoke', JSON.stringify({ kid: 'k1', ttl: 60 }));
    expect({ status: reply.status, body: reply.json() }).toEqual({ status: 200, body: { message: 'revoked' } });
    expectRejected(await g().get('/zone/a', bearer(token)), MESSAGES.verifyFailed);
    await g().logLine('error.log', /rejected 401 TOKEN_REVOKED: kid "k1" \(of the key that verified the token\) is revoked in zone jwt_revoked/);
    expect((await g().get('/zone/a', bearer(await hs256(K2, { sub: 'bob' })))).status).toBe(200);
  });
});

describe('F11: a byte order mark before the JSON', () => {
  /** A token for k2 whose header or payload JSON starts with a UTF-8 BOM, correctly signed (node:crypto's HMAC). */
  function withBom(part: 'header' | 'payload'): string {
    const header = Buffer.from(JSON.stringify({ alg: 'HS256' }));
    const payload = Buffer.from(JSON.stringify({ sub: 'bom', exp: now() + 600 }));
    const h = b64(part === 'header' ? Buffer.concat([BOM, header]) : header);
    const p = b64(part === 'payload' ? Buffer.concat([BOM, payload]) : payload);
    return signRaw('HS256', K2, h, p);
  }

  it('in the header: 401 JWT token invalid, logged as TOKEN_MALFORMED', async () => {
    expectRejected(await g().get('/jwks/a', bearer(withBom('header'))), MESSAGES.invalid);
    await g().logLine('error.log', /rejected 401 TOKEN_MALFORMED: header: starts with a UTF-8 byte order mark, which JSON does not allow \(RFC 8259 8\.1\)/);
  });

  it('in the payload: 401 JWT token invalid, logged as TOKEN_MALFORMED', async () => {
    expectRejected(await g().get('/jwks/a', bearer(withBom('payload'))), MESSAGES.invalid);
    await g().logLine('error.log', /rejected 401 TOKEN_MALFORMED: payload: starts with a UTF-8 byte order mark/);
  });

  it('a key file that starts with a BOM is a config error naming the file; the same keys without it verify', async () => {
    const token = await hs256(K2, { sub: 'bob' });
    const errors = await newLines('error', /config error: .*\/bom-jwks\.json: starts with a UTF-8 byte order mark/, async () => {
      // A key source that cannot be read fails before the token is looked at: no error="invalid_token".
      expectRejected(await g().get('/bom/a', bearer(token)), MESSAGES.verifyFailed, { tokenSent: false });
    });
    expect(errors).toHaveLength(1);
    expect((await g().get('/jwks/a', bearer(token))).status).toBe(200);
  });
});

describe('F12: HMAC keys shorter than the hash output', () => {
  it('a 1-byte oct JWK is skipped with a warn line naming file, entry and field; its token finds no usable key', async () => {
    const warned = await newLines(
      'warn',
      /config entry skipped: .*\/short-jwks\.json: keys\[0\] \(kid "short"\): field "k": HMAC key has 1 byte; at least 32 are required/,
      async () => {
        expectRejected(await g().get('/short/a', bearer(await hs256('a', { sub: 'x' }, { kid: 'short' }))), MESSAGES.verifyFailed);
      },
    );
    expect(warned).toHaveLength(1);
    await g().logLine('error.log', /rejected 401 KEY_NOT_FOUND: no usable key for alg HS256 in .*\/short-jwks\.json/);
    // the good key beside it keeps working
    const good = await g().get('/short/a', bearer(await hs256(K1, { sub: 'good' }, { kid: 'good' })));
    expect({ status: good.status, body: good.text }).toEqual({ status: 200, body: 'sub=good consumer=\n' });
  });

  it('a consumer secret "a" and a base64 secret "AA==" disable their credentials, with a warn line each; jack keeps working', async () => {
    for (const [key, secret, entry] of [
      ['short-key', 'a', 'consumers\\[1\\] \\("shorty"\\)\\.credentials\\[0\\] \\("cred-short"\\)'],
      ['base64-key', '\u0000', 'consumers\\[2\\] \\("based"\\)\\.credentials\\[0\\] \\("cred-base64"\\)'],
    ]) {
      const warned = await newLines(
        'warn',
        new RegExp('config entry skipped: .*/consumers\\.json: ' + entry + ': field "secret": HMAC key has 1 byte; HS256 needs at least 32'),
        async () => {
          expectRejected(await g().get('/consumers/a', bearer(await hs256(secret, { key }))), MESSAGES.unknownKey);
        },
      );
      expect(warned).toHaveLength(1);
    }
    const jack = await g().get('/consumers/a', bearer(await hs256(JACK_SECRET, { key: 'jack-key', sub: 'jack' })));
    expect({ status: jack.status, body: jack.text }).toEqual({ status: 200, body: 'sub=jack consumer=jack\n' });
  });

  it('an empty JWK Set refuses every token and says why in the log', async () => {
    const warned = await newLines(
      'warn',
      /config entry skipped: .*\/empty-jwks\.json: JWK Set: field "keys": empty: no key can verify a token, so every token is refused/,
      async () => {
        expectRejected(await g().get('/empty/a', bearer(await hs256(K1, { sub: 'x' }))), MESSAGES.verifyFailed);
      },
    );
    expect(warned).toHaveLength(1);
    await newLines('warn', /empty-jwks\.json: JWK Set: field "keys": empty/, async () => {
      expectRejected(await g().get('/empty/a', bearer(await hs256(K1, { sub: 'x' }, { kid: 'k1' }))), MESSAGES.verifyFailed);
    });
  });

  it('a consumer map without credentials refuses every token and says why in the log', async () => {
    const warned = await newLines(
      'warn',
      /config entry skipped: .*\/no-consumers\.json: consumer map: field "consumers": no credentials: no token can verify, so every token is refused/,
      async () => {
        expectRejected(await g().get('/no-credentials/a', bearer(await hs256(JACK_SECRET, { key: 'jack-key' }))), MESSAGES.unknownKey);
      },
    );
    expect(warned).toHaveLength(1);
  });
});

function post(pathAndQuery: string, body: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(g().nginx.url(pathAndQuery), { method: 'POST', headers: { 'Content-Type': 'application/json' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        g().seen.push({ method: 'POST', path: pathAndQuery, status: res.statusCode ?? 0 });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
