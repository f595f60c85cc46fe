/**
 * Starts a real nginx (Debian's, with the njs module) from a config template,
 * on free loopback ports, in a private prefix directory. Used by the demo, the
 * integration tests and the benchmark, so all three run the same way.
 *
 * The engine is the installed nginx unless $JWT_GATEWAY_ENGINE names another
 * (trixie, sid, sid-qjs: Debian's newer builds fetched by
 * test/support/fetch-engines.sh, see engines.mjs); engine() describes it for tests
 * that must branch on a feature.
 */
import { ChildProcess, execFileSync, spawn, spawnSync, SpawnSyncOptions, SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeEngine, Engine, ENGINE_VARIABLE, selectedEngineId } from './engines.mjs';

export type { Engine, EngineFeatures } from './engines.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE = path.join(ROOT, 'build', 'dist', 'jwt-gateway.js');

/**
 * The engine this process runs nginx with ($JWT_GATEWAY_ENGINE, default the
 * installed one): its name as printed at run time, versions, whether it is
 * QuickJS, its commands and feature flags. Throws when it is not available.
 */
export function engine(): Engine {
  return describeEngine(selectedEngineId());
}

export { ENGINE_VARIABLE };

/** Runs the engine's nginx binary synchronously (e.g. `nginx -t`), through its loader for a fetched engine. */
export function nginxSync(args: string[], options: SpawnSyncOptions = {}): SpawnSyncReturns<string> {
  const command = engine().nginx;
  return spawnSync(command[0], [...command.slice(1), ...args], { encoding: 'utf8', ...options }) as SpawnSyncReturns<string>;
}

export interface NginxOptions {
  /** Config text; `${NAME}` is replaced by the variables below, PREFIX, ROOT, BUNDLE, NJS_MODULE and each port. */
  config: string;
  /** Names of ports to allocate (e.g. ['PORT', 'ECHO_PORT']); a fixed number may be given in `fixedPorts`. */
  ports: string[];
  fixedPorts?: { [name: string]: number };
  /** Files to write into the prefix directory before start (name -> content). */
  files?: { [name: string]: string };
  variables?: { [name: string]: string };
  /** Extra environment for nginx (a Jest test's process.env is its own copy and does not reach children). */
  env?: { [name: string]: string };
  /** How long nginx may take to listen on every port (default 5000 ms). */
  startTimeoutMs?: number;
  /** How long a reload may take to start new workers (default 3000 ms); a config nginx refuses is known only at its end. */
  reloadTimeoutMs?: number;
}

export interface Nginx {
  prefix: string;
  masterPid: number;
  ports: { [name: string]: number };
  url(pathAndQuery: string, portName?: string): string;
  errorLog(): string;
  accessLog(): string;
  /** Rewrites files in the prefix and reloads nginx (SIGHUP); false when nginx kept the old config. */
  reload(files?: { [name: string]: string }): Promise<boolean>;
  stop(): Promise<void>;
}

/** Every http temp path nginx has, each with its folder in the prefix: the newer builds' compiled-in paths never matter. */
const TEMP_PATHS: [string, string][] = [
  ['client_body_temp_path', 'body'],
  ['proxy_temp_path', 'proxy'],
  ['fastcgi_temp_path', 'fastcgi'],
  ['uwsgi_temp_path', 'uwsgi'],
  ['scgi_temp_path', 'scgi'],
];

/**
 * The head of a config for startNginx, up to the inside of `http {`: one
 * worker (or `workers`), logs, pid and temp files in the prefix, and the njs module unless
 * `njs` is false (with `js_engine qjs;` on QuickJS). Callers add their http lines and servers, then close it.
 */
export function configHead(options: { errorLogLevel: string; workerConnections?: number; njs?: boolean; main?: string[]; workers?: number }): string {
  return [
    ...(options.njs === false ? [] : ['load_module ${NJS_MODULE};']),
    ...(options.main ?? []),
    'worker_processes ' + (options.workers ?? 1) + ';',
    'error_log ${PREFIX}/logs/error.log ' + options.errorLogLevel + ';',
    'pid ${PREFIX}/logs/nginx.pid;',
    'events { worker_connections ' + (options.workerConnections ?? 1024) + '; }',
    'http {',
    ...(options.njs !== false && engine().qjs ? ['    js_engine qjs;'] : []),
    ...TEMP_PATHS.map(([directive, folder]) => '    ' + directive + ' ${PREFIX}/temp/' + folder + ';'),
    '',
  ].join('\n');
}

