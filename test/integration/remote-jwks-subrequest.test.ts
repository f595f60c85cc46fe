/**
 * Identity providers on njs without shared memory (0.7.9), in the
 * auth_request styles: the handler fetches the keys through a subrequest to
 * /_jwt_jwks (nginx/jwt-jwks-request-locations.conf, proxy_cache) and keeps
 * the last good ones in files of $auth_jwt_jwks_dir. Against real OpenID
 * Providers (oidc-provider) issuing their own tokens, the cases of
 * remote-jwks.test.ts: tokens pass and others do not, rotation without a
 * reload, the outage up to the maximum stale age, a flood of unknown kids,
 * bad answers and a lying discovery document that never replace good keys,
 * https with a test CA; and the settings' config errors. On njs >= 0.8.1 the
 * refresher's zone is used instead, whatever the server includes.
 */
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
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
import { authRequestLocation, authRequestStyle, expectRejected, gatewayConfig, gatewayPerFile, MESSAGES, until, whenPassing } from '../support/gateway';
import { engine } from '../support/nginx';

const PERIODIC = engine().features.periodic;
const bearer = (token: string) => ({ Authorization: 'Bearer ' + token });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const FETCH_LOCATIONS = 'include ${ROOT}/nginx/jwt-jwks-request-locations.conf;';
const JWKS_CACHE = 'proxy_cache_path ${PREFIX}/jwks-cache keys_zone=jwt_jwks_cache:1m;';
/** The https fetches trust the test CA (and nginx starts only with a CA for the snippet's proxy_ssl_verify). */
const TRUST = 'proxy_ssl_trusted_certificate ${PREFIX}/ca.pem;';
/** A bad answer is seen once the cache's copy (5 s) and the keys (1 s) are due: what it logs comes within this. */
const BAD_ANSWER_WAIT_MS = 12000;

let idp: IdentityProvider;
beforeAll(async () => {
  idp = await startIdentityProvider();
}, 60000);
afterAll(() => idp?.stop());

const issuer = (provider: IdentityProvider, more: string[] = []) => ['set $auth_jwt_oidc_issuer "' + provider.issuer + '";', ...more];

