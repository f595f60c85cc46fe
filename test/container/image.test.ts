/**
 * The Docker image of docker/Dockerfile, built and run in containers through
 * the Docker API (testcontainers): the seed journey on the image's default
 * server, a hot reload with a changed consumer map, and the demo of
 * docker/compose.yaml with the seed rate-limit scenario.
 *
 * Docker Hub is out of reach here, so the image is built on a stand-in for the
 * official nginx image (test/container/base: Debian sid's nginx 1.30 and njs
 * 1.0 packages, the official image's layout, and an entrypoint of its own
 * that does the official one's template step). No compose binary runs here
 * either: the compose test starts the services of docker/compose.yaml (its
 * build, environment, volumes, network names) itself.
 * Where no container engine can be started the tests are skipped with the
 * reason; under CI (CI=true) that fails instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { GenericContainer, Network, StartedNetwork, StartedTestContainer, Wait } from 'testcontainers';
import { parse } from 'yaml';
import { ROOT } from '../support/nginx';
import { b64u, mintJwt } from '../support/tokens';
import { containerEngine, ContainerEngine } from './engine';

const SEED_TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJqYWNrLWtleSIsIm5iZiI6MTcyOTEzMjI3MX0.UEPXy5jpid624T1XpfjM0PLY73LZPjV3Qt8yZ92kVuU';
const TAMPERED = SEED_TOKEN.slice(0, -6) + 'AAAAAA';
const DOCKER = path.join(ROOT, 'docker');
const BASE_CONTEXT = path.join(ROOT, '.engines', 'container-base');
const ROOTFS_IMAGE = 'localhost/jwt-gateway-test-rootfs:latest';
const BASE_IMAGE = 'localhost/jwt-gateway-test-base:sid';
const IMAGE = 'localhost/jwt-gateway:test';
const inCI = /^(1|true|yes)$/i.test(process.env.CI || '');

// The stand-in base is made from the sid packages that test/support/fetch-engines.sh extracts.
const sidNginx = path.join(ROOT, '.engines', 'sid', 'root', 'usr', 'sbin', 'nginx');
const found = existsSync(sidNginx)
  ? await containerEngine()
  : {
      reason: "the base image needs Debian sid's nginx/njs packages: " + path.relative(ROOT, sidNginx) + ' is missing (run test/support/fetch-engines.sh sid)',
    };
const engine: ContainerEngine | null = 'reason' in found ? null : found;
const skipReason = 'reason' in found ? found.reason : '';
if (!engine) console.log('container tests skipped: ' + skipReason);

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function get(base: string, pathname: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(base + pathname, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Headers the echo upstream received, from its JSON answer. */
function upstreamHeaders(answer: Answer): Record<string, string> {
  return JSON.parse(answer.text).headers;
}

function baseOf(container: StartedTestContainer, port = 8080): string {
  return 'http://' + container.getHost() + ':' + container.getMappedPort(port);
}

/** The container's output so far (access log lines go to stdout, errors to stderr in the official layout). */
async function logsOf(container: StartedTestContainer): Promise<string> {
  const stream = await container.logs();
  let text = '';
  stream.on('data', (chunk) => (text += chunk));
  await new Promise((resolve) => setTimeout(resolve, 300));
  stream.destroy();
  return text;
}

/** The seed rate-limit scenario: five requests, counted by status, as the demo prints it. */
async function fiveCounted(base: string, pathname: string, headers: Record<string, string> = {}): Promise<{ [status: string]: number }> {
  const counts: { [status: string]: number } = {};
  for (let i = 0; i < 5; i++) {
    const answer = await get(base, pathname, headers);
    counts[answer.status] = (counts[answer.status] || 0) + 1;
  }
  return counts;
}

