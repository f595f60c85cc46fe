/**
 * Identity providers' keys fetched by nginx itself ($auth_jwt_oidc_issuer,
 * $auth_jwt_jwks_uri; njs >= 0.8.1: js_periodic, ngx.fetch and a
 * js_shared_dict_zone), against real OpenID Providers (oidc-provider) issuing
 * their own JWT access tokens: their tokens pass and others do not; a key
 * rotation is followed without a reload and without refusing a valid token;
 * an outage keeps the last good keys up to the maximum stale age, then
 * fails closed; a flood of unknown kids fetches at most once per interval;
 * answers that are no good JWK Set, and a discovery document for another
 * issuer, never replace good keys; https with a CA the test makes. On njs
 * without shared memory (0.7.9) the direct style's settings are a documented
 * config error (the auth_request styles fetch there: remote-jwks-subrequest.test.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AUDIENCE,
  BAD_JWKS_ANSWERS,
  forgedToken,
  httpsFront,
  IdentityProvider,
  STALE_SSL_ERROR,
  startIdentityProvider,
  testCertificates,
  withKid,
} from '../support/identity-provider';
import { authLocation, authRequestStyle, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, until, whenPassing } from '../support/gateway';
import { engine } from '../support/nginx';

const PERIODIC = engine().features.periodic;
const bearer = (token: string) => ({ Authorization: 'Bearer ' + token });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The refresher runs every 5 s (jwt-jwks-refresh.conf): what it logs may take that long and a fetch more. */
const REFRESH_WAIT_MS = 12000;

