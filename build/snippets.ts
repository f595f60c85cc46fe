/**
 * Writes the parts of the nginx snippets and of the README that follow from
 * the table of settings (build/settings-table.ts), between marker lines:
 * `npm run snippets` rewrites them, test/unit/snippets.test.ts fails while a
 * committed file differs. One entry in the table reaches every style.
 * `npm run snippets` also writes the config files' JSON Schemas (build/schemas.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaFiles } from './schemas';
import { Equivalent, SETTINGS, SettingSpec } from './settings-table';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The token header is not handed to the verifier by name: the gateway sends
 * the configured header's value as Authorization (nginx cannot name a header
 * by a variable) and keys the cache on it, so the verifier reads Authorization.
 */
const TOKEN_HEADER = 'header';

const variable = (setting: SettingSpec) => '$auth_jwt_' + setting.name;
/** What the auth_request styles keep of a location's setting across the auth subrequest, which re-runs the server's `set`s. */
const kept = (setting: SettingSpec) => '$jwt_setting_' + setting.name;
const headerName = (setting: SettingSpec) =>
  'X-Auth-Jwt-' +
  setting.name
    .split('_')
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('-');
const handedOver = SETTINGS.filter((setting) => setting.decides && setting.name !== TOKEN_HEADER);

/**
 * The cache key: one part per line. No part a client sends (query, token
 * header, Cookie) can hold a line break, so no client can make two different
 * requests share a key; the generation ties entries to this start or reload.
 */
function cacheKey(): string {
  const parts = [
    'generation=$jwt_generation',
    ...SETTINGS.filter((setting) => setting.decides).map((setting) => setting.name + '=' + kept(setting)),
    'request_args=$jwt_request_args',
    'request_token_header=$jwt_token_header_value',
    'request_cookie=$http_cookie',
  ];
  return 'proxy_cache_key "' + parts.join('\\n') + '";';
}

/** Settings are `set` variables: nginx takes `set` in server and location (and `if`) blocks. */
const CONTEXT = 'server, location';

/** A summary as a sentence: capital first letter, closing full stop. */
function sentence(text: string): string {
  const capital = /^[a-z]/.test(text) ? text[0].toUpperCase() + text.slice(1) : text;
  return /[.!?]$/.test(capital) ? capital : capital + '.';
}

/** `label` names the product and plugin in the mapping table, `short` in a setting's entry. */
const PRODUCTS: { label: string; short: string; of: (setting: SettingSpec) => Equivalent | undefined }[] = [
  { label: 'NGINX Plus', short: 'NGINX Plus', of: (setting) => setting.nginxPlus },
  { label: 'Kong `jwt`', short: 'Kong', of: (setting) => setting.kong },
  { label: 'APISIX `jwt-auth`', short: 'APISIX', of: (setting) => setting.apisix },
];

/** GitHub tables split cells at every `|`, inside code spans too. */
const tableCell = (text: string) => text.split('|').join('\\|');

const equivalentText = (equivalent: Equivalent) => '`' + equivalent.name + '`' + (equivalent.note ? ' (' + equivalent.note + ')' : '');

/** One setting in nginx.org's form: heading, Syntax / Default / Context, the description, then what other products call it. */
function readmeEntry(setting: SettingSpec): string[] {
  const equivalents = PRODUCTS.filter((product) => product.of(setting)).map((product) => product.short + ' ' + equivalentText(product.of(setting)!));
  return [
    '#### `' + variable(setting) + '`',
    '',
    '**Syntax:** `set ' + variable(setting) + ' ' + setting.syntax + ';`\\',
    '**Default:** ' + setting.default + '\\',
    '**Context:** ' + CONTEXT,
    '',
    sentence(setting.summary),
    ...(equivalents.length ? ['', '**Equivalents:** ' + equivalents.join('; ') + '.'] : []),
    '',
  ];
}

