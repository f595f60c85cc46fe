/**
 * The cached style's entries outlive nginx on disk, and in a container the
 * worker's pid is the same on every start. So the cache key's generation must
 * change on every start even when pids repeat: here nginx runs in a fresh pid
 * namespace each time (its worker is pid 2 both times), a token is allowed
 * and cached, put on the deny list, and after the restart it is refused.
 * Both ways of making the generation: nginx/jwt-boot-id.conf as shipped (the
 * worker's start time, read by JavaScript), and nginx/jwt-boot-id.sh run
 * before each start (a random id, no JavaScript on a cache hit).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { bootIdFile, BUNDLE, cachedStyleHttp, configForEngine, engine, freePort, ROOT } from '../support/nginx';
import { gatewayConfig, now, unique } from '../support/gateway';

const SECRET = 'cache-restart-secret-0123456789abcdefghijklmn';
const CONSUMERS = JSON.stringify({ consumers: [{ username: 'dave', credentials: [{ key: 'dave-key', secret: SECRET }] }] });

const config = (bootId?: string) =>
  gatewayConfig({
    http: `
    log_format verifier '$pid $status';
    ${cachedStyleHttp({ verifierLog: 'verifier', bootId })}
    js_preload_object restart_consumers from \${PREFIX}/consumers.json;
    js_preload_object restart_revoked from \${PREFIX}/revoked.json;
  `,
    server: `
    set $auth_jwt_consumers restart_consumers;
    set $auth_jwt_revocation_list restart_revoked;
    include \${ROOT}/nginx/jwt-auth-cache-locations.conf;
    location = /ping { return 204; }
    location /api/ {
        include \${ROOT}/nginx/jwt-auth-request.conf;
        proxy_pass http://echo_upstream;
    }
  `,
  });

const unshareWorks = spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;
let prefix: string;
let ports: { [name: string]: number };

/** A fresh prefix whose nginx.conf includes `bootId` (or the shipped jwt-boot-id.conf). */
async function setUp(bootId?: string): Promise<void> {
  prefix = mkdtempSync(path.join(os.tmpdir(), 'jwt-gateway-restart-'));
  chmodSync(prefix, 0o755);
  for (const folder of ['logs', 'temp']) mkdirSync(path.join(prefix, folder));
  const port = await freePort();
  let echoPort = await freePort();
  while (echoPort === port) echoPort = await freePort();
  ports = { PORT: port, ECHO_PORT: echoPort };
  const values: { [name: string]: string } = {
    PREFIX: prefix,
    ROOT,
    BUNDLE,
    NJS_MODULE: engine().modulePath,
    PORT: String(ports.PORT),
    ECHO_PORT: String(ports.ECHO_PORT),
  };
  const text = config(bootId && path.join(prefix, bootId)).replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
  writeFileSync(path.join(prefix, 'nginx.conf'), configForEngine(text, prefix));
  writeFileSync(path.join(prefix, 'consumers.json'), CONSUMERS);
  writeFileSync(path.join(prefix, 'revoked.json'), '{"jti": []}');
}

afterEach(() => {
  if (!process.env.KEEP_NGINX_PREFIX) rmSync(prefix, { recursive: true, force: true });
});

/** nginx in a new pid namespace (master pid 1, worker pid 2); resolves when it listens. */
async function start(): Promise<ChildProcess> {
  const command = engine().nginx;
  const child = spawn('unshare', ['--pid', '--fork', '--kill-child', ...command, '-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 200; i++) {
    if ((await status('/ping', '')) !== 0) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  throw new Error('nginx did not start:\n' + readFileSync(path.join(prefix, 'logs', 'error.log'), 'utf8'));
}

/** Stops nginx gracefully: SIGQUIT to its master (unshare's child); the namespace ends with it. */
async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const master = readFileSync('/proc/' + child.pid + '/task/' + child.pid + '/children', 'utf8')
    .trim()
    .split(' ')[0];
  process.kill(Number(master), 'SIGQUIT');
  await exited;
}

/** The status of a GET (0 when nothing listens). */
function status(pathAndQuery: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port: ports.PORT, path: pathAndQuery, headers: token ? { Authorization: 'Bearer ' + token } : {}, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
  });
}

const verifierPids = () =>
  readFileSync(path.join(prefix, 'logs', 'verifier.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[0]);

const WAYS: [string, string | undefined, () => void][] = [
  ['jwt-boot-id.conf as shipped', undefined, () => undefined],
  ['jwt-boot-id.sh run before each start', 'jwt-boot-id.conf', () => void bootIdFile(prefix)],
];

describe.each(WAYS)('%s', (_name, bootId, beforeStart) => {
  (unshareWorks ? test : test.skip)(
    'an entry cached before a restart is not served after it, though the worker has the same pid',
    async () => {
      await setUp(bootId);
      beforeStart();
      const jti = unique('jti');
      const jwt = await new SignJWT({ key: 'dave-key', exp: now() + 600, jti }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
      let nginx = await start();
      try {
        expect([await status('/api/x', jwt), await status('/api/x', jwt)]).toEqual([200, 200]);
        expect(verifierPids()).toHaveLength(1);
      } finally {
        await stop(nginx);
      }
      writeFileSync(path.join(prefix, 'revoked.json'), JSON.stringify({ jti: [jti] }));
      beforeStart();
      nginx = await start();
      try {
        expect(await status('/api/x', jwt)).toBe(401);
        const pids = verifierPids();
        expect(pids).toHaveLength(2);
        expect(pids[1]).toBe(pids[0]);
      } finally {
        await stop(nginx);
      }
    },
    20000,
  );
});
