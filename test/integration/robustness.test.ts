/**
 * Hostile and broken input: about sixty malformed tokens (random bytes, wrong
 * segment counts, oversize, invalid UTF-8, duplicate JSON keys, non-object
 * JSON, nesting bombs, odd types, bad signature lengths) sent through the
 * header, the query and the cookie, to a consumer map, a JWK Set and the
 * auth_request style. Every one must be a 401 with the JSON body, never a
 * 5xx, and no worker may crash.
 */
import { createSign, KeyObject, webcrypto } from 'node:crypto';
import net from 'node:net';
import { CompactSign, CryptoKey, exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { compact, derSignature, signRaw } from '../support/tokens';
import { authLocation, b64, finish, Gateway, gatewayConfig, MESSAGES, now, Reply, startGateway, testsWithLogs } from '../support/gateway';

const CONFIG = gatewayConfig({
  http: `
    # Room for the 20 KB tokens, so they reach the gateway instead of nginx's 400.
    large_client_header_buffers 4 64k;
    js_preload_object test_consumers from \${PREFIX}/consumers.json;
    js_preload_object test_jwks from \${PREFIX}/jwks.json;
  `,
  server: [
    authLocation('/c/', ['set $auth_jwt_consumers test_consumers;']),
    authLocation('/k/', ['set $auth_jwt_key_file test_jwks;']),
    `
    location = /_jwt_auth {
        internal;
        js_content jwt.authorize;
    }
    location @jwt_denied {
        default_type application/json;
        add_header WWW-Authenticate $jwt_ar_www_authenticate always;
        return 401 $jwt_ar_error;
    }
    location /ar/ {
        set $auth_jwt_consumers test_consumers;
        auth_request /_jwt_auth;
        auth_request_set $jwt_ar_consumer $sent_http_x_consumer_username;
        auth_request_set $jwt_ar_error $sent_http_x_jwt_error;
        auth_request_set $jwt_ar_www_authenticate $sent_http_x_jwt_www_authenticate;
        error_page 401 = @jwt_denied;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Consumer-Username $jwt_ar_consumer;
        proxy_pass http://echo_upstream;
    }
    `,
  ],
});

const SECRET = new TextEncoder().encode('robustness-secret-0123456789-abcdefghijklmnop');
let bob: { privateKey: CryptoKey };
let alice: { privateKey: CryptoKey };
let gw: Gateway | undefined;

beforeAll(async () => {
  const ec = await generateKeyPair('ES256');
  const rsa = await generateKeyPair('RS256');
  bob = ec;
  alice = rsa;
  const consumers = {
    consumers: [
      { username: 'jack', credentials: [{ id: 'cred-jack', key: 'jack-key', secret: new TextDecoder().decode(SECRET) }] },
      { username: 'bob', credentials: [{ id: 'cred-bob', key: 'bob-key', algorithm: 'ES256', public_key: await exportSPKI(ec.publicKey) }] },
      { username: 'alice', credentials: [{ id: 'cred-alice', key: 'alice-key', algorithm: 'RS256', public_key: await exportSPKI(rsa.publicKey) }] },
    ],
  };
  const jwks = {
    keys: [
      { kty: 'oct', kid: 'hs', alg: 'HS256', k: b64(SECRET) },
      { ...(await exportJWK(ec.publicKey)), kid: 'es', use: 'sig' },
      { ...(await exportJWK(rsa.publicKey)), kid: 'rs', alg: 'RS256' },
    ],
  };
  gw = await startGateway({
    config: CONFIG,
    ports: ['PORT', 'ECHO_PORT'],
    files: { 'consumers.json': JSON.stringify(consumers), 'jwks.json': JSON.stringify(jwks) },
  });
});

afterAll(() => finish(gw));

const it = testsWithLogs(() => gw, 30000);
const g = () => gw as Gateway;

/** Deterministic pseudo-random bytes (xorshift32), so a failing input can be reproduced. */
function randomBytes(seed: number, length: number): Uint8Array {
  let x = seed || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/**
 * Header bytes jose would never write (duplicate names, broken JSON), with a
 * correct HS256 MAC over them, from test/support/tokens.ts (node:crypto), not project code.
 * With a valid MAC, only the strict parser stands between them and a 200.
 */
function hmacToken(headerBytes: Uint8Array | string, payloadBytes: Uint8Array | string): string {
  return signRaw('HS256', SECRET, b64(headerBytes), b64(payloadBytes));
}

/** Any payload bytes, HS256-signed by jose (CompactSign takes raw payload bytes). */
function josePayloadToken(payload: Uint8Array | string, header: { [name: string]: unknown } = {}): Promise<string> {
  return new CompactSign(typeof payload === 'string' ? utf8(payload) : payload).setProtectedHeader({ alg: 'HS256', ...header }).sign(SECRET);
}

function jackClaims(): { [name: string]: unknown } {
  return { key: 'jack-key', sub: 'jack', exp: now() + 600 };
}

function replaceSignature(token: string, signature: Uint8Array | string): string {
  const [h, p] = token.split('.');
  return compact(h, p, signature);
}

/** The token in the base64 (not base64url) alphabet; a '+' is forced in if it had no '-' or '_'. */
function standardAlphabet(token: string): string {
  const swapped = token.replace(/-/g, '+').replace(/_/g, '/');
  return swapped === token ? token.slice(0, 1) + '+' + token.slice(2) : swapped;
}

const nested = (depth: number, open: string, close: string, inner: string) => open.repeat(depth) + inner + close.repeat(depth);

/** The malformed inputs, as [label, token]. Built lazily: some need keys made in beforeAll. */
async function malformedTokens(): Promise<[string, string][]> {
  const valid = await new SignJWT(jackClaims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(SECRET);
  const validHeader = valid.split('.')[0];
  const validPayload = valid.split('.')[1];
  const bobToken = await new SignJWT({ key: 'bob-key', exp: now() + 600 }).setProtectedHeader({ alg: 'ES256' }).sign(bob.privateKey);
  const bobSignature = Buffer.from(bobToken.split('.')[2], 'base64url');
  const aliceToken = await new SignJWT({ key: 'alice-key', exp: now() + 600 }).setProtectedHeader({ alg: 'RS256' }).sign(alice.privateKey);
  const aliceSignature = Buffer.from(aliceToken.split('.')[2], 'base64url');
  const big = b64(randomBytes(99, 15000));
  const claims = JSON.stringify(jackClaims());

  const list: [string, string | Promise<string>][] = [
    // random bytes, base64url'd
    ['random 16 bytes, one segment', b64(randomBytes(1, 16))],
    ['random 300 bytes, one segment', b64(randomBytes(2, 300))],
    ['three random segments', [3, 4, 5].map((s) => b64(randomBytes(s, 32))).join('.')],
    ['three random segments, random long header', [6, 7, 8].map((s, i) => b64(randomBytes(s, i === 0 ? 400 : 64))).join('.')],
    ['random header, valid payload and signature', b64(randomBytes(9, 40)) + '.' + validPayload + '.' + valid.split('.')[2]],
    ['random payload after a valid header', validHeader + '.' + b64(randomBytes(10, 80)) + '.' + b64(randomBytes(11, 32))],
    // segment counts
    ['two segments', validHeader + '.' + validPayload],
    ['two segments with a trailing dot', validHeader + '.' + validPayload + '.'],
    ['four segments', valid + '.' + b64(randomBytes(12, 8))],
    ['four segments, empty last', valid + '.'],
    ['five segments (JWE shape)', [13, 14, 15, 16, 17].map((s) => b64(randomBytes(s, 24))).join('.')],
    ['only dots', '..'],
    ['four dots', '....'],
    ['a single dot', '.'],
    ['leading dot', '.' + valid],
    // base64url alphabet and canonical form
    ['padding characters', validHeader + '==.' + validPayload + '.' + valid.split('.')[2]],
    ['standard base64 alphabet', standardAlphabet(valid)],
    ['standard base64 "/" in the signature', replaceSignature(valid, valid.split('.')[2].slice(0, -2) + '/A')],
    [
      'non-canonical last character of the header',
      validHeader.slice(0, -1) + String.fromCharCode(validHeader.charCodeAt(validHeader.length - 1) + 1) + '.' + validPayload + '.' + valid.split('.')[2],
    ],
    ['impossible segment length (4n+1)', validHeader + 'A.' + validPayload + '.' + valid.split('.')[2]],
    ['a space inside the token', validHeader + '.' + validPayload.slice(0, 5) + ' ' + validPayload.slice(5) + '.' + valid.split('.')[2]],
    ['latin-1 characters', validHeader + '.' + validPayload + '.\u00e9\u00e8'],
    // size
    ['20 KB of base64url in one segment', big.slice(0, 20480)],
    ['20 KB token of three segments', big.slice(0, 10000) + '.' + big.slice(0, 10000) + '.' + big.slice(0, 480)],
    // invalid UTF-8
    ['invalid UTF-8 in the header JSON', hmacToken(new Uint8Array([...utf8('{"alg":"HS256","x":"'), 0xff, 0xfe, ...utf8('"}')]), claims)],
    ['invalid UTF-8 in the payload JSON', josePayloadToken(new Uint8Array([...utf8('{"key":"jack-key","x":"'), 0xc3, 0x28, ...utf8('"}')]))],
    ['overlong UTF-8 encoding in the payload', josePayloadToken(new Uint8Array([...utf8('{"key":"jack-key","x":"'), 0xc0, 0xaf, ...utf8('"}')]))],
    // duplicate member names
    ['duplicate alg: HS256 then none', hmacToken('{"alg":"HS256","alg":"none"}', claims)],
    ['duplicate alg: none then HS256', hmacToken('{"alg":"none","alg":"HS256"}', claims)],
    ['duplicate alg spelled with an escape', hmacToken('{"alg":"HS256","\\u0061lg":"none"}', claims)],
    ['duplicate key claim', josePayloadToken('{"key":"nobody","key":"jack-key","exp":' + (now() + 600) + '}')],
    ['duplicate exp claim (expired, then future)', josePayloadToken('{"key":"jack-key","exp":1,"exp":' + (now() + 600) + '}')],
    ['duplicate member in a nested object', josePayloadToken('{"key":"jack-key","x":{"a":1,"a":2}}')],
    // JSON that is not an object
    ['header is a JSON array', hmacToken('[]', claims)],
    ['header is ["HS256"]', hmacToken('["HS256"]', claims)],
    ['header is null', hmacToken('null', claims)],
    ['header is a string', hmacToken('"HS256"', claims)],
    ['header is a number', hmacToken('256', claims)],
    ['header is empty', hmacToken('', claims)],
    ['payload is a JSON array', josePayloadToken('[{"key":"jack-key"}]')],
    ['payload is null', josePayloadToken('null')],
    ['payload is a string', josePayloadToken('"jack-key"')],
    ['header JSON with trailing garbage', hmacToken('{"alg":"HS256"}x', claims)],
    ['header with single quotes', hmacToken("{'alg':'HS256'}", claims)],
    ['header with a comment', hmacToken('{"alg":"HS256" /* x */}', claims)],
    ['truncated header JSON', hmacToken('{"alg":"HS256"', claims)],
    // nesting bombs
    ['array depth bomb (5000) in the header', hmacToken('{"alg":"HS256","x":' + nested(5000, '[', ']', '') + '}', claims)],
    ['object depth bomb (1500) in the payload', josePayloadToken('{"key":"jack-key","x":' + nested(1500, '{"a":', '}', '1') + '}')],
    ['depth 40 in the payload', josePayloadToken('{"key":"jack-key","x":' + nested(40, '[', ']', '1') + '}')],
    ['unbalanced brackets', josePayloadToken('{"key":"jack-key","x":' + '['.repeat(3000) + '}')],
    // odd types in header and claims, validly signed
    ['alg is a number', hmacToken('{"alg":256}', claims)],
    ['alg is null', hmacToken('{"alg":null}', claims)],
    ['alg is an array', hmacToken('{"alg":["HS256"]}', claims)],
    ['alg in lower case', hmacToken('{"alg":"hs256"}', claims)],
    ['alg with a trailing space', hmacToken('{"alg":"HS256 "}', claims)],
    ['no alg at all', hmacToken('{"typ":"JWT"}', claims)],
    ['crit names an unknown parameter', hmacToken('{"alg":"HS256","crit":["exp"],"exp":1}', claims)],
    ['crit is not an array', hmacToken('{"alg":"HS256","crit":"b64"}', claims)],
    ['exp is a string', josePayloadToken('{"key":"jack-key","exp":"' + (now() + 600) + '"}')],
    ['exp overflows to Infinity', josePayloadToken('{"key":"jack-key","exp":1e400}')],
    ['exp is null', josePayloadToken('{"key":"jack-key","exp":null}')],
    ['nbf is a boolean', josePayloadToken('{"key":"jack-key","nbf":true}')],
    ['key claim is an array', josePayloadToken('{"key":["jack-key"]}')],
    ['key claim is an object', josePayloadToken('{"key":{"key":"jack-key"}}')],
    ['key claim is a number', josePayloadToken('{"key":1}')],
    ['key claim is empty', josePayloadToken('{"key":""}')],
    ['key claim names __proto__', josePayloadToken('{"key":"__proto__"}')],
    ['key claim names constructor', josePayloadToken('{"key":"constructor"}')],
    // signatures of the wrong size or encoding
    ['HS256 signature of one byte', replaceSignature(valid, new Uint8Array([1]))],
    ['HS256 signature of 1000 bytes', replaceSignature(valid, randomBytes(20, 1000))],
    ['ES256 signature of zeros (psychic signature)', replaceSignature(bobToken, new Uint8Array(64))],
    ['ES256 signature with r = 0', replaceSignature(bobToken, new Uint8Array([...new Uint8Array(32), ...bobSignature.subarray(32)]))],
    ['ES256 signature with s = 0', replaceSignature(bobToken, new Uint8Array([...bobSignature.subarray(0, 32), ...new Uint8Array(32)]))],
    ['ES256 signature of 63 bytes', replaceSignature(bobToken, bobSignature.subarray(0, 63))],
    ['ES256 signature of 65 bytes', replaceSignature(bobToken, new Uint8Array([...bobSignature, 0]))],
    ['ES256 signature of one byte', replaceSignature(bobToken, new Uint8Array([1]))],
    ['ES256 signature DER-encoded', replaceSignature(bobToken, derSignature(bobSignature).toString('base64url'))],
    ['ES256 signature with r and s swapped', replaceSignature(bobToken, new Uint8Array([...bobSignature.subarray(32), ...bobSignature.subarray(0, 32)]))],
    ['RS256 signature of one byte', replaceSignature(aliceToken, new Uint8Array([1]))],
    ['RS256 signature of 255 bytes', replaceSignature(aliceToken, aliceSignature.subarray(1))],
    ['RS256 signature of zeros', replaceSignature(aliceToken, new Uint8Array(256))],
    ['RS256 signature of 512 bytes', replaceSignature(aliceToken, new Uint8Array([...aliceSignature, ...aliceSignature]))],
    ['RS256 signature all 0xff', replaceSignature(aliceToken, new Uint8Array(256).fill(0xff))],
    [
      'RS256 token signed with SHA-1 (node:crypto)',
      (() => {
        const input = aliceToken.split('.').slice(0, 2).join('.');
        const key = KeyObject.from(alice.privateKey as unknown as webcrypto.CryptoKey);
        return input + '.' + createSign('sha1').update(input).sign(key).toString('base64url');
      })(),
    ],
  ];
  const out: [string, string][] = [];
  for (const [label, token] of list) out.push([label, await token]);
  return out;
}

const KNOWN_BODIES = [MESSAGES.missing, MESSAGES.invalid, MESSAGES.noKey, MESSAGES.unknownKey, MESSAGES.verifyFailed, MESSAGES.multiple].map((m) => m.message);

/** Why the reply is not the expected 401, or null when it is. */
function not401(reply: Reply, label: string): string | null {
  let message: unknown;
  try {
    message = JSON.parse(reply.text).message;
  } catch {
    message = undefined;
  }
  const problems: string[] = [];
  if (reply.status !== 401) problems.push('status ' + reply.status);
  if (typeof message !== 'string' || !KNOWN_BODIES.includes(message) || !/^\{"message":"[^"]+"\}$/.test(reply.text))
    problems.push('body ' + reply.text.slice(0, 120));
  if (!/^Bearer realm="jwt"/.test(String(reply.headers['www-authenticate']))) problems.push('WWW-Authenticate ' + reply.headers['www-authenticate']);
  if (!/^application\/json/.test(String(reply.headers['content-type']))) problems.push('Content-Type ' + reply.headers['content-type']);
  return problems.length ? label + ': ' + problems.join('; ') : null;
}

/** Sends every token, then reports all that were not a proper 401 at once. */
async function expectAll401(tokens: [string, string][], send: (token: string) => Promise<Reply>): Promise<void> {
  const failures: string[] = [];
  for (const [label, token] of tokens) {
    const problem = not401(await send(token), label);
    if (problem) failures.push(problem);
  }
  expect(failures).toEqual([]);
}

describe('malformed tokens', () => {
  let tokens: [string, string][] = [];
  beforeAll(async () => {
    tokens = await malformedTokens();
  });

  it('there are at least fifty of them', async () => {
    expect(tokens.length).toBeGreaterThanOrEqual(50);
  });

  for (const location of ['/c/', '/k/', '/ar/']) {
    it('each is a 401 in the Authorization header at ' + location, async () => {
      // A JWK Set has no key claim: the tokens that are broken only there are fine at /k/.
      const relevant = location === '/k/' ? tokens.filter(([label]) => !label.startsWith('key claim')) : tokens;
      await expectAll401(relevant, (token) => g().get(location + 'x', { Authorization: 'Bearer ' + token }));
    });
  }

  for (const location of ['/c/', '/ar/']) {
    it('each is a 401 as the query argument at ' + location, async () => {
      await expectAll401(tokens, (token) => g().get(location + 'x?jwt=' + encodeURIComponent(token)));
    });

    it('each is a 401 as the cookie at ' + location, async () => {
      // A space, ';' or ',' cannot be in a cookie value at all.
      const cookieSafe = tokens.filter(([, token]) => !/[\s;,\u0080-\uffff]/.test(token));
      await expectAll401(cookieSafe, (token) => g().get(location + 'x', { Cookie: 'jwt=' + token }));
    });
  }

  it('the valid token the malformed ones derive from does pass (the harness can tell)', async () => {
    const valid = await new SignJWT(jackClaims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(SECRET);
    for (const location of ['/c/', '/ar/']) expect((await g().get(location + 'x', { Authorization: 'Bearer ' + valid })).status).toBe(200);
    expect((await g().get('/c/x', { Authorization: 'Bearer ' + (await josePayloadToken(JSON.stringify(jackClaims()))) })).status).toBe(200);
    expect((await g().get('/c/x', { Authorization: 'Bearer ' + hmacToken('{"alg":"HS256"}', JSON.stringify(jackClaims())) })).status).toBe(200);
  });
});

describe('odd ways of sending a token', () => {
  const cases: [string, string, { [name: string]: string }][] = [
    ['Bearer and nothing else', '/c/x', { Authorization: 'Bearer' }],
    ['Bearer and spaces', '/c/x', { Authorization: 'Bearer     ' }],
    ['Basic credentials', '/c/x', { Authorization: 'Basic dXNlcjpwYXNz' }],
    ['Bearer twice', '/c/x', { Authorization: 'Bearer Bearer abc.def.ghi' }],
    ['several words', '/c/x', { Authorization: 'Bearer a b c' }],
    ['an empty query argument', '/c/x?jwt=', {}],
    ['a query argument without value', '/c/x?jwt', {}],
    ['a bad percent escape', '/c/x?jwt=%ZZ', {}],
    ['a percent-encoded NUL', '/c/x?jwt=%00', {}],
    ['a truncated percent escape', '/c/x?jwt=abc%E0%A4%A', {}],
    ['percent-encoded invalid UTF-8', '/c/x?jwt=%FF%FE.%FF.%FF', {}],
    ['a bad percent escape through auth_request', '/ar/x?jwt=%ZZ', {}],
    ['a truncated percent escape through auth_request', '/ar/x?jwt=abc%E0%A4%A', {}],
    ['percent-encoded invalid UTF-8 through auth_request', '/ar/x?jwt=%FF%FE.%FF.%FF', {}],
    ['jwt given twice in the query', '/c/x?jwt=a.b.c&jwt=d.e.f', {}],
    ['an empty cookie', '/c/x', { Cookie: 'jwt=' }],
    ['a quoted cookie', '/c/x', { Cookie: 'jwt="abc.def.ghi"' }],
    ['the cookie twice', '/c/x', { Cookie: 'jwt=abc.def.ghi; jwt=jkl.mno.pqr' }],
    ['a 20 KB header of junk', '/c/x', { Authorization: 'Bearer ' + 'x'.repeat(20480) }],
    ['a 20 KB header of junk through auth_request', '/ar/x', { Authorization: 'Bearer ' + 'x'.repeat(20480) }],
    ['a 20 KB cookie', '/c/x', { Cookie: 'jwt=' + 'A'.repeat(20480) }],
    ['a 20 KB query argument', '/c/x?jwt=' + 'A'.repeat(20480), {}],
  ];
  for (const [name, path, headers] of cases) {
    it(name + ': 401', async () => {
      expect(not401(await g().get(path, headers), name)).toBeNull();
    });
  }

  /** Bytes node:http refuses to send (control characters), written to the socket as they are. */
  function raw(request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(g().nginx.ports.PORT, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
      socket.end(Buffer.from(request, 'latin1'));
    });
  }

  for (const [name, value] of [
    ['a control character', 'Bearer abc\x01def.ghi.jkl'],
    ['a DEL character', 'Bearer abc\x7f.def.ghi'],
    ['bytes above 0x7f', 'Bearer \xff\xfe\xfd.\x80.\x81'],
    ['a tab before the token', 'Bearer\tabc.def.ghi'],
  ]) {
    it(name + ' in the header (raw socket): 401, or 400 from nginx itself, never 5xx', async () => {
      for (const location of ['/c/x', '/ar/x']) {
        const response = await raw('GET ' + location + ' HTTP/1.1\r\nHost: x\r\nAuthorization: ' + value + '\r\nConnection: close\r\n\r\n');
        const status = Number(response.slice(9, 12));
        g().seen.push({ method: 'GET', path: location + ' (raw: ' + name + ')', status });
        expect([400, 401]).toContain(status);
      }
    });
  }

  it('two Authorization headers: 401 or 400, never 5xx', async () => {
    const reply = await g().request('/c/x', { headers: { Authorization: ['Bearer abc.def', 'Bearer ghi.jkl'] as unknown as string } });
    expect([400, 401]).toContain(reply.status);
  });
});
