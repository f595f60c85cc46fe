/**
 * Shared pieces of the integration tests: a real nginx per test file (via
 * test/support/nginx.ts), an HTTP client that records every status it saw, the
 * health checks every file runs in afterAll, and a wrapper that appends
 * nginx's logs to the message of a failing test.
 */
import http from 'node:http';
import net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { JACK } from '../../tools/demo/consumers';
import { cachedStyleHttp, configHead, Nginx, NginxOptions, startNginx } from './nginx';

/**
 * The engine the tests run on ($JWT_GATEWAY_ENGINE, default the installed
 * nginx/njs): name, versions, `qjs` and feature flags, for the tests whose
 * expectations really differ per engine. Configs need no branching for
 * QuickJS: startNginx translates js_preload_object names into file paths.
 */
export { engine } from './nginx';

/** The demo's jack: the token printed in the APISIX docs, for the credential in tools/demo/consumers.ts. */
export const SEED_TOKEN = JACK.seedToken;

/** The 401 bodies users know from APISIX. */
export const MESSAGES = {
  missing: { message: 'Missing JWT token in request' },
  invalid: { message: 'JWT token invalid' },
  noKey: { message: 'missing user key in JWT token' },
  unknownKey: { message: 'Invalid user key in JWT token' },
  verifyFailed: { message: 'failed to verify jwt' },
  /** Kong's anti-smuggling rule: different tokens in several places. */
  multiple: { message: 'Multiple tokens provided' },
};

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names and values as received, duplicates kept. */
  rawHeaders: string[];
  text: string;
  /** The body as JSON (throws with the body in the message when it is not). */
  json(): any;
}

/** What the echo upstream (nginx/demo/echo.js) answers. */
export interface Echo {
  method: string;
  url: string;
  path: string;
  args: { [name: string]: string };
  headers: { [name: string]: string };
}

/** The upstream got no trace of the token (hide_credentials): neither it, nor its signature, nor an Authorization header. */
export function expectTokenGone(echo: Echo, token: string): void {
  expect(JSON.stringify(echo)).not.toContain(token);
  expect(JSON.stringify(echo)).not.toContain(token.slice(token.lastIndexOf('.') + 1));
  expect(echo.headers.Authorization).toBeUndefined();
}

/** A request with the token in Authorization beside another header and a cookie, which hide_credentials must leave. */
export function headersBesideToken(token: string): { [name: string]: string } {
  return { Authorization: 'Bearer ' + token, 'X-Other': 'kept', Cookie: 'session=abc' };
}

/** The upstream got the other header, the cookie and the URL of headersBesideToken's request unchanged. */
export function expectBesideTokenKept(echo: Echo, url: string): void {
  expect({ other: echo.headers['X-Other'], cookie: echo.headers.Cookie, url: echo.url }).toEqual({ other: 'kept', cookie: 'session=abc', url });
}

export interface RequestOptions {
  method?: string;
  headers?: { [name: string]: string };
  /** Port name of the nginx to talk to (default PORT). */
  port?: string;
}

