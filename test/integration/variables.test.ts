/**
 * The $jwt_* variables as NGINX Plus users use them: in log_format, as the
 * key of limit_req_zone (preaccess phase), in proxy_set_header. They hold
 * verified values only: a forged token leaves them empty, so it can neither
 * be logged as its victim nor spend the victim's rate-limit quota. And one
 * request verifies its token once, however many variables it reads.
 */
import { SignJWT } from 'jose';
import { expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, now, unique } from '../support/gateway';

const CONFIG = gatewayConfig({
  http: `
    log_format jwtvars escape=json '{"probe":"$arg_probe","status":"$status","sub":"$jwt_claim_sub","iss":"$jwt_claim_iss","aud":"$jwt_claim_aud",'
                                   '"alg":"$jwt_header_alg","kid":"$jwt_header_kid","consumer":"$jwt_consumer","credential":"$jwt_credential",'
                                   '"payload":"$jwt_payload","upstream":"$upstream_addr"}';
    log_format upstream_seen escape=json '{"url":"$request_uri","consumer":"$http_x_consumer_username"}';
    js_preload_object test_consumers from \${PREFIX}/consumers.json;

    limit_req_zone $jwt_claim_sub zone=per_sub:1m rate=1r/m;
    limit_req_status 429;
  `,
  accessLogFormat: 'jwtvars',
  echo: { accessLog: '${PREFIX}/logs/upstream.log upstream_seen' },
  server: `
    set $auth_jwt_consumers test_consumers;

    # Reads every variable: in the log_format above and in the headers below.
    location /vars/ {
        include \${ROOT}/nginx/jwt-auth.conf;
        include \${ROOT}/nginx/jwt-proxy-headers.conf;
        proxy_set_header X-Jwt-Sub $jwt_claim_sub;
        proxy_set_header X-Jwt-Iss $jwt_claim_iss;
        proxy_set_header X-Jwt-Aud $jwt_claim_aud;
        proxy_set_header X-Jwt-Exp $jwt_claim_exp;
        proxy_set_header X-Jwt-Iat $jwt_claim_iat;
        proxy_set_header X-Jwt-Jti $jwt_claim_jti;
        proxy_set_header X-Jwt-Alg $jwt_header_alg;
        proxy_set_header X-Jwt-Kid $jwt_header_kid;
        proxy_set_header X-Jwt-Typ $jwt_header_typ;
        proxy_set_header X-Jwt-Payload $jwt_payload;
        proxy_pass http://echo_upstream;
    }

    # Authenticated and rate limited per verified sub.
    location /limited/ {
        include \${ROOT}/nginx/jwt-auth.conf;
        include \${ROOT}/nginx/jwt-proxy-headers.conf;
        limit_req zone=per_sub nodelay;
        proxy_pass http://echo_upstream;
    }

    # Rate limited per verified sub, but open to all: an unverified token has no sub.
    location /limit-only/ {
        limit_req zone=per_sub nodelay;
        proxy_pass http://echo_upstream;
    }
  `,
});

const SECRET = new TextEncoder().encode('variables-test-secret-of-good-length-0123456789');
const WRONG_SECRET = new TextEncoder().encode('not-the-secret-of-the-credential-0123456789abc');
const CONSUMERS = {
  consumers: [
    { username: 'carol', labels: { custom_id: 'c-42' }, credentials: [{ id: 'cred-carol', key: 'carol-key', secret: new TextDecoder().decode(SECRET) }] },
  ],
};

const { it, g } = gatewayPerFile(() => ({ config: CONFIG, ports: ['PORT', 'ECHO_PORT'], files: { 'consumers.json': JSON.stringify(CONSUMERS) } }));

function token(claims: { [name: string]: unknown }, secret = SECRET, kid = 'k1'): Promise<string> {
  return new SignJWT({ key: 'carol-key', exp: now() + 600, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid }).sign(secret);
}

interface VarsLine {
  probe: string;
  status: string;
  sub: string;
  iss: string;
  aud: string;
  alg: string;
  kid: string;
  consumer: string;
  credential: string;
  payload: string;
  upstream: string;
}

