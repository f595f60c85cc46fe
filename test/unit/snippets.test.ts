/**
 * The table of settings (build/settings-table.ts) is the one place a
 * setting is declared: the committed snippets and README match what it
 * generates, and the njs side reads exactly its names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from '../../build/snippets';
import { SETTINGS } from '../../build/settings-table';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');
const names = SETTINGS.map((setting) => setting.name).sort();

test.each(Object.entries(generatedFiles()))('%s is as the table generates it (else: npm run snippets)', (file, text) => {
  expect(read(file)).toBe(text);
});

test('njs/nginx/settings.ts reads every setting of the table and no other; $auth_jwt_cache is also read by the cache-zone map', () => {
  const read_ = new Set([...read('njs/nginx/settings.ts').matchAll(/\bv\.auth_jwt_([a-z_]+)/g)].map((match) => match[1]));
  expect([...read_].sort()).toEqual(names);
  expect(read('nginx/jwt-variables.conf')).toContain('map "$auth_jwt_cache|');
});

test('no snippet or njs source names a $auth_jwt_ variable the table lacks', () => {
  const files = ['njs/gateway.ts', 'njs/nginx/settings.ts', 'njs/nginx/outcome.ts', ...Object.keys(generatedFiles()).filter((file) => file.endsWith('.conf'))];
  const extra = ['nginx/jwt-auth.conf', 'nginx/jwt-auth-error-page.conf', 'nginx/jwt-proxy-headers.conf'];
  for (const file of [...files, ...extra]) {
    for (const match of read(file).matchAll(/auth_jwt_([a-z_]+)/g))
      expect({ file, name: match[1], known: names.includes(match[1]) }).toEqual({ file, name: match[1], known: true });
  }
});

test('every setting that decides is handed to the verifier and is in the cache key, in one line each', () => {
  const verifier = read('nginx/jwt-verifier.conf');
  const cached = read('nginx/jwt-auth-cache-locations.conf');
  const key = cached.split('\n').find((line) => line.trim().startsWith('proxy_cache_key'))!;
  for (const setting of SETTINGS.filter((s) => s.decides)) {
    expect(key).toContain('\\n' + setting.name + '=$jwt_setting_' + setting.name + '\\n');
    if (setting.name === 'header') continue; // travels as Authorization, see build/snippets.ts
    expect(verifier).toContain('set $auth_jwt_' + setting.name + ' $http_x_auth_jwt_' + setting.name + ';');
  }
  expect(cached).toContain('proxy_pass_request_headers off;');
});