const AUTH_JWT_DOCUMENTS = /((?:^|[{;])\s*set\s+\$auth_jwt_(?:consumers|key_file|revocation_list)\s+)([A-Za-z_$][\w$]*)(\s*;)/gm;
const PRELOAD_OBJECT = /(^|[{;])([ \t]*)js_preload_object\s+([^;\s]+)(?:\s+from\s+([^;\s]+))?\s*;/gm;

/**
 * A rendered config as the engine needs it; every config startNginx starts
 * goes through here, so tests write one config for all engines:
 * - a temp path the config does not set is put into the prefix;
 * - on QuickJS, `js_engine qjs;` opens the http block, and since QuickJS has
 *   no js_preload_object (nginx accepts the directive, but the object never
 *   exists), each `js_preload_object NAME from PATH;` is dropped and
 *   `set $auth_jwt_consumers|key_file|revocation_list NAME;` names PATH
 *   instead, a form the gateway accepts wherever it accepts a preloaded name.
 */
export function configForEngine(config: string, prefix: string, target: Engine = engine()): string {
  let text = config;
  const additions: string[] = [];
  if (target.qjs && text.includes(target.modulePath)) {
    const files: { [name: string]: string } = {};
    text = text.replace(PRELOAD_OBJECT, (whole, before: string, indent: string, first: string, second: string | undefined, at: number, all: string) => {
      // `js_preload_object NAME from PATH;` or `js_preload_object PATH;` (the name is the file's, without .json).
      const file = second ?? first;
      const name = second ? first : path.basename(first).replace(/\.json$/, '');
      files[name] = path.resolve(prefix, file);
      // Alone on its line, it leaves a trace; within a line it just goes.
      const rest = all.slice(at + whole.length, (all.indexOf('\n', at) + 1 || all.length + 1) - 1);
      return (
        before + (before === '' && rest.trim() === '' ? indent + '# js_preload_object ' + name + ': none on QuickJS, the settings name ' + files[name] : '')
      );
    });
    text = text.replace(AUTH_JWT_DOCUMENTS, (whole, head: string, name: string, tail: string) => (files[name] ? head + files[name] + tail : whole));
    if (!/^\s*js_engine\s/m.test(text)) additions.push('js_engine qjs;');
  }
  for (const [directive, folder] of TEMP_PATHS) {
    if (!new RegExp('^\\s*' + directive + '\\s', 'm').test(text)) additions.push(directive + ' ' + path.join(prefix, 'temp', folder) + ';');
  }
  if (additions.length) {
    const http = /^\s*http\s*\{[^\n]*\n/m.exec(text);
    if (http)
      text = text.slice(0, http.index + http[0].length) + additions.map((line) => '    ' + line + '\n').join('') + text.slice(http.index + http[0].length);
  }
  return text;
}

/**
 * The http-level part of the cached auth_request style as the README gives it
 * (for startNginx templates): the generation (nginx/jwt-boot-id.conf as
 * shipped, or `bootId`, a file jwt-boot-id.sh wrote), the cache (zone
 * jwt_cache; `cache` sets its size parameters), the verifier upstream and the
 * verifier server on a unix socket in the prefix, logging to
 * logs/verifier.log when `verifierLog` names a log_format.
 */
export function cachedStyleHttp(options: { cache?: string; verifierLog?: string; bootId?: string; verifierLines?: string[] } = {}): string {
  return [
    'include ' + (options.bootId ?? '${ROOT}/nginx/jwt-boot-id.conf') + ';',
    'proxy_cache_path ${PREFIX}/jwt-cache levels=1:2 ' + (options.cache ?? 'keys_zone=jwt_cache:1m max_size=64m inactive=10m') + ' use_temp_path=off;',
    'upstream jwt_verifier {',
    '    server unix:${PREFIX}/verifier.sock;',
    '    keepalive 16;',
    '}',
    'server {',
    '    listen unix:${PREFIX}/verifier.sock;',
    '    access_log ' + (options.verifierLog ? '${PREFIX}/logs/verifier.log ' + options.verifierLog : 'off') + ';',
    ...(options.verifierLines ?? []).map((line) => '    ' + line),
    '    location / {',
    '        include ${ROOT}/nginx/jwt-verifier.conf;',
    '    }',
    '}',
  ].join('\n');
}

/** The engine's ngx_http_js_module.so. */
export function njsModulePath(): string {
  return engine().modulePath;
}

/** A port nobody listens on: the one asked for (an error names it when it is taken), or any. */
export function freePort(wanted = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new Error('port ' + wanted + ' on 127.0.0.1 is already in use (is another demo running?)') : e),
    );
    server.listen(wanted, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** `dir`/jwt-boot-id.conf written by the shipped nginx/jwt-boot-id.sh, as before a real start (cachedStyleHttp's `bootId`). */
export function bootIdFile(dir: string): string {
  const file = path.join(dir, 'jwt-boot-id.conf');
  execFileSync('sh', [path.join(ROOT, 'nginx', 'jwt-boot-id.sh'), file]);
  return file;
}

/** A config template with its ${NAME}s filled in; a name without a value is an error. */
export function render(template: string, values: { [name: string]: string }): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => {
    if (!(name in values)) throw new Error('config template names ${' + name + '} but no value was given');
    return values[name];
  });
}

function waitForPort(port: number, child: ChildProcess, errorLogPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error('nginx exited with ' + child.exitCode + ':\n' + readIfExists(errorLogPath)));
        return;
      }
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error('nginx did not listen on ' + port + ':\n' + readIfExists(errorLogPath)));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