async function varsLine(probe: string): Promise<VarsLine> {
  return JSON.parse(await g().logLine('access.log', '"probe":"' + probe + '"')) as VarsLine;
}

function upstreamSaw(probe: string): string[] {
  return g()
    .readLog('upstream.log')
    .split('\n')
    .filter((line) => line.includes(probe));
}

/** Tokens that carry a victim's sub but must not be trusted, with the 401 body each gets. */
const forgeries: [string, (sub: string) => Promise<string>, { message: string }][] = [
  ['a bad signature', (sub) => token({ sub, iss: 'https://issuer.example', aud: ['api-a'] }, WRONG_SECRET), MESSAGES.verifyFailed],
  ['an unknown credential key', (sub) => token({ sub, key: 'nobody' }), MESSAGES.unknownKey],
  ['an expired token', (sub) => token({ sub, exp: now() - 60 }), MESSAGES.verifyFailed],
  [
    'alg none',
    async (sub) => {
      const [, payload] = (await token({ sub })).split('.');
      return Buffer.from('{"alg":"none","kid":"k1"}').toString('base64url') + '.' + payload + '.';
    },
    MESSAGES.invalid,
  ],
  [
    'alg none with the genuine signature kept',
    async (sub) => {
      const [, payload, signature] = (await token({ sub })).split('.');
      return Buffer.from('{"alg":"none","kid":"k1"}').toString('base64url') + '.' + payload + '.' + signature;
    },
    MESSAGES.verifyFailed,
  ],
];

