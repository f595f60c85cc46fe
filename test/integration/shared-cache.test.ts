/**
 * The direct style's verification cache ($auth_jwt_cache_zone, a
 * js_shared_dict_zone, njs >= 0.8.0): a verified token is answered from the
 * zone by every worker, with the same variables; never for a location with
 * other settings, never past exp or the max age, never after a reload, never
 * once revoked; `$auth_jwt_cache off` verifies every time; a full zone only
 * warns. The evidence is $jwt_cache_status ("hit", "miss", ""), sent back as
 * X-Jwt-Cache and logged with the worker's pid. Where the engine has no
 * ngx.shared (0.7.9), naming a zone is a config error (401 with its line) and
 * a location without the setting works as before.
 */
import http from 'node:http';
import { SignJWT } from 'jose';
import { engine } from '../support/nginx';
import { authLocation, Gateway, gatewayConfig, gatewayPerFile, now, Reply, unique } from '../support/gateway';

const SECRET = 'shared-cache-secret-0123456789abcdefghijklmn';
const CONSUMERS = JSON.stringify({ consumers: [{ username: 'carol', labels: { custom_id: 'c-7' }, credentials: [{ key: 'carol-key', secret: SECRET }] }] });
const SHARED_DICT = engine().features.sharedDict;

function token(claims: { [name: string]: unknown } = {}): Promise<string> {
  return new SignJWT({ key: 'carol-key', jti: unique('jti'), exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(SECRET));
}

const bearer = (jwt: string) => ({ Authorization: 'Bearer ' + jwt });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cacheOf = (reply: Reply) => reply.headers['x-jwt-cache'] ?? '';

/** A direct-style location that sends $jwt_cache_status back. */
const cachedLocation = (path: string, before: string[] = []) => authLocation(path, before, ['add_header X-Jwt-Cache $jwt_cache_status always;']);

if (!SHARED_DICT) {
  const { it, g } = gatewayPerFile(() => ({
    config: gatewayConfig({
      http: 'js_preload_object sc_consumers from ${PREFIX}/consumers.json;',
      server: ['set $auth_jwt_consumers sc_consumers;', cachedLocation('/zone/', ['set $auth_jwt_cache_zone jwt_verified;']), cachedLocation('/plain/')],
    }),
    ports: ['PORT', 'ECHO_PORT'],
    files: { 'consumers.json': CONSUMERS },
  }));

  it('without ngx.shared, a location naming a cache zone is a config error (401 and its log line); one without it verifies as before', async () => {
    const jwt = await token();
    const denied = await g().get('/zone/x', bearer(jwt));
    expect({ status: denied.status, body: denied.json() }).toEqual({ status: 401, body: { message: 'failed to verify jwt' } });
    await g().logLine('error.log', /config error: \$auth_jwt_cache_zone: no js_shared_dict_zone "jwt_verified" \(needs njs >= 0\.8\.0\)/);
    for (let i = 0; i < 2; i++) {
      const reply = await g().get('/plain/x', bearer(jwt));
      expect({ status: reply.status, cache: cacheOf(reply) }).toEqual({ status: 200, cache: '' });
    }
  });
} else {
  const CONFIG = gatewayConfig({
    workers: 2,
    http: `
      js_preload_object sc_consumers from \${PREFIX}/consumers.json;
      js_shared_dict_zone zone=jwt_verified:1m timeout=60s evict;
      js_shared_dict_zone zone=jwt_revoked:1m timeout=1d;
      js_shared_dict_zone zone=jwt_tiny:32k;
      log_format by_worker '$pid $jwt_cache_status $arg_probe';
    `,
    accessLogFormat: 'by_worker',
    server: [
      'set $auth_jwt_consumers sc_consumers;',
      'set $auth_jwt_revocation_zone jwt_revoked;',
      'set $auth_jwt_cache_zone jwt_verified;',
      cachedLocation('/api/'),
      cachedLocation('/other/', ['set $auth_jwt_leeway 5;']),
      cachedLocation('/off/', ['set $auth_jwt_cache off;']),
      cachedLocation('/short/', ['set $auth_jwt_cache_max_age 2;']),
      cachedLocation('/never/', ['set $auth_jwt_cache_max_age 0;']),
      cachedLocation('/tiny/', ['set $auth_jwt_cache_zone jwt_tiny;']),
      cachedLocation('/bad-zone/', ['set $auth_jwt_cache_zone jwt_revoked;']),
      'location = /test/revoke { js_content jwt.revoke; }',
    ],
  });

  const { it, g } = gatewayPerFile(() => ({ config: CONFIG, ports: ['PORT', 'ECHO_PORT'], files: { 'consumers.json': CONSUMERS } }), 30000);

  const get = (path: string, jwt: string, probe = unique('p')) => g().get(path + (path.includes('?') ? '&' : '?') + 'probe=' + probe, bearer(jwt));

  function revoke(gateway: Gateway, body: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.request(gateway.nginx.url('/test/revoke'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('the second request with a token is a hit, and a hit gives the upstream the same identity as the verification did', async () => {
    const jwt = await token({ sub: 'carol-sub' });
    const first = await get('/api/x', jwt);
    const second = await get('/api/x', jwt);
    expect([first.status, cacheOf(first), second.status, cacheOf(second)]).toEqual([200, 'miss', 200, 'hit']);
    const seen = (reply: Reply) => {
      const headers = reply.json().headers;
      return [headers['X-Consumer-Username'], headers['X-Consumer-Custom-Id'], headers['X-Credential-Identifier'], headers['Authorization']];
    };
    expect(seen(second)).toEqual(seen(first));
    expect(seen(second).slice(0, 2)).toEqual(['carol', 'c-7']);
  });

  it('a token one worker verified is a hit in the other worker (one zone for all, one generation per start)', async () => {
    const jwt = await token();
    const probe = unique('workers');
    expect(cacheOf(await get('/api/x', jwt, probe))).toBe('miss');
    const lines = async () => {
      await g().logLine('access.log', probe);
      return g()
        .readLog('access.log')
        .split('\n')
        .filter((line) => line.endsWith(' ' + probe))
        .map((line) => line.split(' '));
    };
    // Each request on a new connection: the kernel hands them to either worker.
    for (let i = 0; i < 60; i++) {
      expect(cacheOf(await get('/api/x', jwt, probe))).toBe('hit');
      const seen = await lines();
      const missedBy = seen.filter((fields) => fields[1] === 'miss').map((fields) => fields[0]);
      if (seen.some((fields) => fields[1] === 'hit' && !missedBy.includes(fields[0]))) return;
    }
    throw new Error('no other worker answered in 60 requests: ' + JSON.stringify(await lines()));
  });

  it('a location with other settings never gets another location’s entry', async () => {
    const jwt = await token();
    expect(cacheOf(await get('/api/x', jwt))).toBe('miss');
    expect(cacheOf(await get('/api/x', jwt))).toBe('hit');
    expect(cacheOf(await get('/other/x', jwt))).toBe('miss');
    expect(cacheOf(await get('/other/x', jwt))).toBe('hit');
  });

  it('a cached token revoked at run time (jwt.revoke) is refused at once, by every worker', async () => {
    const jti = unique('revoked');
    const jwt = await token({ jti });
    expect(cacheOf(await get('/api/x', jwt))).toBe('miss');
    expect(cacheOf(await get('/api/x', jwt))).toBe('hit');
    expect(await revoke(g(), JSON.stringify({ jti, ttl: 60 }))).toBe(200);
    for (let i = 0; i < 10; i++) expect((await get('/api/x', jwt)).status).toBe(401);
    await g().logLine('error.log', 'TOKEN_REVOKED: jti "' + jti + '" is revoked in zone jwt_revoked');
  });

  it('never past exp: a cached token is refused once it expires', async () => {
    const jwt = await token({ exp: now() + 2 });
    expect(cacheOf(await get('/api/x', jwt))).toBe('miss');
    expect(cacheOf(await get('/api/x', jwt))).toBe('hit');
    await sleep(3100);
    const reply = await get('/api/x', jwt);
    expect(reply.status).toBe(401);
    await g().logLine('error.log', /rejected 401 TOKEN_EXPIRED: exp /);
  });

  it('never past $auth_jwt_cache_max_age; 0 stores nothing', async () => {
    const jwt = await token();
    expect(cacheOf(await get('/short/x', jwt))).toBe('miss');
    expect(cacheOf(await get('/short/x', jwt))).toBe('hit');
    await sleep(2100);
    expect(cacheOf(await get('/short/x', jwt))).toBe('miss');
    for (let i = 0; i < 3; i++) {
      const reply = await get('/never/x', jwt);
      expect([reply.status, cacheOf(reply)]).toEqual([200, '']);
    }
  });

  it('$auth_jwt_cache off verifies every request, and a denial is never stored', async () => {
    const jwt = await token();
    for (let i = 0; i < 3; i++) {
      const reply = await get('/off/x', jwt);
      expect([reply.status, cacheOf(reply)]).toEqual([200, '']);
    }
    // A denial's answer has no X-Jwt-Cache (jwt-auth.conf's own add_header): the access log tells.
    const forged = jwt.slice(0, -4) + (jwt.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    // One probe per request: each line is awaited, as nginx logs after the answer went out.
    const logged: string[] = [];
    for (let i = 0; i < 2; i++) {
      const probe = unique('forged');
      expect((await get('/api/x', forged, probe)).status).toBe(401);
      logged.push((await g().logLine('access.log', new RegExp(' ' + probe + '$'))).split(' ')[1]);
    }
    expect(logged).toEqual(['miss', 'miss']);
  });

  it('the revocation zone cannot be the cache zone (a config error)', async () => {
    const reply = await get('/bad-zone/x', await token());
    expect(reply.status).toBe(401);
    await g().logLine('error.log', /config error: \$auth_jwt_cache_zone: must not be the revocation zone/);
  });

  it('a full zone (no evict) only warns: every request is verified and passes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await get('/tiny/x', await token({ padding: 'x'.repeat(600) }))).status);
    expect(new Set(statuses)).toEqual(new Set([200]));
    await g().logLine('error.log', /\[warn\].*jwt-gateway: verification cache cannot be written/);
  });

  it('a reload starts a new generation: what was cached before it is verified again', async () => {
    const jwt = await token();
    expect(cacheOf(await get('/api/x', jwt))).toBe('miss');
    expect(cacheOf(await get('/api/x', jwt))).toBe('hit');
    expect(await g().nginx.reload()).toBe(true);
    expect(cacheOf(await get('/api/x', jwt))).toBe('miss');
    expect(cacheOf(await get('/api/x', jwt))).toBe('hit');
  });
}