export interface Gateway {
  nginx: Nginx;
  /** Every response this file received: method, path and status. */
  seen: { method: string; path: string; status: number }[];
  request(pathAndQuery: string, options?: RequestOptions): Promise<Reply>;
  get(pathAndQuery: string, headers?: { [name: string]: string }): Promise<Reply>;
  /** A GET that must reach the echo upstream: asserts 200 and returns what the upstream saw. */
  echo(pathAndQuery: string, headers?: { [name: string]: string }): Promise<Echo>;
  /** Waits until the named log file (in logs/) has a line matching `pattern`, returns that line. */
  logLine(file: string, pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  readLog(file: string): string;
  /** The error log and the main access log, for failure messages. */
  logs(): string;
}

export interface GatewayConfigOptions {
  /** Directives for the main context, after load_module (e.g. env). */
  main?: string;
  /** events { worker_connections } (default 256). */
  workerConnections?: number;
  /** worker_processes (default 1). */
  workers?: number;
  /**
   * Directives for http, after the gateway's js_import and jwt-variables.conf
   * and before the main access log (so it may name a log_format given here):
   * js_preload_object, log_format, limit_req_zone, large_client_header_buffers...
   */
  http?: string;
  /** The log_format of the main access log (logs/access.log); nginx's combined when not given. */
  accessLogFormat?: string;
  /**
   * The echo upstream (nginx/demo/echo.js) on ${ECHO_PORT}, as `echo_upstream`:
   * its server's access log (default off) and extra directives for that server.
   * false: no echo upstream (and no ECHO_PORT).
   */
  echo?: false | { accessLog?: string; extra?: string };
  /** Further whole server blocks, before the main server. */
  servers?: string[];
  /** The main server's directives, after `listen 127.0.0.1:${PORT};` (pieces of a list are indented each on its own). */
  server: string | string[];
}

/**
 * Lines of `text` re-indented to `spaces`: common leading white space removed,
 * blank lines at the ends dropped. Nothing for empty text.
 */
function block(text: string | undefined, spaces: number): string[] {
  const lines = (text ?? '').split('\n');
  while (lines.length && lines[0].trim() === '') lines.shift();
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  const margin = Math.min(...lines.filter((line) => line.trim() !== '').map((line) => line.length - line.trimStart().length));
  const pad = ' '.repeat(spaces);
  return lines.map((line) => (line.trim() === '' ? '' : pad + line.slice(margin).trimEnd()));
}

/**
 * The nginx.conf template every integration test shares, for startGateway /
 * startNginx (which fill ${NJS_MODULE}, ${PREFIX}, ${ROOT}, ${BUNDLE} and the
 * ports): one worker, the error log at info and every temp path in the
 * prefix, the gateway bundle and its variables, the echo upstream, and the
 * main server on ${PORT}. Options add what a file needs beyond that.
 * On QuickJS, startNginx's configForEngine adds `js_engine qjs;` and turns
 * each js_preload_object into the file path it names, in every config.
 */
export function gatewayConfig(options: GatewayConfigOptions): string {
  const echo = options.echo === false ? undefined : (options.echo ?? {});
  // A blank line ahead of each piece that is there.
  const spaced = (pieces: string[][]) => pieces.filter((lines) => lines.length > 0).flatMap((lines) => ['', ...lines]);
  const echoServer = echo
    ? [
        '    upstream echo_upstream {',
        '        server 127.0.0.1:${ECHO_PORT};',
        '        keepalive 4;',
        '    }',
        '    server {',
        '        listen 127.0.0.1:${ECHO_PORT};',
        '        access_log ' + (echo.accessLog ?? 'off') + ';',
        ...block(echo.extra, 8),
        '        location / { js_content echo.handle; }',
        '    }',
      ]
    : [];
  const mainServer = typeof options.server === 'string' ? [options.server] : options.server;
  return [
    configHead({ errorLogLevel: 'info', workerConnections: options.workerConnections ?? 256, main: block(options.main, 0), workers: options.workers }),
    '    js_import jwt from ${BUNDLE};',
    ...(echo ? ['    js_import echo from ${ROOT}/nginx/demo/echo.js;'] : []),
    '    include ${ROOT}/nginx/jwt-variables.conf;',
    ...spaced([
      block(options.http, 4),
      ['    access_log ${PREFIX}/logs/access.log' + (options.accessLogFormat ? ' ' + options.accessLogFormat : '') + ';'],
      echoServer,
      ...(options.servers ?? []).map((server) => block(server, 4)),
      ['    server {', '        listen 127.0.0.1:${PORT};', ...spaced(mainServer.map((piece) => block(piece, 8))), '    }'],
    ]),
    '}',
    '',
  ].join('\n');
}

/**
 * A location only valid tokens pass (jwt-auth.conf), proxied to the echo
 * upstream (or `upstream`) with the identity headers (jwt-proxy-headers.conf):
 * `before` are the directives ahead of the includes (the `set $auth_jwt_...`
 * lines), `after` those between them and proxy_pass (more headers, limit_req...).
 */
export function authLocation(path: string, before: string[] = [], after: string[] = [], upstream = 'echo_upstream'): string {
  const indented = (lines: string[]) => lines.map((line) => '    ' + line);
  return [
    'location ' + path + ' {',
    ...indented(before),
    '    include ${ROOT}/nginx/jwt-auth.conf;',
    '    include ${ROOT}/nginx/jwt-proxy-headers.conf;',
    ...indented(after),
    '    proxy_pass http://' + upstream + ';',
    '}',
  ].join('\n');
}

/** A location of the auth_request style (jwt-auth-request.conf), proxied to the echo upstream. */
export function authRequestLocation(path: string, before: string[] = [], after: string[] = []): string {
  const indented = (lines: string[]) => lines.map((line) => '    ' + line);
  return [
    'location ' + path + ' {',
    ...indented(before),
    '    include ${ROOT}/nginx/jwt-auth-request.conf;',
    ...indented(after),
    '    proxy_pass http://echo_upstream;',
    '}',
  ].join('\n');
}

/** node:http rather than fetch: it lets a test send any Cookie or oversized header as is. */
function send(url: string, options: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          text,
          json() {
            try {
              return JSON.parse(text);
            } catch {
              throw new Error('response body is not JSON (status ' + res.statusCode + '): ' + text.slice(0, 500));
            }
          },
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A request written byte for byte on a socket (node:http would join two
 * Cookie headers into one): status and body. Recorded in `seen`.
 */
export function rawRequest(gateway: Gateway, path: string, headerLines: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(gateway.nginx.url('/')).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write(['GET ' + path + ' HTTP/1.1', 'Host: localhost', 'Connection: close', ...headerLines, '', ''].join('\r\n')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      gateway.seen.push({ method: 'GET', path, status });
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n');
}

export async function startGateway(options: NginxOptions): Promise<Gateway> {
  const nginx = await startNginx(options);
  const seen: Gateway['seen'] = [];
  const readLog = (file: string) => (file === 'error.log' ? nginx.errorLog() : file === 'access.log' ? nginx.accessLog() : readLogFile(nginx, file));
  const gateway: Gateway = {
    nginx,
    seen,
    async request(pathAndQuery, requestOptions = {}) {
      const reply = await send(nginx.url(pathAndQuery, requestOptions.port), requestOptions);
      seen.push({ method: requestOptions.method ?? 'GET', path: pathAndQuery.slice(0, 200), status: reply.status });
      return reply;
    },
    get(pathAndQuery, headers) {
      return gateway.request(pathAndQuery, { headers });
    },
    async echo(pathAndQuery, headers) {
      const reply = await gateway.get(pathAndQuery, headers);
      if (reply.status !== 200) throw new Error('expected 200 from the echo upstream, got ' + reply.status + ': ' + reply.text.slice(0, 500));
      return reply.json() as Echo;
    },
    async logLine(file, pattern, timeoutMs = 2000) {
      // nginx writes the access log after the response went out: poll briefly.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lines = readLog(file).split('\n');
        const found = lines.find((line) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line)));
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error('no line matching ' + String(pattern) + ' in ' + file + ':\n' + tail(readLog(file), 20));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    readLog,
    logs() {
      return '--- error.log (tail) ---\n' + tail(nginx.errorLog(), 40) + '\n--- access.log (tail) ---\n' + tail(nginx.accessLog(), 20);
    },
  };
  return gateway;
}

function readLogFile(nginx: Nginx, file: string): string {
  // Nginx exposes only error.log and access.log; other logs live next to them.
  const target = path.join(nginx.prefix, 'logs', file);
  return existsSync(target) ? readFileSync(target, 'utf8') : '';
}

/**
 * Wraps a test body so that, when it fails, the message ends with the tail of
 * nginx's error and access logs.
 */
export function withLogs(gateway: () => Gateway | undefined, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await body();
    } catch (e) {
      const gw = gateway();
      if (gw && e instanceof Error) e.message += '\n\n' + gw.logs();
      throw e;
    }
  };
}