if (PERIODIC) {
  const { it, g } = gatewayPerFile(() => ({
    config: gatewayConfig({
      http: ['js_shared_dict_zone zone=jwt_jwks:1m;', JWKS_CACHE].join('\n'),
      server: [
        'set $auth_jwt_jwks_dir ${PREFIX}/jwks;',
        TRUST,
        FETCH_LOCATIONS,
        authRequestStyle('uncached').locations,
        authRequestLocation('/api/', issuer(idp)),
      ],
    }),
    ports: ['PORT', 'ECHO_PORT'],
    files: { 'jwks/.keep': '', 'ca.pem': readFileSync(path.join(testCertificates(), 'ca.pem'), 'utf8') },
  }));

  it('on njs >= 0.8.1 the auth_request styles read the refresher\'s zone, not /_jwt_jwks: without the refresher the keys are "not fetched yet"', async () => {
    const before = idp.jwksRequests();
    expectRejected(await g().get('/api/x', bearer(await idp.token())), MESSAGES.verifyFailed);
    await g().logLine('error.log', /rejected 401 KEYS_UNAVAILABLE: keys of issuer .* not fetched yet \(the refresher of nginx\/jwt-jwks-refresh\.conf/);
    expect(idp.jwksRequests()).toBe(before);
    expect(readdirSync(path.join(g().nginx.prefix, 'jwks'))).toEqual(['.keep']);
  });
} else {
  /** `partner` a second provider; `flood` and `down` have one test each to themselves. */
  let partner: IdentityProvider;
  let flood: IdentityProvider;
  let down: IdentityProvider;
  let certificates: string;
  let trusted: { url: string; close: () => void };
  let untrusted: { url: string; close: () => void };

  beforeAll(async () => {
    [partner, flood, down] = await Promise.all([startIdentityProvider(), startIdentityProvider(), startIdentityProvider()]);
    certificates = testCertificates();
    trusted = await httpsFront(certificates, partner);
    untrusted = await httpsFront(testCertificates(), partner);
  }, 60000);
  afterAll(async () => {
    trusted?.close();
    untrusted?.close();
    await Promise.all([partner, flood, down].map((provider) => provider?.stop()));
  });

  /** Keys kept 600 s unless a token's unknown kid asks again (every 2 s at most). */
  const SLOW = ['set $auth_jwt_jwks_min_refresh 600;', 'set $auth_jwt_jwks_max_refresh 600;', 'set $auth_jwt_jwks_refetch_interval 2;'];
  /** Due every second. */
  const FAST = ['set $auth_jwt_jwks_min_refresh 1;', 'set $auth_jwt_jwks_max_refresh 1;', 'set $auth_jwt_jwks_refetch_interval 1;'];
  const uncached = authRequestStyle('uncached');
  const cached = authRequestStyle('cached', undefined, [FETCH_LOCATIONS, TRUST]);

  const { it, g } = gatewayPerFile(
    () => ({
      config: gatewayConfig({
        http: [JWKS_CACHE, cached.http].join('\n'),
        servers: [
          [
            'server {',
            '    listen 127.0.0.1:${CACHED_PORT};',
            '    set $auth_jwt_jwks_dir ${PREFIX}/jwks;',
            ...cached.locations.split('\n').map((line) => '    ' + line),
            ...authRequestLocation('/cached/', issuer(idp, SLOW))
              .split('\n')
              .map((line) => '    ' + line),
            '}',
          ].join('\n'),
        ],
        server: [
          'set $auth_jwt_jwks_dir ${PREFIX}/jwks;',
          TRUST,
          FETCH_LOCATIONS,
          uncached.locations,
          authRequestLocation(
            '/api/',
            issuer(idp, [...SLOW, 'set $auth_jwt_audience "' + AUDIENCE + '";', 'set $auth_jwt_claim_rules "scope contains read";']),
          ),
          authRequestLocation('/other-audience/', issuer(idp, [...SLOW, 'set $auth_jwt_audience "https://other.example";'])),
          authRequestLocation('/fast/', issuer(idp, FAST)),
          authRequestLocation('/named/', ['set $auth_jwt_oidc_issuer "corp=' + idp.issuer + ' partner=' + partner.issuer + '";', ...SLOW]),
          authRequestLocation('/flood/', issuer(flood, SLOW)),
          // The flood test's provider again, after it: the cache keeps a huge answer 5 s, which no other test should meet.
          authRequestLocation('/huge/', issuer(flood, FAST)),
          authRequestLocation('/down/', issuer(down, [...FAST, 'set $auth_jwt_jwks_max_stale 8;'])),
          authRequestLocation('/tls/', ['set $auth_jwt_jwks_uri ' + trusted.url + ';', ...SLOW]),
          authRequestLocation('/untrusted/', ['set $auth_jwt_jwks_uri ' + untrusted.url + ';', ...SLOW]),
          authRequestLocation('/no-dir/', issuer(idp, ['set $auth_jwt_jwks_dir "";'])),
          authRequestLocation('/unwritable/', issuer(idp, ['set $auth_jwt_jwks_dir ${PREFIX}/no-such-dir;'])),
        ],
      }),
      ports: ['PORT', 'ECHO_PORT', 'CACHED_PORT'],
      files: { 'ca.pem': readFileSync(path.join(certificates, 'ca.pem'), 'utf8'), 'jwks/.keep': '' },
    }),
    60000,
    [STALE_SSL_ERROR],
  );

  // The worker user (nobody, under a root master) keeps the keys there, as the README says to set it up.
  beforeAll(() => chmodSync(path.join(g().nginx.prefix, 'jwks'), 0o777));

  /** Sends `token` to `location` until `done` settles: every status (0 for a connection nginx closed), for a test that expects no refusal meanwhile. */
  async function trafficUntil<T>(location: string, token: string, done: Promise<T>): Promise<{ result: T; statuses: number[] }> {
    let running = true;
    const statuses: number[] = [];
    const traffic = (async () => {
      while (running) {
        statuses.push(
          await g()
            .get(location, bearer(token))
            .then(
              (reply) => reply.status,
              () => 0,
            ),
        );
        await sleep(100);
      }
    })();
    try {
      return { result: await done, statuses };
    } finally {
      running = false;
      await traffic;
    }
  }

  it("the provider's token passes from the first request; another issuer's, another audience's and a forged one get 401, a claim rule 403", async () => {
    const token = await idp.token();
    expect((await g().get('/api/x', { ...bearer(token), Cookie: 'session=secret' })).status).toBe(200);
    // Nothing of the client's request went to the provider.
    expect([idp.lastJwksHeaders().authorization, idp.lastJwksHeaders().cookie]).toEqual([undefined, undefined]);
    await g().logLine('error.log', new RegExp('keys of issuer ' + escaped(idp.issuer) + ' fetched: 1 usable of 1, next fetch in 600 s'));
    expectRejected(await g().get('/other-audience/x', bearer(token)), MESSAGES.verifyFailed);
    expect((await g().get('/api/x', bearer(await idp.token({ scope: 'write' })))).status).toBe(403);
    expectRejected(await g().get('/api/x', bearer(await partner.token())), MESSAGES.verifyFailed);
    expectRejected(await g().get('/api/x', bearer(await forgedToken(idp))), MESSAGES.verifyFailed);
    // The fetching location is nginx's alone.
    expect((await g().get('/_jwt_jwks?' + idp.issuer + '/jwks')).status).toBe(404);
  });

  it('the cached auth_request style fetches in its verifier server', async () => {
    const viaCached = (token: string) => g().request('/cached/x', { headers: bearer(token), port: 'CACHED_PORT' });
    expect((await viaCached(await idp.token())).status).toBe(200);
    expectRejected(await viaCached(await partner.token()), MESSAGES.verifyFailed);
  });

  it("several issuers on one location: each token is verified with its own issuer's keys, and the consumer is the issuer's name", async () => {
    const corp = await g().echo('/named/x', bearer(await idp.token()));
    const other = await g().echo('/named/x', bearer(await partner.token()));
    expect([corp.headers['X-Consumer-Username'], other.headers['X-Consumer-Username']]).toEqual(['corp', 'partner']);
  });

  it('a rotation: tokens of the new key pass within the refetch interval and the cache, without a reload and without refusing an old token; the withdrawn key is refused once fetched again', async () => {
    const before = await idp.token();
    expect((await g().get('/api/x', bearer(before))).status).toBe(200);
    await idp.rotate();
    const after = await idp.token();
    const started = Date.now();
    const { result: renewed, statuses } = await trafficUntil('/api/x', before, whenPassing(g(), '/api/x', after));
    expect(renewed.status).toBe(200);
    // The refetch interval (2 s) and the cache's copy (5 s).
    expect(Date.now() - started).toBeLessThan(9000);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    await idp.withdrawOld();
    // Tokens with a kid the keys lack ask for a fetch, which drops the withdrawn key.
    const refused = await until(
      async () => {
        await g().get('/api/x', bearer(withKid(after, 'no-such-kid')));
        return g().get('/api/x', bearer(before));
      },
      (reply) => reply.status === 401,
    );
    expectRejected(refused, MESSAGES.verifyFailed);
    expect((await g().get('/api/x', bearer(after))).status).toBe(200);
  });

  it('a flood of tokens with random kids fetches the keys at most once per refetch interval', async () => {
    const token = await flood.token();
    expect((await g().get('/flood/x', bearer(token))).status).toBe(200);
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
    const seconds = (Date.now() - started) / 1000;
    const fetches = flood.jwksRequests() - before;
    // One fetch per 2 s interval at most (and one more for an interval begun at the start).
    expect(fetches).toBeLessThanOrEqual(Math.ceil(seconds / 2) + 1);
    expect((await g().get('/flood/x', bearer(token))).status).toBe(200);
  });

  for (const [what, body, contentType, message] of BAD_JWKS_ANSWERS) {
    it(what + ' never replaces the good keys (an error line, and tokens keep passing)', async () => {
      const token = await idp.token();
      expect((await g().get('/fast/x', bearer(token))).status).toBe(200);
      idp.replaceJwks(body, contentType);
      try {
        const pattern = new RegExp('keys of issuer ' + escaped(idp.issuer) + ' not refreshed: .*' + message.source);
        const { result: line, statuses } = await trafficUntil('/fast/x', token, g().logLine('error.log', pattern, BAD_ANSWER_WAIT_MS));
        expect(line).toContain('stay in use, up to $auth_jwt_jwks_max_stale');
        expect(statuses.filter((status) => status !== 200)).toEqual([]);
      } finally {
        idp.replaceJwks(null);
      }
    });
  }

  it('an answer over subrequest_output_buffer_size (4 MiB) makes nginx drop the request that fetched it, once per refetch interval; the others pass with the kept keys', async () => {
    const token = await flood.token();
    expect((await g().get('/huge/x', bearer(token))).status).toBe(200);
    flood.replaceJwks('{"keys": [], "pad": "' + 'x'.repeat(5 * 1024 * 1024) + '"}');
    try {
      const started = Date.now();
      const { statuses } = await trafficUntil(
        '/huge/x',
        token,
        g()
          .logLine('error.log', /too big subrequest response/, BAD_ANSWER_WAIT_MS)
          .then(() => sleep(2000)),
      );
      const dropped = statuses.filter((status) => status === 0).length;
      expect(statuses.filter((status) => status !== 200 && status !== 0)).toEqual([]);
      expect(dropped).toBeGreaterThan(0);
      // One a second at most (the refetch interval of /huge/), and one more for the second begun at the start.
      expect(dropped).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 1000) + 1);
      expect(statuses.length - dropped).toBeGreaterThan(dropped);
    } finally {
      flood.replaceJwks(null);
    }
  });

  it('a discovery document naming another issuer is refused (OpenID Connect Discovery 4.3) with an error line; the good keys stay', async () => {
    const token = await idp.token();
    expect((await g().get('/fast/x', bearer(token))).status).toBe(200);
    idp.claimIssuer('https://evil.example');
    try {
      const pattern =
        /discovery document: field "issuer": is "https:\/\/evil\.example", not "http:\/\/127\.0\.0\.1:[0-9]+" \(OpenID Connect Discovery 4\.3\): refused/;
      const { statuses } = await trafficUntil('/fast/x', token, g().logLine('error.log', pattern, BAD_ANSWER_WAIT_MS));
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
    } finally {
      idp.claimIssuer(null);
    }
  });

  it('an outage: the known keys keep working up to $auth_jwt_jwks_max_stale, then 401 with an error line; back, the keys recover without a reload', async () => {
    const token = await down.token();
    expect((await g().get('/down/x', bearer(token))).status).toBe(200);
    await down.stop();
    try {
      expect((await g().get('/down/x', bearer(token))).status).toBe(200);
      const stale = await until(
        () => g().get('/down/x', bearer(token)),
        (reply) => reply.status === 401,
      );
      expectRejected(stale, MESSAGES.verifyFailed);
      await g().logLine('error.log', /\[error\].*connect\(\) failed \(111: Connection refused\) while connecting to upstream/);
      await g().logLine(
        'error.log',
        /\[error\].*rejected 401 KEYS_UNAVAILABLE: keys of issuer .* last fetched [0-9]+ s ago, over \$auth_jwt_jwks_max_stale \(8 s\)/,
      );
    } finally {
      await down.start();
    }
    expect((await whenPassing(g(), '/down/x', token)).status).toBe(200);
  });

  it('https: a JWK Set served with a certificate of the CA in proxy_ssl_trusted_certificate is fetched; one of an unknown CA is not (an error line, 401)', async () => {
    const token = await partner.token();
    expect((await g().get('/tls/x', bearer(token))).status).toBe(200);
    expectRejected(await g().get('/untrusted/x', bearer(token)), MESSAGES.verifyFailed);
    await g().logLine('error.log', /upstream SSL certificate verify error/);
    await g().logLine('error.log', new RegExp('keys of ' + escaped(untrusted.url) + ' not refreshed: .*answered 502, not 200'));
  });

  it('$auth_jwt_jwks_dir unset is a config error naming it; a directory that cannot be written refuses the tokens with an error line naming the file', async () => {
    const token = await idp.token();
    expectRejected(await g().get('/no-dir/x', bearer(token)), MESSAGES.verifyFailed, { tokenSent: false });
    await g().logLine('error.log', /config error: \$auth_jwt_jwks_dir: not set: njs [0-9.]+ has no js_shared_dict_zone/);
    expectRejected(await g().get('/unwritable/x', bearer(token)), MESSAGES.verifyFailed);
    await g().logLine('error.log', /\[error\].*rejected 401 KEYS_UNAVAILABLE: .*no-such-dir\/jwks-[A-Za-z0-9_-]+\.json: cannot be written/);
  });
}