/** `tar -C dir -c . | docker import - name`, through the Docker API (POST /images/create?fromSrc=-). */
async function importRootfs(dir: string, name: string): Promise<void> {
  const socketPath = (process.env.DOCKER_HOST || '').replace(/^unix:\/\//, '');
  const [repo, tag] = name.split(/:(?=[^:]*$)/);
  const tar = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErrors = '';
  tar.stderr.on('data', (chunk) => (tarErrors += chunk));
  const answer = await new Promise<string>((resolve, reject) => {
    const request = http.request(
      {
        socketPath,
        method: 'POST',
        path: '/images/create?fromSrc=-&repo=' + encodeURIComponent(repo) + '&tag=' + encodeURIComponent(tag),
        headers: { 'Content-Type': 'application/x-tar' },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => (response.statusCode === 200 ? resolve(body) : reject(new Error('image import: ' + response.statusCode + ' ' + body))));
      },
    );
    request.on('error', reject);
    tar.stdout.pipe(request);
  });
  if (/"error"/.test(answer) || tarErrors) throw new Error('image import failed: ' + answer + tarErrors);
}

/**
 * Every port the image declares (EXPOSE: the base's 80, the gateway's 8080).
 * podman's Docker API lists them all as port bindings to wait for, so a
 * container publishes them all here, each on a random host port.
 */
const IMAGE_PORTS = [80, 8080];

const scratch = mkdtempSync(path.join(os.tmpdir(), 'jwt-gateway-container-'));
const started: StartedTestContainer[] = [];
let network: StartedNetwork;

/** A container of the gateway image: waits until nginx answers, and is stopped at the end. */
async function start(container: GenericContainer): Promise<StartedTestContainer> {
  const running = await container.withStartupTimeout(60_000).start();
  started.push(running);
  return running;
}

/** The compose file's service, as testcontainers options: image, environment, volumes (relative to docker/), network name. */
function composeService(name: string): GenericContainer {
  const compose = parse(readFileSync(path.join(DOCKER, 'compose.yaml'), 'utf8'));
  const service = compose.services[name];
  let container = new GenericContainer(IMAGE)
    .withExposedPorts(...IMAGE_PORTS)
    .withNetwork(network)
    .withNetworkAliases(name)
    .withEnvironment(service.environment || {});
  container = container.withBindMounts(
    (service.volumes || []).map((volume: string) => {
      const [source, target, mode] = volume.split(':');
      return { source: path.resolve(DOCKER, source), target, mode: mode === 'ro' ? 'ro' : 'rw' };
    }),
  );
  return container;
}

const suite = engine ? describe : describe.skip;

if (!engine && inCI) {
  test('a container engine runs (required under CI)', () => {
    throw new Error('container tests cannot run: ' + skipReason);
  });
}

