/**
 * `npm run bench -- --instructions [--engines LIST]`: instructions a request
 * (callgrind), which are repeatable on a noisy machine where req/s are not.
 *
 * nginx under valgrind (`worker_processes 1; master_process off;`), the
 * bench's consumer map, tokens and scale files (bench.ts), the cases as
 * locations of one server: a plain proxy, the hand-written floor, the direct
 * style bare (jwt-auth.conf and a proxy) with HS256, RS256 and ES256 from the
 * consumer map, HS256 from a JWK Set, the same with jwt-proxy-headers.conf
 * and with a limit_req on $jwt_claim_sub and on $jwt_consumer, and 1 against
 * 100,000 consumers (read by position) and 1 against 1,000 keys; where njs
 * has js_shared_dict_zone, shared-cache hits with HS256, RS256, ES256, and
 * the cached auth_request style's hits (no JavaScript: nginx's cache answers). A case is
 * sent SHORT and then LONG times over one keepalive connection (curl), each
 * to an nginx of its own; its cost a request is the difference of the two
 * totals over the difference in requests, so start-up and the first request's
 * work drop out. Every answer must be 200.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeEngine, Engine } from '../../test/support/engines.mjs';
import { bootIdFile, cachedStyleHttp, render, ROOT } from '../../test/support/nginx';

const SHORT = 20;
const LONG = 220;

interface InstructionCase {
  name: string;
  location: string;
  token?: string;
  /** The server's port when it is not PORT's. */
  port?: number;
}

const PORT = 18480;
const UPSTREAM_PORT = 18481;
const FLOOR_PORT = 18482;
const CACHED_PORT = 18483;

/** What bench.ts prepares: its consumer map and tokens, and the scale files (`jwt-gateway index` texts). */
export interface InstructionInput {
  consumers: object;
  /** The floor's secret (base64), the map's HS256 consumer's. */
  floorSecret: string;
  tokens: { [alg: string]: string };
  scale: {
    small: { consumersJson: string; jwksJson: string };
    bigConsumers: { consumersJson: string };
    bigKeys: { jwksJson: string };
    tokens: { smallConsumer: string; smallKey: string; bigConsumer: string; bigKey: string };
  };
}

