// The nginx/njs engines the tests run on: the installed one (Debian 12's
// nginx 1.22.1 / njs 0.7.9 here and in CI) and Debian's newer builds that
// test/support/fetch-engines.sh extracts into .engines/SUITE/root, run through their
// own dynamic loader (they need a newer libc than the machine's). Plain
// JavaScript so that test/run.mjs can use it as well as the
// TypeScript runner (test/support/nginx.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SYSTEM_MODULES = [
  '/usr/lib/nginx/modules/ngx_http_js_module.so',
  '/etc/nginx/modules/ngx_http_js_module.so',
  '/usr/local/nginx/modules/ngx_http_js_module.so',
];

/** The environment variable that picks the engine of test/support/nginx.ts (and so of the integration tests). */
export const ENGINE_VARIABLE = 'JWT_GATEWAY_ENGINE';

/** Every engine id, in the order `npm test` runs them. */
export const ENGINE_IDS = ['system', 'trixie', 'sid', 'sid-qjs'];

const SPECS = {
  system: { suite: null, qjs: false },
  trixie: { suite: 'trixie', qjs: false },
  sid: { suite: 'sid', qjs: false },
  'sid-qjs': { suite: 'sid', qjs: true },
};

/** Where test/support/fetch-engines.sh puts a Debian suite's files. */
export function engineRoot(suite) {
  return path.join(ROOT, '.engines', suite, 'root');
}

/** "0.8.9" -> 809; "1.0.2" -> 10002. */
export function versionNumber(version) {
  const parts = String(version).split('.');
  return Number(parts[0] || 0) * 10000 + Number(parts[1] || 0) * 100 + Number(parts[2] || 0);
}

function probe(command, args) {
  const result = spawnSync(command[0], [...command.slice(1), ...args], { encoding: 'utf8' });
  if (result.error) throw new Error(command.join(' ') + ': ' + result.error.message);
  if (result.status !== 0)
    throw new Error(command.join(' ') + ' ' + args.join(' ') + ' exited with ' + result.status + ': ' + (result.stderr || result.stdout).trim());
  return (result.stdout + result.stderr).trim();
}

const described = {};

/**
 * The engine `id` names (an id of ENGINE_IDS, or `njs-VERSION` / `njs-VERSION-qjs`
 * matched against the versions the engines print), with its commands and
 * features. Throws, saying why, when the engine is not there (e.g. not fetched).
 */