if (!PERIODIC) {
  const { it, g } = gatewayPerFile(() => ({
    config: gatewayConfig({
      server: [
        authLocation('/api/', ['set $auth_jwt_oidc_issuer https://idp.example;']),
        authLocation('/uri/', ['set $auth_jwt_jwks_uri https://idp.example/jwks;']),
      ],
    }),
    ports: ['PORT', 'ECHO_PORT'],
  }));

  it('without js_periodic and ngx.shared (njs < 0.8.1), an identity provider setting in the direct style is a config error: 401 and the line that says what to use', async () => {
    for (const [location, setting] of [
      ['/api/x', 'oidc_issuer'],
      ['/uri/x', 'jwks_uri'],
    ]) {
      expectRejected(await g().get(location, bearer('a.b.c')), MESSAGES.verifyFailed, { tokenSent: false });
      await g().logLine(
        'error.log',
        new RegExp(
          'config error: \\$auth_jwt_' +
            setting +
            ': the direct style needs njs >= 0\\.8\\.1 \\(js_shared_dict_zone, js_periodic\\), this is njs [0-9.]+: use an auth_request style \\(nginx/jwt-jwks-request-locations\\.conf\\) or `jwt-gateway jwks sync`',
        ),
      );
    }
  });
} else {
  /** The main provider; `partner` a second one for a location with two; `flood` and `down` have one test each to themselves. */
  let idp: IdentityProvider;
  let partner: IdentityProvider;
  let flood: IdentityProvider;
  let down: IdentityProvider;
  let certificates: string;
  let trusted: { url: string; close: () => void };
  let untrusted: { url: string; close: () => void };

  beforeAll(async () => {
    [idp, partner, flood, down] = await Promise.all([startIdentityProvider(), startIdentityProvider(), startIdentityProvider(), startIdentityProvider()]);
    certificates = testCertificates();
    trusted = await httpsFront(certificates, partner);
    // The same kind of certificate from a CA nginx is not told of.
    untrusted = await httpsFront(testCertificates(), partner);
  }, 60000);
  afterAll(async () => {
    trusted?.close();
    untrusted?.close();
    await Promise.all([idp, partner, flood, down].map((provider) => provider?.stop()));
  });

  const issuer = (provider: IdentityProvider, more: string[] = []) => ['set $auth_jwt_oidc_issuer "' + provider.issuer + '";', ...more];
  /** Fetched keys are kept 600 s unless a token's unknown kid asks again (every 2 s at most). */
  const SLOW = ['set $auth_jwt_jwks_min_refresh 600;', 'set $auth_jwt_jwks_max_refresh 600;', 'set $auth_jwt_jwks_refetch_interval 2;'];
  /** Fetched every second. */
  const FAST = ['set $auth_jwt_jwks_min_refresh 1;', 'set $auth_jwt_jwks_max_refresh 1;', 'set $auth_jwt_jwks_refetch_interval 1;'];
  const uncached = authRequestStyle('uncached');
  const cached = authRequestStyle('cached');

  const { it, g } = gatewayPerFile(
    () => ({
      config: gatewayConfig({
        http: ['js_shared_dict_zone zone=jwt_jwks:1m;', 'js_shared_dict_zone zone=jwt_verified:1m timeout=60s evict;', cached.http].join('\n'),
        // The cached auth_request style, in a server of its own (its /_jwt_auth is another).
        servers: [
          [
            'server {',
            '    listen 127.0.0.1:${CACHED_PORT};',
            ...cached.locations.split('\n').map((line) => '    ' + line),
            '    location /cached/ {',
            ...issuer(idp, SLOW).map((line) => '        ' + line),
            '        include ${ROOT}/nginx/jwt-auth-request.conf;',
            '        proxy_pass http://echo_upstream;',
            '    }',
            '}',
          ].join('\n'),
        ],
        server: [
          // The refresher trusts the test CA for https (inherited from the server).
          'js_fetch_trusted_certificate ${PREFIX}/ca.pem;',
          'include ${ROOT}/nginx/jwt-jwks-refresh.conf;',
          uncached.locations,
          authLocation('/api/', issuer(idp, [...SLOW, 'set $auth_jwt_audience "' + AUDIENCE + '";', 'set $auth_jwt_claim_rules "scope contains read";']), [
            'proxy_set_header X-Sub $jwt_claim_sub;',
            'proxy_set_header X-Kid $jwt_header_kid;',
          ]),
          authLocation('/other-audience/', issuer(idp, [...SLOW, 'set $auth_jwt_audience "https://other.example";'])),
          authLocation('/fast/', issuer(idp, FAST)),
          authLocation('/named/', ['set $auth_jwt_oidc_issuer "corp=' + idp.issuer + ' partner=' + partner.issuer + '";', ...SLOW]),
          authLocation('/flood/', issuer(flood, SLOW)),
          authLocation('/down/', issuer(down, [...FAST, 'set $auth_jwt_jwks_max_stale 8;'])),
          authLocation('/tls/', ['set $auth_jwt_jwks_uri ' + trusted.url + ';', ...SLOW]),
          authLocation('/untrusted/', ['set $auth_jwt_jwks_uri ' + untrusted.url + ';', ...SLOW]),
          authLocation('/verified-cache/', issuer(idp, [...SLOW, 'set $auth_jwt_cache_zone jwt_verified;']), [
            'add_header X-Jwt-Cache $jwt_cache_status always;',
          ]),
          authLocation('/no-zone/', issuer(idp, ['set $auth_jwt_jwks_zone missing_zone;'])),
          [
            'location /subrequest/ {',
            ...issuer(idp, SLOW).map((line) => '    ' + line),
            '    include ${ROOT}/nginx/jwt-auth-request.conf;',
            '    proxy_pass http://echo_upstream;',
            '}',
          ].join('\n'),
        ],
      }),
      ports: ['PORT', 'ECHO_PORT', 'CACHED_PORT'],
      files: { 'ca.pem': readFileSync(path.join(certificates, 'ca.pem'), 'utf8') },
    }),
    60000,
    [STALE_SSL_ERROR],
  );

  /** A token through `location` once its provider's keys are fetched (the first requests after start are refused until then). */
  const passes = (location: string, token: string) => whenPassing(g(), location, token);

  it("before the first fetch the provider's tokens get 401 with an error line; once fetched, they pass, and others' do not", async () => {
    const token = await idp.token();
    const first = await g().get('/api/x', bearer(token));
    if (first.status !== 200) {
      expectRejected(first, MESSAGES.verifyFailed);
      await g().logLine('error.log', /rejected 401 KEYS_UNAVAILABLE: keys of issuer http:\/\/127\.0\.0\.1:[0-9]+ not fetched yet/);
    }
    expect((await passes('/api/x', token)).status).toBe(200);
    const echo = await g().echo('/api/x', bearer(token));
    expect(echo.headers['X-Sub']).toBe('api-client');
    await g().logLine(
      'error.log',
      new RegExp('keys of issuer ' + idp.issuer.replace(/\./g, '\\.') + ' fetched: 1 usable of 1, next fetch in 600 s'),
      REFRESH_WAIT_MS,
    );
    expectRejected(await g().get('/other-audience/x', bearer(token)), MESSAGES.verifyFailed);
    expect((await g().get('/api/x', bearer(await idp.token({ scope: 'write' })))).status).toBe(403);
    // Another issuer's token (a real one, from the partner provider) and a token claiming this issuer, signed by a key it never had.
    expectRejected(await g().get('/api/x', bearer(await partner.token())), MESSAGES.verifyFailed);
    expectRejected(await g().get('/api/x', bearer(await forgedToken(idp))), MESSAGES.verifyFailed);
  });

  it("both auth_request styles and the direct style's cache read the same fetched keys", async () => {
    const token = await idp.token();
    const other = await partner.token();
    expect((await passes('/subrequest/x', token)).status).toBe(200);
    expectRejected(await g().get('/subrequest/x', bearer(other)), MESSAGES.verifyFailed);
    const viaCached = () => g().request('/cached/x', { headers: bearer(token), port: 'CACHED_PORT' });
    expect((await until(viaCached, (reply) => reply.status === 200)).status).toBe(200);
    expectRejected(await g().request('/cached/x', { headers: bearer(other), port: 'CACHED_PORT' }), MESSAGES.verifyFailed);
    const first = await passes('/verified-cache/x', token);
    expect(first.status).toBe(200);
    const again = await g().get('/verified-cache/x', bearer(token));
    expect({ status: again.status, cache: again.headers['x-jwt-cache'] }).toEqual({ status: 200, cache: 'hit' });
    expectRejected(await g().get('/verified-cache/x', bearer(other)), MESSAGES.verifyFailed);
  });

  it("several issuers on one location: each token is verified with its own issuer's keys, and $jwt_consumer is the issuer's name", async () => {
    const corp = await idp.token();
    const other = await partner.token();
    expect((await passes('/named/x', corp)).status).toBe(200);
    expect((await passes('/named/x', other)).status).toBe(200);
    expect((await g().echo('/named/x', bearer(corp))).headers['X-Consumer-Username']).toBe('corp');
    expect((await g().echo('/named/x', bearer(other))).headers['X-Consumer-Username']).toBe('partner');
  });

  it('a rotation: tokens of the new key pass within the refetch interval, without a reload and without refusing an old token; the withdrawn key is refused once the keys are fetched again', async () => {
    const before = await idp.token();
    expect((await passes('/api/x', before)).status).toBe(200);
    await idp.rotate();
    const after = await idp.token();
    // Traffic with the old key all along: not one refusal.
    let running = true;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (running) statuses.push((await g().get('/api/x', bearer(before))).status);
    })();
    const started = Date.now();
    const renewed = await passes('/api/x', after);
    const waited = Date.now() - started;
    running = false;
    await traffic;
    expect(renewed.status).toBe(200);
    // The flag is answered by the refresher's next run (every 5 s).
    expect(waited).toBeLessThan(9000);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    await idp.withdrawOld();
    // A token with a kid the keys lack asks for a fetch, which drops the withdrawn key.
    await g().get('/api/x', bearer(withKid(after, 'no-such-kid')));
    const refused = await until(
      () => g().get('/api/x', bearer(before)),
      (reply) => reply.status === 401,
    );
    expectRejected(refused, MESSAGES.verifyFailed);
    expect((await g().get('/api/x', bearer(after))).status).toBe(200);
  });

  it('a flood of tokens with random kids fetches the keys at most once per refetch interval', async () => {
    const token = await flood.token();
    expect((await passes('/flood/x', token)).status).toBe(200);
    const before = flood.jwksRequests();
    const started = Date.now();
    let sent = 0;
    const worker = async () => {
      while (sent < 3000) {
        sent++;
        const reply = await g().get('/flood/x', bearer(withKid(token, 'random-' + Math.random().toString(36).slice(2))));
        expect(reply.status).toBe(401);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    // The refresher's next run (every 5 s) answers the flag.
    await sleep(6000);
    const seconds = (Date.now() - started) / 1000;
    const fetches = flood.jwksRequests() - before;
    // One fetch per 2 s interval at most (and one more for an interval begun at the start).
    expect(fetches).toBeGreaterThan(0);
    expect(fetches).toBeLessThanOrEqual(Math.ceil(seconds / 2) + 1);
    expect((await g().get('/flood/x', bearer(token))).status).toBe(200);
  });

  for (const [what, body, contentType, message] of BAD_JWKS_ANSWERS) {
    it(what + ' never replaces the good keys (an error line, and tokens keep passing)', async () => {
      const token = await idp.token();
      expect((await passes('/fast/x', token)).status).toBe(200);
      idp.replaceJwks(body, contentType);
      try {
        const line = await g().logLine(
          'error.log',
          new RegExp('keys of issuer ' + idp.issuer.replace(/\./g, '\\.') + ' not refreshed: .*' + message.source),
          REFRESH_WAIT_MS,
        );
        expect(line).toContain('stay in use, up to $auth_jwt_jwks_max_stale');
        expect((await g().get('/fast/x', bearer(token))).status).toBe(200);
      } finally {
        idp.replaceJwks(null);
      }
    });
  }

  it('a discovery document naming another issuer is refused (OpenID Connect Discovery 4.3) with an error line; the good keys stay', async () => {
    const token = await idp.token();
    expect((await passes('/fast/x', token)).status).toBe(200);
    idp.claimIssuer('https://evil.example');
    try {
      await g().logLine(
        'error.log',
        /discovery document: field "issuer": is "https:\/\/evil\.example", not "http:\/\/127\.0\.0\.1:[0-9]+" \(OpenID Connect Discovery 4\.3\): refused/,
        REFRESH_WAIT_MS,
      );
      expect((await g().get('/fast/x', bearer(token))).status).toBe(200);
    } finally {
      idp.claimIssuer(null);
    }
  });

  it('an outage: the known keys keep working up to $auth_jwt_jwks_max_stale, then 401 with an error line; back, the keys recover without a reload', async () => {
    const token = await down.token();
    expect((await passes('/down/x', token)).status).toBe(200);
    await down.stop();
    try {
      await g().logLine(
        'error.log',
        new RegExp('keys of issuer ' + down.issuer.replace(/\./g, '\\.') + ' not refreshed: .*cannot be fetched'),
        REFRESH_WAIT_MS,
      );
      expect((await g().get('/down/x', bearer(token))).status).toBe(200);
      const stale = await until(
        () => g().get('/down/x', bearer(token)),
        (reply) => reply.status === 401,
      );
      expectRejected(stale, MESSAGES.verifyFailed);
      await g().logLine(
        'error.log',
        /\[error\].*rejected 401 KEYS_UNAVAILABLE: keys of issuer .* last fetched [0-9]+ s ago, over \$auth_jwt_jwks_max_stale \(8 s\)/,
      );
    } finally {
      await down.start();
    }
    expect((await passes('/down/x', token)).status).toBe(200);
  });

  it('https: a JWK Set served with a certificate of the CA in js_fetch_trusted_certificate is fetched; one of an unknown CA is not (an error line, 401)', async () => {
    const token = await partner.token();
    expect((await passes('/tls/x', token)).status).toBe(200);
    expectRejected(await g().get('/untrusted/x', bearer(token)), MESSAGES.verifyFailed);
    await g().logLine('error.log', new RegExp('keys of ' + untrusted.url.replace(/\./g, '\\.') + ' not refreshed: .*cannot be fetched'), REFRESH_WAIT_MS);
  });

  it('a $auth_jwt_jwks_zone that does not exist is a config error naming it', async () => {
    expectRejected(await g().get('/no-zone/x', bearer(await idp.token())), MESSAGES.verifyFailed, { tokenSent: false });
    await g().logLine('error.log', /config error: \$auth_jwt_jwks_zone: no js_shared_dict_zone named "missing_zone"/);
  });
}
