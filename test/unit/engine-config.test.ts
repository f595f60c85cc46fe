/**
 * test/support/nginx.ts's configForEngine, which every config the tests start
 * goes through: temp paths in the prefix on every engine, and on QuickJS
 * `js_engine qjs;` and file paths in place of js_preload_object names.
 * Engines are described by hand here, so this runs without any of them.
 */
import { configForEngine, Engine } from '../../test/support/nginx';
import { describeEngine } from '../../test/support/engines.mjs';

const MODULE = '/opt/engine/ngx_http_js_module.so';
const features = {
  preloadObject: true,
  sharedDict: true,
  periodic: true,
  ed25519: true,
  slowPreload: false,
  preloadFailureLogged: true,
  envDirectiveOnly: true,
};
const classic: Engine = {
  id: 'sid',
  name: 'nginx 1.30.6 / njs 1.0.2',
  nginxVersion: '1.30.6',
  njsVersion: '1.0.2',
  qjs: false,
  root: '/opt/engine',
  nginx: ['nginx'],
  njs: ['njs'],
  modulePath: MODULE,
  features,
};
const quickjs: Engine = {
  ...classic,
  id: 'sid-qjs',
  name: 'nginx 1.30.6 / njs 1.0.2 (QuickJS)',
  qjs: true,
  features: { ...features, preloadObject: false, slowPreload: false, preloadFailureLogged: false },
};

const CONFIG = [
  'load_module ' + MODULE + ';',
  'events { }',
  'http {',
  '    proxy_temp_path /p/temp/proxy;',
  '    js_import jwt from /p/jwt-gateway.js;',
  '    js_preload_object consumers from /p/consumers.json;',
  '    js_preload_object /p/keys/jwks.json;',
  '    js_preload_object revoked from revoked.json;',
  '    server {',
  '        location /a/ {',
  '            set $auth_jwt_consumers consumers;',
  '            set $auth_jwt_revocation_list revoked;',
  '        }',
  '        location /b/ { set $auth_jwt_key_file jwks; return 200; }',
  '        location /c/ { set $auth_jwt_consumers unknown_name; set $auth_jwt_realm consumers; }',
  '    }',
  '}',
  '',
].join('\n');

const TEMP = ['client_body_temp_path /p/temp/body;', 'fastcgi_temp_path /p/temp/fastcgi;', 'uwsgi_temp_path /p/temp/uwsgi;', 'scgi_temp_path /p/temp/scgi;'];

test('on the classic engine only the missing temp paths are added, into the prefix', () => {
  const out = configForEngine(CONFIG, '/p', classic);
  expect(out).toBe(CONFIG.replace('http {\n', 'http {\n' + TEMP.map((line) => '    ' + line + '\n').join('')));
});

test('on QuickJS js_preload_object names become the files they name, and js_engine qjs opens the http block', () => {
  const out = configForEngine(CONFIG, '/p', quickjs);
  expect(out).toContain('http {\n    js_engine qjs;\n    client_body_temp_path /p/temp/body;\n');
  expect(out).not.toMatch(/^\s*js_preload_object/m);
  expect(out).toContain('    # js_preload_object consumers: none on QuickJS, the settings name /p/consumers.json\n');
  expect(out).toContain('set $auth_jwt_consumers /p/consumers.json;');
  expect(out).toContain('set $auth_jwt_revocation_list /p/revoked.json;');
  // `js_preload_object FILE;` is named after the file; inline settings are translated too.
  expect(out).toContain('location /b/ { set $auth_jwt_key_file /p/keys/jwks.json; return 200; }');
  // A name nothing preloads stays (the gateway reports it), and other settings are left alone.
  expect(out).toContain('location /c/ { set $auth_jwt_consumers unknown_name; set $auth_jwt_realm consumers; }');
  expect(out.match(/proxy_temp_path/g)).toHaveLength(1);
});

test('a config without the njs module (a plain upstream) gets no js_engine', () => {
  const plain = 'events { }\nhttp {\n    server { listen 1; }\n}\n';
  expect(configForEngine(plain, '/p', quickjs)).not.toContain('js_engine');
});

test('an unknown engine id is an error that lists the engines', () => {
  expect(() => describeEngine('nope')).toThrow(/unknown engine \(one of system, trixie, sid, sid-qjs/);
  expect(() => describeEngine('njs-9.9.9-qjs')).toThrow(/no engine with njs 9\.9\.9 \(QuickJS\)/);
});