export function describeEngine(id) {
  if (described[id]) return described[id];
  const byVersion = /^njs-(\d+\.\d+\.\d+)(-qjs)?$/.exec(id);
  if (byVersion) {
    const qjs = Boolean(byVersion[2]);
    const problems = [];
    for (const candidate of ENGINE_IDS) {
      if (SPECS[candidate].qjs !== qjs) continue;
      try {
        const engine = describeEngine(candidate);
        if (engine.njsVersion === byVersion[1]) return (described[id] = engine);
      } catch (e) {
        problems.push(e.message);
      }
    }
    throw new Error(
      'no engine with njs ' +
        byVersion[1] +
        (qjs ? ' (QuickJS)' : '') +
        ' (engines: ' +
        ENGINE_IDS.join(', ') +
        ')' +
        (problems.length ? '; ' + problems.join('; ') : ''),
    );
  }
  const spec = SPECS[id === 'installed' || id === 'bookworm' ? 'system' : id];
  if (!spec) throw new Error(ENGINE_VARIABLE + '=' + id + ': unknown engine (one of ' + ENGINE_IDS.join(', ') + ', or njs-VERSION[-qjs])');
  let nginx;
  let njs;
  let modulePath;
  let root = null;
  if (spec.suite === null) {
    nginx = ['nginx'];
    njs = ['njs'];
    modulePath = SYSTEM_MODULES.find((candidate) => existsSync(candidate));
    if (!modulePath) throw new Error('ngx_http_js_module.so not found; install it: apt-get install nginx-light libnginx-mod-http-js');
  } else {
    root = engineRoot(spec.suite);
    const loader = path.join(root, 'usr', 'lib64', 'ld-linux-x86-64.so.2');
    const libraries = [path.join(root, 'usr', 'lib', 'x86_64-linux-gnu'), path.join(root, 'lib', 'x86_64-linux-gnu')].join(':');
    modulePath = path.join(root, 'usr', 'lib', 'nginx', 'modules', 'ngx_http_js_module.so');
    for (const needed of [loader, path.join(root, 'usr', 'sbin', 'nginx'), path.join(root, 'usr', 'bin', 'njs'), modulePath]) {
      if (existsSync(needed)) continue;
      // test/support/fetch-engines.sh leaves the reason of a failed fetch beside the folder.
      const failure = path.join(ROOT, '.engines', spec.suite + '.error');
      const reason = existsSync(failure) ? ': ' + readFileSync(failure, 'utf8').trim().split('\n').join(' / ') : '';
      throw new Error(path.relative(ROOT, needed) + ' is missing (run test/support/fetch-engines.sh ' + spec.suite + ')' + reason);
    }
    nginx = [loader, '--library-path', libraries, path.join(root, 'usr', 'sbin', 'nginx')];
    njs = [loader, '--library-path', libraries, path.join(root, 'usr', 'bin', 'njs')];
  }
  const nginxVersion = /nginx\/([0-9.]+)/.exec(probe(nginx, ['-v']))?.[1];
  const njsVersion = /^([0-9]+\.[0-9]+\.[0-9]+)/.exec(probe(njs, ['-v']))?.[1];
  if (!nginxVersion || !njsVersion) throw new Error(id + ': cannot read the nginx or njs version');
  if (spec.qjs && !/QuickJS/.test(probe(njs, ['-h']))) throw new Error(id + ': njs ' + njsVersion + ' has no QuickJS engine');
  const v = versionNumber(njsVersion);
  const engine = {
    id: spec.suite === null ? 'system' : id,
    name: 'nginx ' + nginxVersion + ' / njs ' + njsVersion + (spec.qjs ? ' (QuickJS)' : ''),
    nginxVersion,
    njsVersion,
    qjs: spec.qjs,
    root,
    nginx,
    // The QuickJS njs CLI runs ES modules only (no global require): `-n QuickJS -m file.mjs`.
    njs: spec.qjs ? [...njs, '-n', 'QuickJS'] : njs,
    modulePath,
    features: {
      /** js_preload_object: classic engine only (QuickJS accepts the directive, but the object never exists). */
      preloadObject: !spec.qjs,
      /** js_shared_dict_zone and ngx.shared (run-time revocation): njs >= 0.8.0. */
      sharedDict: v >= 800,
      /** js_periodic with ngx.fetch (identity providers' keys fetched in nginx): njs >= 0.8.1. */
      periodic: v >= 801,
      /**
       * Ed25519 in the nginx module's WebCrypto (EdDSA): njs >= 0.9.7, and a build that has it
       * (its algorithm table names it). Debian sid's module of njs 1.0.2 has none; its njs CLI has.
       */
      ed25519: v >= 907 && readFileSync(modulePath).includes('Ed25519'),
      /**
       * js_preload_object of a large document is slow (quadratic, in njs_object_make_shared):
       * a 17.6 MB map of 100,000 consumers took 32 s to load on 0.8.9 and 40 s on 1.0.2 (0.6 s on 0.7.9),
       * at start and at every reload.
       */
      slowPreload: !spec.qjs && v >= 800,
      /**
       * A reload whose js_preload_object file does not parse logs "[emerg] failed to initialize
       * preload objects" (seen on 0.8.9 and 1.0.2); 0.7.9 logs nothing and just keeps the old workers.
       */
      preloadFailureLogged: !spec.qjs && v >= 800,
      /** Workers see only the variables named by `env` (njs >= 0.8.8); before, all of the master's. */
      envDirectiveOnly: v >= 808,
    },
  };
  described[id] = engine;
  return engine;
}

/** The id of the engine this process should use: $JWT_GATEWAY_ENGINE, or the installed one. */
export function selectedEngineId(env = process.env) {
  return env[ENGINE_VARIABLE] || 'system';
}