/** `it` for a file's tests: each gets the gateway's logs in its failure message, and `timeoutMs`. */
export function testsWithLogs(gateway: () => Gateway | undefined, timeoutMs: number): (name: string, body: () => Promise<void>) => void {
  return (name, body) => test(name, withLogs(gateway, body), timeoutMs);
}

/**
 * The afterAll checks of every file: no worker crashed, nothing at alert or
 * emerg level, no JS exception, and no response in the file was a 5xx.
 * Stops nginx either way. `expectedLines` are log lines a file provokes on
 * purpose (e.g. the emerg of a reload it makes fail); they are not counted.
 */
export async function finish(gateway: Gateway | undefined, expectedLines: RegExp[] = []): Promise<void> {
  if (!gateway) return;
  const errorLog = gateway.nginx.errorLog();
  await gateway.nginx.stop();
  const crashes = errorLog
    .split('\n')
    .filter((line) => /exited on signal|\[alert\]|\[emerg\]/.test(line))
    .filter((line) => !expectedLines.some((pattern) => pattern.test(line)));
  expect(crashes).toEqual([]);
  // A JS exception, even one the gateway turned into a 401, is a bug.
  const exceptions = errorLog.split('\n').filter((line) => /js exception|jwt-gateway: unexpected error/.test(line));
  expect(exceptions).toEqual([]);
  const serverErrors = gateway.seen.filter((entry) => entry.status >= 500);
  expect(serverErrors).toEqual([]);
  expect(gateway.seen.length).toBeGreaterThan(0);
}