/** Other products' names -> this gateway's setting, for every setting that has one; the README lists what is not a setting below it. */
function equivalentRows(): string[] {
  const rows: string[] = [];
  for (const product of PRODUCTS) {
    for (const setting of SETTINGS) {
      const equivalent = product.of(setting);
      if (!equivalent) continue;
      const anchor = '#' + variable(setting).slice(1);
      const cells = [
        product.label,
        '`' + equivalent.name + '`',
        '[`' + variable(setting) + '`](' + anchor + ')' + (equivalent.note ? ': ' + equivalent.note : ''),
      ];
      rows.push('| ' + cells.map(tableCell).join(' | ') + ' |');
    }
  }
  return ['| product | directive or field | here |', '|---|---|---|', ...rows];
}

interface Region {
  file: string;
  name: string;
  lines: string[];
}

export function regions(): Region[] {
  return [
    { file: 'nginx/jwt-variables.conf', name: 'settings', lines: SETTINGS.map((setting) => 'js_var ' + variable(setting) + ';') },
    { file: 'nginx/jwt-variables.conf', name: 'kept', lines: SETTINGS.map((setting) => 'js_var ' + kept(setting) + ';') },
    { file: 'nginx/jwt-auth-request.conf', name: 'keep', lines: SETTINGS.map((setting) => 'set ' + kept(setting) + ' ' + variable(setting) + ';') },
    ...['nginx/jwt-auth-request-locations.conf', 'nginx/jwt-auth-cache-locations.conf'].map((file) => ({
      file,
      name: 'restore',
      lines: SETTINGS.map((setting) => '    set ' + variable(setting) + ' ' + kept(setting) + ';'),
    })),
    { file: 'nginx/jwt-auth-cache-locations.conf', name: 'key', lines: ['    ' + cacheKey()] },
    {
      file: 'nginx/jwt-auth-cache-locations.conf',
      name: 'handover',
      lines: handedOver.map((setting) => '    proxy_set_header ' + headerName(setting) + ' ' + kept(setting) + ';'),
    },
    {
      file: 'nginx/jwt-verifier.conf',
      name: 'handover',
      lines: handedOver.map((setting) => 'set ' + variable(setting) + ' $http_' + headerName(setting).toLowerCase().split('-').join('_') + ';'),
    },
    { file: 'README.md', name: 'settings', lines: ['', ...SETTINGS.flatMap(readmeEntry)] },
    { file: 'README.md', name: 'equivalents', lines: equivalentRows() },
  ];
}

function markers(file: string, name: string): { begin: string; end: string } {
  const tag = 'generated from build/settings-table.ts (npm run snippets): ' + name;
  return file.endsWith('.md') ? { begin: '<!-- ' + tag + ' -->', end: '<!-- end of ' + name + ' -->' } : { begin: '# ' + tag, end: '# end of ' + name };
}

/** The file's text with the region replaced; throws when its markers are missing. */
function withRegion(text: string, region: Region): string {
  const { begin, end } = markers(region.file, region.name);
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === begin);
  const stop = lines.findIndex((line, i) => i > start && line.trim() === end);
  if (start < 0 || stop < 0) throw new Error(region.file + ': no region "' + region.name + '" (lines "' + begin + '" ... "' + end + '")');
  return [...lines.slice(0, start + 1), ...region.lines, ...lines.slice(stop)].join('\n');
}

/** Each file as the table says it should be. */
export function generatedFiles(): { [file: string]: string } {
  const out: { [file: string]: string } = {};
  for (const region of regions()) {
    const current = out[region.file] ?? readFileSync(path.join(ROOT, region.file), 'utf8');
    out[region.file] = withRegion(current, region);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  // The JSON Schemas of the config files too (build/schemas.ts).
  const files = { ...generatedFiles(), ...schemaFiles() };
  for (const file of Object.keys(files)) {
    if (existsSync(path.join(ROOT, file)) && readFileSync(path.join(ROOT, file), 'utf8') === files[file]) continue;
    mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
    writeFileSync(path.join(ROOT, file), files[file]);
    console.log('wrote ' + file);
  }
}