suite(engine ? 'the image of docker/Dockerfile, on ' + engine.name : 'container tests (skipped: ' + skipReason + ')', () => {
  beforeAll(async () => {
    // The stand-in base image, from Debian sid's packages.
    const rootfs = spawnSync('bash', [path.join(ROOT, 'test', 'container', 'base', 'rootfs.sh'), path.join(BASE_CONTEXT, 'root')], { encoding: 'utf8' });
    if (rootfs.status !== 0) throw new Error('test/container/base/rootfs.sh failed: ' + (rootfs.stderr || rootfs.stdout));
    await importRootfs(path.join(BASE_CONTEXT, 'root'), ROOTFS_IMAGE);
    await GenericContainer.fromDockerfile(path.join(ROOT, 'test', 'container', 'base'))
      .withBuildArgs({ ROOTFS: ROOTFS_IMAGE })
      .build(BASE_IMAGE, { deleteOnExit: false });
    // The image, as the README builds it: docker build -f docker/Dockerfile --build-arg BASE=... -t jwt-gateway .
    const bundle = spawnSync('node', [path.join(ROOT, 'build', 'build.mjs')], { encoding: 'utf8', cwd: ROOT });
    if (bundle.status !== 0) throw new Error('npm run build failed: ' + bundle.stderr);
    await GenericContainer.fromDockerfile(ROOT, 'docker/Dockerfile').withBuildArgs({ BASE: BASE_IMAGE }).build(IMAGE, { deleteOnExit: false });
    network = await new Network().start();
    // The upstream: the demo's echo server as docker/compose.yaml runs it, also named "upstream" (the image's default JWT_UPSTREAM host).
    await start(
      composeService('echo')
        .withNetworkAliases('upstream')
        .withWaitStrategy(Wait.forLogMessage(/start worker process/)),
    );
  }, 240_000);

  afterAll(async () => {
    for (const container of started) await container.stop({ timeout: 2000 }).catch(() => {});
    if (network) await network.stop().catch(() => {});
  }, 60_000);

  describe('default server (docker/templates/default.conf.template)', () => {
    let gateway: StartedTestContainer;
    let base: string;
    const data = path.join(scratch, 'data');

    beforeAll(async () => {
      // The mounted folder: the seed consumers and their rate limits.
      mkdirSync(data, { recursive: true });
      cpSync(path.join(DOCKER, 'demo', 'data'), data, { recursive: true });
      gateway = await start(
        new GenericContainer(IMAGE)
          .withNetwork(network)
          .withBindMounts([{ source: data, target: '/etc/nginx/jwt/data', mode: 'ro' }])
          .withExposedPorts(...IMAGE_PORTS)
          .withWaitStrategy(Wait.forHttp('/', 8080).forStatusCode(401)),
      );
      base = baseOf(gateway);
    }, 120_000);

    test('the seed token passes, and the upstream is told who the consumer is (never what the client claims)', async () => {
      const answer = await get(base, '/headers', { Authorization: SEED_TOKEN, 'X-Consumer-Username': 'mallory', 'X-Consumer-Custom-Id': 'forged' });
      expect(answer.status).toBe(200);
      const headers = upstreamHeaders(answer);
      expect(headers['X-Consumer-Username']).toBe('jack');
      expect(headers['X-Credential-Identifier']).toBe('cred-jack-jwt-auth');
      expect(headers['X-Consumer-Custom-Id']).toBe('495aec6a');
      expect(JSON.parse(answer.text).path).toBe('/headers');
    });

    test('no token: 401 with the documented body and WWW-Authenticate', async () => {
      const answer = await get(base, '/headers');
      expect(answer.status).toBe(401);
      expect(answer.text).toBe('{"message":"Missing JWT token in request"}');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="jwt"');
      expect(answer.headers.get('content-type')).toBe('application/json');
    });

    test('a tampered signature or a malformed token: 401 with the documented bodies', async () => {
      const tampered = await get(base, '/headers', { Authorization: TAMPERED });
      expect(tampered.status).toBe(401);
      expect(tampered.text).toBe('{"message":"failed to verify jwt"}');
      expect(tampered.headers.get('www-authenticate')).toBe('Bearer realm="jwt", error="invalid_token"');
      const malformed = await get(base, '/headers', { Authorization: 'abc.def' });
      expect(malformed.status).toBe(401);
      expect(malformed.text).toBe('{"message":"JWT token invalid"}');
    });

    test('the access log, on the container output, names the consumer', async () => {
      await get(base, '/get', { Authorization: SEED_TOKEN });
      const logs = await logsOf(gateway);
      expect(logs).toMatch(/"GET \/get HTTP\/1.1" 200 consumer=jack credential=cred-jack-jwt-auth/);
      expect(logs).toMatch(/"GET \/headers HTTP\/1.1" 401 consumer= credential=/);
      expect(logs).not.toContain(SEED_TOKEN.split('.')[2]);
    });

    test('hot reload: a changed consumer map is served after nginx -s reload (docker exec), without a restart', async () => {
      const jill = { key: 'jill-key', secret: 'jill-hs256-secret-that-is-very-long!' };
      const jillToken = mintJwt('HS256', jill.secret, { key: jill.key, sub: 'jill' });
      expect((await get(base, '/headers', { Authorization: jillToken })).text).toBe('{"message":"Invalid user key in JWT token"}');
      const map = JSON.parse(readFileSync(path.join(data, 'consumers.json'), 'utf8'));
      // jack is removed, jill added: a new file in the mounted folder, renamed over the old one, as editors and deploy tools do.
      map.consumers = map.consumers.filter((consumer: { username: string }) => consumer.username !== 'jack');
      map.consumers.push({ username: 'jill', credentials: [{ id: 'cred-jill', key: jill.key, secret: jill.secret }] });
      writeFileSync(path.join(data, 'consumers.json.new'), JSON.stringify(map, null, 2));
      rmSync(path.join(data, 'consumers.json'));
      cpSync(path.join(data, 'consumers.json.new'), path.join(data, 'consumers.json'));
      rmSync(path.join(data, 'consumers.json.new'));
      const check = await gateway.exec(['nginx', '-t']);
      expect(check.exitCode).toBe(0);
      const reload = await gateway.exec(['nginx', '-s', 'reload']);
      expect(reload.exitCode).toBe(0);
      // Old workers finish the connections they hold, so a kept-alive request may still meet the old map for a moment,
      // or a connection the old worker closes as it quits (fetch fails with "other side closed"): wait until both
      // answers are the new map's, then check them again on the next requests.
      let answer: Answer = { status: 0, headers: new Headers(), text: '' };
      let jack: Answer = answer;
      for (let i = 0; i < 100; i++) {
        try {
          answer = await get(base, '/headers', { Authorization: jillToken });
          jack = await get(base, '/headers', { Authorization: SEED_TOKEN });
          if (answer.status === 200 && jack.status === 401) break;
        } catch (e) {
          if (i === 99) throw e;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      for (let i = 0; i < 3; i++) {
        answer = await get(base, '/headers', { Authorization: jillToken });
        expect(answer.status).toBe(200);
        expect(upstreamHeaders(answer)['X-Consumer-Username']).toBe('jill');
        jack = await get(base, '/headers', { Authorization: SEED_TOKEN });
        expect(jack.status).toBe(401);
        expect(jack.text).toBe('{"message":"Invalid user key in JWT token"}');
      }
      // The reload is in the container's error log: nginx's own notice, at the official image's level.
      expect(await logsOf(gateway)).toMatch(/\[notice\] \d+#\d+: signal 1 \(SIGHUP\) received/);
    }, 30_000);
  });

  describe('default server with a JWK Set (JWT_KEYS_SETTING=key_file)', () => {
    let base: string;
    const secret = 'service-hs256-secret-that-is-very-long';

    beforeAll(async () => {
      const data = path.join(scratch, 'jwks');
      mkdirSync(data, { recursive: true });
      writeFileSync(path.join(data, 'jwks.json'), JSON.stringify({ keys: [{ kty: 'oct', kid: 'service-1', alg: 'HS256', k: b64u(secret) }] }));
      const gateway = await start(
        new GenericContainer(IMAGE)
          .withNetwork(network)
          .withEnvironment({ JWT_KEYS_SETTING: 'key_file', JWT_KEYS_FILE: '/etc/nginx/jwt/data/jwks.json', JWT_LISTEN: '9000' })
          .withBindMounts([{ source: data, target: '/etc/nginx/jwt/data', mode: 'ro' }])
          .withExposedPorts(...IMAGE_PORTS, 9000)
          .withWaitStrategy(Wait.forHttp('/', 9000).forStatusCode(401)),
      );
      base = baseOf(gateway, 9000);
    }, 120_000);

    test("a token of the set's key passes on the port of JWT_LISTEN; one of another key is 401", async () => {
      const token = mintJwt('HS256', secret, { sub: 'service-a' }, { kid: 'service-1' });
      const answer = await get(base, '/headers', { Authorization: 'Bearer ' + token });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).path).toBe('/headers');
      const other = mintJwt('HS256', 'another-hs256-secret-that-is-very-long', { sub: 'service-a' }, { kid: 'service-1' });
      const rejected = await get(base, '/headers', { Authorization: 'Bearer ' + other });
      expect(rejected.status).toBe(401);
      expect(rejected.text).toBe('{"message":"failed to verify jwt"}');
    });
  });

  describe('the demo of docker/compose.yaml', () => {
    let base: string;

    beforeAll(async () => {
      const gateway = await start(composeService('gateway').withWaitStrategy(Wait.forHttp('/headers', 8080).forStatusCode(401)));
      base = baseOf(gateway);
    }, 120_000);

    test('the journey of npm run demo: the seed token in header, Bearer header, query and cookie; no token is 401', async () => {
      const places: Record<string, string>[] = [{ Authorization: SEED_TOKEN }, { Authorization: 'Bearer ' + SEED_TOKEN }, { Cookie: 'jwt=' + SEED_TOKEN }];
      for (const headers of places) {
        const answer = await get(base, '/headers', headers);
        expect(answer.status).toBe(200);
        expect(upstreamHeaders(answer)['X-Consumer-Username']).toBe('jack');
      }
      const query = await get(base, '/get?jwt=' + SEED_TOKEN);
      expect(query.status).toBe(200);
      expect(upstreamHeaders(query)['X-Consumer-Custom-Id']).toBe('495aec6a');
      const none = await get(base, '/headers');
      expect(none.status).toBe(401);
      expect(none.text).toBe('{"message":"Missing JWT token in request"}');
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="jwt"');
    });

    test('the seed rate-limit scenario on /anything: jack 200: 3, 429: 2; anonymous 200: 1, 429: 4', async () => {
      expect(await fiveCounted(base, '/anything', { Authorization: SEED_TOKEN })).toEqual({ 200: 3, 429: 2 });
      expect(await fiveCounted(base, '/anything')).toEqual({ 200: 1, 429: 4 });
      const anonymous = await get(base, '/anything');
      expect(anonymous.status).toBe(429);
    }, 30_000);
  });
});

test('docker/demo/data: the rate-limit files are what `jwt-gateway rate-limits` makes of its consumers.json', () => {
  const dir = path.join(DOCKER, 'demo', 'data');
  const out = path.join(scratch, 'rate-limits');
  mkdirSync(out, { recursive: true });
  const build = spawnSync('node', [path.join(ROOT, 'build', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  expect(build.status).toBe(0);
  const result = spawnSync('node', [path.join(ROOT, 'build', 'dist', 'cli.mjs'), 'rate-limits', 'consumers.json', '--out', out], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(result.status).toBe(0);
  for (const name of ['jwt-rate-limit-zones.conf', 'jwt-rate-limits.conf']) {
    expect(readFileSync(path.join(dir, name), 'utf8')).toBe(readFileSync(path.join(out, name), 'utf8'));
  }
}, 60_000);

test('README "Docker": its settings table gives the image\'s ENV defaults, and its commands build docker/Dockerfile and compose.yaml', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = /\n## Docker\n([\s\S]*?)\n## /.exec(readme)?.[1] || '';
  expect(section).toContain('docker build -f docker/Dockerfile -t jwt-gateway .');
  expect(section).toContain('docker compose -f docker/compose.yaml up --build');
  expect(section).toContain('-v "$PWD/gateway:/etc/nginx/jwt/data:ro" jwt-gateway');
  const dockerfile = readFileSync(path.join(DOCKER, 'Dockerfile'), 'utf8');
  const defaults: Record<string, string> = {};
  for (const match of dockerfile.matchAll(/(JWT_[A-Z_]+)=("[^"]*"|\S+)/g)) defaults[match[1]] = match[2].replace(/^"|"$/g, '');
  const rows = [...section.matchAll(/^\| `(JWT_[A-Z_]+)` \| ([^|]+) \|/gm)].map((row) => [row[1], row[2].trim()]);
  expect(rows.map((row) => row[0]).sort()).toEqual(Object.keys(defaults).sort());
  for (const [name, shown] of rows) expect(defaults[name] === '' ? shown.startsWith('empty') : shown === '`' + defaults[name] + '`').toBe(true);
  const template = readFileSync(path.join(DOCKER, 'templates', 'default.conf.template'), 'utf8');
  for (const name of Object.keys(defaults)) expect(template).toContain('${' + name + '}');
});

afterAll(async () => {
  if (engine) await engine.stop();
  rmSync(scratch, { recursive: true, force: true });
}, 30_000);