/** Asks until `done` holds for the reply (at most `timeoutMs`), and returns the last reply. */
export async function until(ask: () => Promise<Reply>, done: (reply: Reply) => boolean, timeoutMs = 20000): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await ask();
    if (done(reply) || Date.now() > deadline) return reply;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The reply to a bearer token once it is 200 (or the last one after `timeoutMs`): for keys that arrive later, an identity provider's. */
export function whenPassing(gateway: Gateway, path: string, token: string, timeoutMs?: number): Promise<Reply> {
  return until(
    () => gateway.get(path, { Authorization: 'Bearer ' + token }),
    (reply) => reply.status === 200,
    timeoutMs,
  );
}

/** A claim rule's 403 as a client sees it. */
export function expectForbidden(reply: Reply): void {
  expect({ status: reply.status, body: reply.json(), challenge: reply.headers['www-authenticate'] }).toEqual({
    status: 403,
    body: { message: 'JWT claims do not permit this request' },
    challenge: 'Bearer realm="jwt", error="insufficient_scope"',
  });
}

/** Asserts the shape every rejection shares: status, JSON body, WWW-Authenticate and Content-Type. */
export function expectRejected(reply: Reply, body: { message: string }, options: { tokenSent?: boolean; realm?: string; status?: number } = {}): void {
  const realm = options.realm ?? 'jwt';
  const tokenSent = options.tokenSent ?? true;
  expect({ status: reply.status, body: reply.json() }).toEqual({ status: options.status ?? 401, body });
  expect(reply.headers['content-type']).toMatch(/^application\/json/);
  const challenges = reply.rawHeaders.filter((_, i) => i % 2 === 0 && reply.rawHeaders[i].toLowerCase() === 'www-authenticate').length;
  expect(challenges).toBe(1);
  expect(reply.headers['www-authenticate']).toBe('Bearer realm="' + realm + '"' + (tokenSent ? ', error="invalid_token"' : ''));
}

/** base64url of UTF-8 text or bytes, a JSON text as a segment (test/support/tokens.ts), a tampered signature (mutations.ts). */
export { b64u as b64, b64uJson as segment } from './tokens';
export { tampered } from './mutations';

/** Seconds since the epoch. */
export function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** A unique suffix, so tests never share rate-limit keys or log lines. */
let counter = 0;
export function unique(label: string): string {
  counter += 1;
  return label + '-' + process.pid + '-' + Date.now().toString(36) + '-' + counter;
}

/**
 * One nginx for a whole test file: started in beforeAll, health-checked and
 * stopped in afterAll (finish, which lets `expectedLines` pass). `it` adds nginx's logs to a failing test.
 */
export function gatewayPerFile(
  options: () => NginxOptions,
  timeoutMs = 15000,
  expectedLines: RegExp[] = [],
): { it: (name: string, body: () => Promise<void>) => void; g: () => Gateway } {
  let gw: Gateway | undefined;
  // startNginx bounds the start (options().startTimeoutMs, 5 s by default); the hook only must not cut it short.
  beforeAll(async () => {
    gw = await startGateway(options());
  }, 300000);
  afterAll(() => finish(gw, expectedLines));
  return {
    it: testsWithLogs(() => gw, timeoutMs),
    g: () => gw as Gateway,
  };
}

export type AuthRequestStyle = 'uncached' | 'cached';

/**
 * The pieces of the auth_request style as the README gives them: the
 * server-level include, and for the cached style the http-level cache,
 * verifier upstream and verifier server (its requests logged in
 * logs/verifier.log, one line per verification: status and X-Probe header).
 */
export function authRequestStyle(
  style: AuthRequestStyle,
  cache = 'keys_zone=jwt_cache:1m max_size=10m inactive=10m',
  verifierLines: string[] = [],
): { http: string; locations: string } {
  if (style === 'uncached') return { http: '', locations: 'include ${ROOT}/nginx/jwt-auth-request-locations.conf;' };
  return {
    http: "log_format jwt_verifier '$status $arg_probe';\n" + cachedStyleHttp({ cache, verifierLog: 'jwt_verifier', verifierLines }),
    locations: 'include ${ROOT}/nginx/jwt-auth-cache-locations.conf;',
  };
}