describe('log_format with $jwt_* variables', () => {
  it('a valid token logs its verified claims, header, identity and payload', async () => {
    const probe = unique('valid');
    const sub = unique('sub');
    const jwt = await token({ sub, iss: 'https://issuer.example', aud: ['api-a', 'api-b'] });
    const echo = await g().echo('/vars/x?probe=' + probe, { Authorization: 'Bearer ' + jwt });
    const payloadText = Buffer.from(jwt.split('.')[1], 'base64url').toString();
    expect(await varsLine(probe)).toEqual({
      probe,
      status: '200',
      sub,
      iss: 'https://issuer.example',
      aud: 'api-a,api-b',
      alg: 'HS256',
      kid: 'k1',
      consumer: 'carol',
      credential: 'cred-carol',
      payload: payloadText,
      upstream: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    expect(echo.headers).toMatchObject({
      'X-Jwt-Sub': sub,
      'X-Jwt-Iss': 'https://issuer.example',
      'X-Jwt-Aud': 'api-a,api-b',
      'X-Jwt-Alg': 'HS256',
      'X-Jwt-Kid': 'k1',
      'X-Jwt-Typ': 'JWT',
      'X-Jwt-Payload': payloadText,
      'X-Consumer-Username': 'carol',
      'X-Credential-Identifier': 'cred-carol',
      'X-Consumer-Custom-Id': 'c-42',
    });
    expect(echo.headers['X-Jwt-Exp']).toMatch(/^\d+$/);
    expect(echo.headers['X-Jwt-Jti']).toBeUndefined();
  });

  it('a single aud string is logged as is', async () => {
    const probe = unique('aud');
    await g().echo('/vars/x?probe=' + probe, { Authorization: 'Bearer ' + (await token({ sub: 's', aud: 'only-one' })) });
    expect((await varsLine(probe)).aud).toBe('only-one');
  });

  for (const [name, forge, body] of forgeries) {
    it(name + ' with a victim sub logs empty values and never reaches the upstream', async () => {
      const probe = unique('forged');
      const reply = await g().get('/vars/x?probe=' + probe, {
        Authorization: 'Bearer ' + (await forge('victim')),
        'X-Consumer-Username': 'admin',
        'X-Jwt-Sub': 'victim',
      });
      expectRejected(reply, body);
      expect(await varsLine(probe)).toEqual({
        probe,
        status: '401',
        sub: '',
        iss: '',
        aud: '',
        alg: '',
        kid: '',
        consumer: '',
        credential: '',
        payload: '',
        upstream: '',
      });
      expect(upstreamSaw(probe)).toEqual([]);
    });
  }

  it('requests that pass do reach the upstream log (the negative check above can fail)', async () => {
    const probe = unique('seen');
    await g().echo('/vars/x?probe=' + probe, { Authorization: 'Bearer ' + (await token({ sub: 's' })), 'X-Consumer-Username': 'admin' });
    const lines = upstreamSaw(probe);
    expect(lines.length).toBe(1);
    expect(JSON.parse(lines[0]).consumer).toBe('carol');
  });
});

describe('limit_req_zone keyed by $jwt_claim_sub', () => {
  it('is ready in the preaccess phase: the second quick request of one sub is 429', async () => {
    const sub = unique('limited');
    const first = await g().get('/limited/a', { Authorization: 'Bearer ' + (await token({ sub })) });
    const second = await g().get('/limited/b', { Authorization: 'Bearer ' + (await token({ sub })) });
    expect([first.status, second.status]).toEqual([200, 429]);
    // Another sub has its own quota.
    const other = await g().get('/limited/c', { Authorization: 'Bearer ' + (await token({ sub: unique('other') })) });
    expect(other.status).toBe(200);
  });

  it("forged tokens with the victim's sub are 401 and do not spend the victim's quota", async () => {
    const victim = unique('victim');
    for (const [, forge, body] of forgeries) {
      expectRejected(await g().get('/limited/x', { Authorization: 'Bearer ' + (await forge(victim)) }), body);
    }
    const real = await g().get('/limited/x', { Authorization: 'Bearer ' + (await token({ sub: victim })) });
    expect(real.status).toBe(200);
    const again = await g().get('/limited/x', { Authorization: 'Bearer ' + (await token({ sub: victim })) });
    expect(again.status).toBe(429);
  });

  it('without authentication in the location, an unverified sub is empty and so never limited or charged', async () => {
    const victim = unique('open');
    for (let i = 0; i < 3; i++) {
      for (const [, forge] of forgeries) {
        const reply = await g().get('/limit-only/x', { Authorization: 'Bearer ' + (await forge(victim)) });
        expect(reply.status).toBe(200);
      }
    }
    const real = await g().get('/limit-only/x', { Authorization: 'Bearer ' + (await token({ sub: victim })) });
    expect(real.status).toBe(200);
    const again = await g().get('/limit-only/x', { Authorization: 'Bearer ' + (await token({ sub: victim })) });
    expect(again.status).toBe(429);
  });
});

describe('one verification per request', () => {
  function rejectedLines(): number {
    return (
      g()
        .nginx.errorLog()
        .match(/jwt-gateway: rejected/g) || []
    ).length;
  }

  it('an invalid token read through a dozen variables logs exactly one rejection', async () => {
    const probe = unique('once');
    const before = rejectedLines();
    const reply = await g().get('/vars/x?probe=' + probe, { Authorization: 'Bearer ' + (await token({ sub: 'victim' }, WRONG_SECRET)) });
    expectRejected(reply, MESSAGES.verifyFailed);
    await varsLine(probe); // the log phase, the last reader of the variables, is over
    const added = g()
      .nginx.errorLog()
      .split('\n')
      .filter((line) => line.includes('jwt-gateway:'))
      .slice(-5);
    expect(rejectedLines() - before).toBe(1);
    expect(added[added.length - 1]).toMatch(/\[info\].*jwt-gateway: rejected 401 SIGNATURE_INVALID/);
  });

  it('a valid token read through a dozen variables logs no rejection', async () => {
    const probe = unique('once-valid');
    const before = rejectedLines();
    await g().echo('/vars/x?probe=' + probe, { Authorization: 'Bearer ' + (await token({ sub: 'fine' })) });
    await varsLine(probe);
    expect(rejectedLines() - before).toBe(0);
  });

  it('a request without a token logs one rejection too', async () => {
    const probe = unique('once-missing');
    const before = rejectedLines();
    expectRejected(await g().get('/vars/x?probe=' + probe), MESSAGES.missing, { tokenSent: false });
    await varsLine(probe);
    expect(rejectedLines() - before).toBe(1);
  });
});