function config(engine: Engine, dir: string, floorSecret: string): string {
  const include = (name: string) => `include ${ROOT}/nginx/${name};`;
  const bundle = `${ROOT}/build/dist/jwt-gateway.js`;
  // The cached auth_request style as the README sets it up (the tests' and bench's copy).
  const cached = render(cachedStyleHttp({ bootId: bootIdFile(dir), verifierLines: [`js_import jwt from ${bundle};`] }), { PREFIX: dir, ROOT });
  const proxy = 'proxy_http_version 1.1; proxy_set_header Connection ""; proxy_pass http://upstream;';
  const source = (what: string) => (engine.features.preloadObject ? `${what.replace('-', '_')}_preloaded` : `${dir}/${what}.json`);
  return `
load_module ${engine.modulePath};
worker_processes 1;
master_process off;
daemon off;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    ${engine.qjs ? 'js_engine qjs;' : ''}
    js_set $floor_consumer floor.verified;
    ${
      engine.features.preloadObject
        ? `js_preload_object consumers_preloaded from ${dir}/consumers.json; js_preload_object jwks_preloaded from ${dir}/jwks.json; ` +
          `js_preload_object big_jwks_preloaded from ${dir}/big-jwks.json;`
        : ''
    }
    ${include('jwt-variables.conf')}
    ${engine.features.sharedDict ? 'js_shared_dict_zone zone=jwt_verified:1m timeout=60s evict;' : ''}
    limit_req_zone $jwt_claim_sub zone=per_sub:1m rate=100000r/s;
    limit_req_zone $jwt_consumer zone=per_consumer:1m rate=100000r/s;
    ${cached}
    upstream upstream { server 127.0.0.1:${UPSTREAM_PORT}; keepalive 16; }
    server { listen 127.0.0.1:${UPSTREAM_PORT}; location / { return 200 "ok\\n"; } }
    # The floor's server imports floor.js alone: the classic engine runs every imported module's top level for each request.
    server {
        listen 127.0.0.1:${FLOOR_PORT};
        js_import floor from ${ROOT}/nginx/bench/floor.js;
        location = /floor {
            set $floor_secret "${floorSecret}";
            if ($floor_consumer = "") { return 401; }
            proxy_set_header X-Consumer-Username $floor_consumer;
            ${proxy}
        }
    }
    server {
        listen 127.0.0.1:${PORT};
        js_import jwt from ${bundle};
        set $auth_jwt_consumers ${source('consumers')};
        location = /plain { ${proxy} }
        location = /bare { ${include('jwt-auth.conf')} ${proxy} }
        location = /identity { ${include('jwt-auth.conf')} ${include('jwt-proxy-headers.conf')} proxy_pass http://upstream; }
        location = /limit-sub { ${include('jwt-auth.conf')} limit_req zone=per_sub burst=1000 nodelay; ${proxy} }
        location = /limit-consumer { ${include('jwt-auth.conf')} limit_req zone=per_consumer burst=1000 nodelay; ${proxy} }
        location = /jwks { set $auth_jwt_consumers ""; set $auth_jwt_key_file ${source('jwks')}; ${include('jwt-auth.conf')} ${proxy} }
        location = /jwks-identity { set $auth_jwt_consumers ""; set $auth_jwt_key_file ${source('jwks')}; ${include('jwt-auth.conf')} ${include('jwt-proxy-headers.conf')} proxy_pass http://upstream; }
        location = /big-jwks { set $auth_jwt_consumers ""; set $auth_jwt_key_file ${source('big-jwks')}; ${include('jwt-auth.conf')} ${proxy} }
        location = /small-consumers { set $auth_jwt_consumers ${dir}/small-consumers.json; ${include('jwt-auth.conf')} ${proxy} }
        location = /big-consumers { set $auth_jwt_consumers ${dir}/big-consumers.json; ${include('jwt-auth.conf')} ${proxy} }
        location = /shared { set $auth_jwt_cache_zone jwt_verified; ${include('jwt-auth.conf')} ${proxy} }
    }
    server {
        listen 127.0.0.1:${CACHED_PORT};
        js_import jwt from ${bundle};
        set $auth_jwt_consumers ${source('consumers')};
        ${include('jwt-auth-cache-locations.conf')}
        location = /cached { ${include('jwt-auth-request.conf')} proxy_pass http://upstream; }
    }
}
`;
}