function processStat(pid: number): { ppid: number; state: string } | null {
  try {
    const stat = readFileSync('/proc/' + pid + '/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  const stat = processStat(pid);
  return stat !== null && stat.state !== 'Z';
}

export interface WorkerProcess {
  pid: number;
  shuttingDown: boolean;
}

/**
 * A master's worker processes, from /proc (children titled "nginx: worker process...").
 * Started through a loader, the title follows the loader's own arguments
 * ("/.../ld-linux-x86-64.so.2 --library-path ... nginx: worker process").
 */
export function workerProcesses(master: number): WorkerProcess[] {
  const out: WorkerProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const pid = Number(name);
    const stat = processStat(pid);
    if (!stat || stat.ppid !== master || stat.state === 'Z') continue;
    let title = '';
    try {
      title = readFileSync('/proc/' + pid + '/cmdline', 'utf8')
        .replace(/\0/g, ' ')
        .trim();
    } catch {
      continue;
    }
    const at = title.indexOf('nginx: worker process');
    if (at === 0 || (at > 0 && title[at - 1] === ' ' && title.startsWith(path.sep))) out.push({ pid, shuttingDown: title.includes('shutting down', at) });
  }
  return out;
}

function readIfExists(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/**
 * Writes each file as the README says to replace one: a new file, renamed
 * over the old. Workers that read files by path while nginx runs (every
 * request on the classic engine, a changed file on QuickJS) would otherwise
 * see one half-written and refuse its requests.
 */
export function writeFiles(prefix: string, files: { [name: string]: string }): void {
  for (const name of Object.keys(files)) {
    const target = path.join(prefix, name);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target + '.new', files[name]);
    renameSync(target + '.new', target);
  }
}

export async function startNginx(options: NginxOptions): Promise<Nginx> {
  const prefix = mkdtempSync(path.join(os.tmpdir(), 'jwt-gateway-'));
  // mkdtemp makes the folder 0700; nginx workers run as nobody when the master is root and must read files there.
  chmodSync(prefix, 0o755);
  mkdirSync(path.join(prefix, 'logs'));
  mkdirSync(path.join(prefix, 'temp'));
  const ports: { [name: string]: number } = {};
  // Each free when asked, but the kernel may hand the same one out twice in a row: ask again until they differ.
  for (const name of options.ports) {
    let port = await freePort(options.fixedPorts?.[name]);
    while (!options.fixedPorts?.[name] && Object.values(ports).includes(port)) port = await freePort();
    ports[name] = port;
  }
  const values: { [name: string]: string } = {
    PREFIX: prefix,
    ROOT,
    BUNDLE,
    NJS_MODULE: njsModulePath(),
    ...options.variables,
  };
  for (const name of Object.keys(ports)) values[name] = String(ports[name]);
  writeFiles(prefix, options.files ?? {});
  writeFileSync(path.join(prefix, 'nginx.conf'), configForEngine(render(options.config, values), prefix));
  const errorLogPath = path.join(prefix, 'logs', 'error.log');
  const command = engine().nginx;
  const child = spawn(command[0], [...command.slice(1), '-p', prefix, '-e', errorLogPath, '-c', path.join(prefix, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 5000);
    for (const name of Object.keys(ports)) await waitForPort(ports[name], child, errorLogPath, Math.max(0, deadline - Date.now()));
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    if (!process.env.KEEP_NGINX_PREFIX) rmSync(prefix, { recursive: true, force: true });
    throw new Error((e as Error).message + stderr, { cause: e });
  }
  return {
    prefix,
    masterPid: child.pid!,
    ports,
    url: (pathAndQuery, portName = 'PORT') => 'http://127.0.0.1:' + ports[portName] + pathAndQuery,
    errorLog: () => readIfExists(errorLogPath),
    accessLog: () => readIfExists(path.join(prefix, 'logs', 'access.log')),
    async reload(files) {
      writeFiles(prefix, files ?? {});
      const started = () => (readIfExists(errorLogPath).match(/start worker process/g) || []).length;
      const before = started();
      const oldWorkers = workerProcesses(child.pid!).map((worker) => worker.pid);
      child.kill('SIGHUP');
      // Done when new workers log that they started; a config nginx refuses starts none (the old workers keep serving).
      const deadline = Date.now() + (options.reloadTimeoutMs ?? 3000);
      const pause = () => new Promise((resolve) => setTimeout(resolve, 25));
      while (started() === before && Date.now() < deadline) await pause();
      if (started() === before) return false;
      // Until the old workers close their listening sockets, a new connection may still reach the old config.
      const oldStillListening = () => workerProcesses(child.pid!).some((worker) => oldWorkers.includes(worker.pid) && !worker.shuttingDown);
      while (oldStillListening() && Date.now() < deadline) await pause();
      await pause();
      return true;
    },
    async stop() {
      if (child.exitCode === null) {
        const workers = workerProcesses(child.pid!).map((worker) => worker.pid);
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
        // A worker stuck in a request outlives a killed master; never leave one behind.
        for (const pid of workers) {
          try {
            if (isAlive(pid)) process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      if (!process.env.KEEP_NGINX_PREFIX) rmSync(prefix, { recursive: true, force: true });
    },
  };
}