function curlArgs(c: InstructionCase, count: number): string[] {
  const url = `http://127.0.0.1:${c.port || PORT}${c.location}`;
  const args = ['-s', '-w', '%{http_code}\\n'];
  if (c.token) args.push('-H', 'Authorization: Bearer ' + c.token);
  for (let i = 0; i < count; i++) args.push('-o', '/dev/null', url);
  return args;
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(what);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Total instructions of one nginx run under callgrind that answers `count` requests of the case. */
async function measureRun(engine: Engine, dir: string, c: InstructionCase, count: number): Promise<number> {
  const out = path.join(dir, `callgrind.${count}.out`);
  const nginx = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=' + out, ...engine.nginx, '-p', dir, '-c', path.join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  nginx.stderr.on('data', (d) => (stderr += d));
  const exited = () => nginx.exitCode !== null || nginx.signalCode !== null;
  try {
    const up = () => exited() || spawnSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${UPSTREAM_PORT}/`]).status === 0;
    await waitFor(up, 60000, 'nginx under valgrind did not start in 60 s');
    if (exited()) throw new Error(`nginx exited: ${stderr.slice(-500)}`);
    const answers = spawnSync('curl', curlArgs(c, count), { encoding: 'utf8' }).stdout.trim().split('\n');
    const bad = answers.filter((status) => status !== '200');
    if (answers.length !== count || bad.length > 0)
      throw new Error(`${c.name}: expected ${count} answers 200, got ${bad.slice(0, 5).join(' ')} (${answers.length})`);
  } finally {
    nginx.kill('SIGQUIT');
  }
  await waitFor(exited, 60000, 'nginx under valgrind did not stop in 60 s');
  const summary = /^summary:\s+(\d+)/m.exec(readFileSync(out, 'utf8'));
  if (!summary) throw new Error(`${c.name}: no callgrind summary (${stderr.slice(-300)})`);
  return Number(summary[1]);
}

/** The cases for this engine: the shared cache's only where njs has js_shared_dict_zone (0.8.0+). */
function instructionCases(input: InstructionInput, engine: Engine): InstructionCase[] {
  const { tokens, scale } = { tokens: input.tokens, scale: input.scale.tokens };
  const direct = (what: string, location: string, token: string) => ({ name: 'direct, HS256, ' + what, location, token });
  return [
    { name: 'plain proxy', location: '/plain' },
    { name: 'hand-written njs floor, HS256', location: '/floor', token: tokens.HS256, port: FLOOR_PORT },
    ...['HS256', 'RS256', 'ES256'].map((alg) => ({ name: `direct, ${alg}, consumer map`, location: '/bare', token: tokens[alg] })),
    direct('JWK Set', '/jwks', scale.smallKey),
    // What the snippets and a rate limit add to the bare check above.
    direct('consumer map, + jwt-proxy-headers.conf', '/identity', tokens.HS256),
    direct('JWK Set, + jwt-proxy-headers.conf', '/jwks-identity', scale.smallKey),
    direct('+ limit_req on $jwt_claim_sub', '/limit-sub', tokens.HS256),
    direct('+ limit_req on $jwt_consumer', '/limit-consumer', tokens.HS256),
    // Scale: the last entry of each file, against the file of one entry (the JWK Set's is /jwks's).
    ...[
      ['1 consumer, by position', '/small-consumers', scale.smallConsumer],
      ['100,000 consumers, by position', '/big-consumers', scale.bigConsumer],
      ['JWK Set 1,000 keys', '/big-jwks', scale.bigKey],
    ].map(([what, location, token]) => direct(what, location, token)),
    // Every request after the first is a hit: the same token.
    ...['HS256', 'RS256', 'ES256'].map((alg) => ({
      name: `cached auth_request style, ${alg}, hit`,
      location: '/cached',
      token: tokens[alg],
      port: CACHED_PORT,
    })),
    ...(engine.features.sharedDict
      ? ['HS256', 'RS256', 'ES256'].map((alg) => ({ name: `direct, ${alg}, shared cache hit`, location: '/shared', token: tokens[alg] }))
      : []),
  ];
}

/** Prints each engine's instructions a request, case by case; `only` picks cases by name. */
export async function instructions(engineIds: string[], input: InstructionInput, only?: RegExp): Promise<void> {
  for (const id of engineIds) {
    let engine: Engine;
    try {
      engine = describeEngine(id);
    } catch (e) {
      console.log(`${id}: skipped: ${(e as Error).message}`);
      continue;
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'jwt-instructions-'));
    chmodSync(dir, 0o755);
    for (const sub of ['body', 'proxy']) mkdirSync(path.join(dir, sub));
    const files = {
      'consumers.json': JSON.stringify(input.consumers),
      'jwks.json': input.scale.small.jwksJson,
      'big-jwks.json': input.scale.bigKeys.jwksJson,
      'small-consumers.json': input.scale.small.consumersJson,
      'big-consumers.json': input.scale.bigConsumers.consumersJson,
      'nginx.conf': config(engine, dir, input.floorSecret),
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    console.log(`\n${engine.name}: instructions a request (callgrind, ${LONG} - ${SHORT} requests)`);
    for (const c of instructionCases(input, engine)) {
      if (only && !only.test(c.name)) continue;
      const perRequest = ((await measureRun(engine, dir, c, LONG)) - (await measureRun(engine, dir, c, SHORT))) / (LONG - SHORT);
      console.log(`  ${c.name.padEnd(48)} ${Math.round(perRequest / 1000)}k`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
