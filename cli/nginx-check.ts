/**
 * `jwt-gateway check nginx.conf`: the mistakes in nginx configuration that
 * nginx itself accepts but that open the door (the gateway's settings are
 * plain variables, so nginx takes any name and any place):
 *   - an unknown `$auth_jwt_*` name, set or referenced (a typo such as
 *     `$auth_jwt_audiance` silently drops the audience check), with the
 *     closest known name;
 *   - a location that sets gateway settings, inherits them from its server,
 *     or sits inside a location that does, but includes none of the auth
 *     snippets: protected-looking but unprotected (nginx does not apply an
 *     outer location's `set`, `if` and `return` to nested locations);
 *   - `$auth_jwt_hide_credentials on` where `proxy_pass` carries
 *     `$request_uri`, which is the original URI with its query, token included;
 *   - and, as a warning, a location in `$auth_jwt_mode report`, which lets
 *     every request through.
 * Each problem names the file, the line, the entry and the field.
 */
import path from 'node:path';
import { SETTINGS, SETTING_PREFIX } from '../build/settings-table';
import { Directive, effective, loadConfig } from './nginx-config';
import { configProblem, describeProblem, Problem } from '../njs/core/errors';

/** The location-level snippets that make the gateway verify a request. */
export const AUTH_SNIPPETS = ['jwt-auth.conf', 'jwt-auth-error-page.conf', 'jwt-auth-request.conf'];

const KNOWN = SETTINGS.map((setting) => setting.name);
const PREFIX = SETTING_PREFIX.slice(1).toLowerCase();
/** `$auth_jwt_name` or `${auth_jwt_name}` (nginx variable names are case-insensitive). */
const REFERENCE = /\$\{?(auth_jwt_[A-Za-z0-9_]*)/gi;

function where(directive: Directive): string {
  return directive.file + ':' + directive.line;
}

/** "line 12" in the same file, "other.conf:12" elsewhere. */
function at(directive: Directive, from: Directive): string {
  return directive.file === from.file ? 'line ' + directive.line : where(directive);
}

/** Optimal string alignment distance (a swap of two neighbours counts as one edit). */
function distance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known setting closest to `name` (after `auth_jwt_`), when it is close enough to be what was meant. */
export function closestSetting(name: string): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const known of KNOWN) {
    const d = distance(name, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  const close = bestDistance <= Math.max(2, Math.floor(name.length / 3)) || (best !== null && (best.startsWith(name) || name.startsWith(best)));
  return close ? best : null;
}

/** Every directive of a tree, includes read and blocks entered. */
function* walk(directives: Directive[]): Generator<Directive> {
  for (const directive of directives) {
    yield directive;
    if (directive.included) yield* walk(directive.included);
    if (directive.block) yield* walk(directive.block);
  }
}

function unknownNames(directives: Directive[], problems: Problem[]): void {
  for (const directive of walk(directives)) {
    for (const arg of directive.args) {
      for (const match of arg.matchAll(REFERENCE)) {
        const name = match[1].toLowerCase().slice(PREFIX.length);
        if (KNOWN.includes(name)) continue;
        const suggestion = closestSetting(name);
        const hint = suggestion ? 'did you mean $' + PREFIX + suggestion + '?' : 'the known ones are $' + PREFIX + KNOWN.join(', $' + PREFIX);
        problems.push(
          configProblem(
            where(directive),
            directive.name,
            '$' + match[1],
            'unknown gateway setting; ' + hint + ' (nginx accepts any variable name, so the gateway never sees this one and its default applies)',
          ),
        );
      }
    }
  }
}

function isSetting(directive: Directive): boolean {
  return directive.name === 'set' && directive.args.length > 0 && directive.args[0].toLowerCase().startsWith('$' + PREFIX);
}

/** `set $auth_jwt_*` directives of a block, also inside its `if` blocks, in order. */
function settingsOf(directives: Directive[]): Directive[] {
  const found: Directive[] = [];
  for (const directive of directives) {
    if (isSetting(directive)) found.push(directive);
    else if (directive.name === 'if' && directive.block) found.push(...settingsOf(effective(directive.block)));
  }
  return found;
}

/** The value the last `set` of this setting gives in the block, or null. */
function settingValue(sets: Directive[], name: string): Directive | null {
  let last: Directive | null = null;
  for (const set of sets) if (set.args[0].toLowerCase() === '$' + PREFIX + name) last = set;
  return last;
}

/** Basenames of the files a block includes (through includes of includes), by the include's own argument. */
function includedNames(directives: Directive[]): string[] {
  const names: string[] = [];
  for (const directive of directives) {
    if (directive.name !== 'include') continue;
    if (directive.args[0]) names.push(path.basename(directive.args[0]));
    if (directive.included) names.push(...includedNames(directive.included));
  }
  return names;
}

/** Whether the block checks $jwt_auth_status itself (what jwt-auth.conf and jwt-auth-error-page.conf do). */
function checksStatus(directives: Directive[]): boolean {
  return directives.some((directive) => directive.name === 'if' && directive.args.some((arg) => /\$\{?jwt_auth_status\b/i.test(arg)));
}

/** auth_request as the block sets it: true (a URI), false (off), or undefined (not set here: inherited). */
function authRequestOf(directives: Directive[]): boolean | undefined {
  let value: boolean | undefined;
  for (const directive of directives) if (directive.name === 'auth_request') value = directive.args[0] !== 'off';
  return value;
}

interface Scope {
  /** The server's `set $auth_jwt_*` directives. */
  serverSettings: Directive[];
  /** The server checks $jwt_auth_status in its own rewrite phase (every location then is checked). */
  serverChecks: boolean;
  /** auth_request inherited from http, server or enclosing locations. */
  authRequest: boolean;
  /** The enclosing location, when it looks protected (sets settings or includes a snippet). */
  outer: Directive | null;
  /** Names the gateway's module is imported as (js_import jwt from .../jwt-gateway.js). */
  imports: string[];
}

function describeLocation(location: Directive): string {
  return 'location ' + location.args.join(' ');
}

function checkLocation(location: Directive, scope: Scope, problems: Problem[]): void {
  const body = effective(location.block ?? []);
  const own = settingsOf(body);
  const snippets = includedNames(location.block ?? []).filter((name) => AUTH_SNIPPETS.includes(name));
  const authRequest = authRequestOf(body) ?? scope.authRequest;
  const isProtected = snippets.length > 0 || checksStatus(body) || authRequest || scope.serverChecks;
  const named = (location.args[0] ?? '').startsWith('@');
  const internal = body.some((directive) => directive.name === 'internal');
  const gatewayHandler = body.some(
    (directive) =>
      directive.name === 'js_content' && scope.imports.some((name) => directive.args[0] === name + '.authorize' || directive.args[0] === name + '.revoke'),
  );
  const answersItself = body.some((directive) => directive.name === 'return');
  const file = where(location);
  const entry = describeLocation(location);
  const none = 'includes none of ' + AUTH_SNIPPETS.join(', ') + ': its requests reach the content unverified (protected-looking but unprotected)';

  if (!isProtected && !named && !internal && !gatewayHandler) {
    if (own.length) {
      const set = own[0];
      problems.push(configProblem(file, entry, set.args[0], 'set at ' + at(set, location) + ', but the location ' + none));
    } else if (scope.serverSettings.length && !answersItself) {
      const set = scope.serverSettings[0];
      problems.push(configProblem(file, entry, set.args[0], 'inherited from the server (' + at(set, location) + '), but the location ' + none));
    } else if (scope.outer && !answersItself) {
      problems.push(
        configProblem(
          file,
          entry,
          'include',
          'nested in ' +
            describeLocation(scope.outer) +
            ' (' +
            at(scope.outer, location) +
            '), but nginx applies neither its settings nor its auth snippet to nested locations, and this one ' +
            none,
        ),
      );
    }
  }

  const hide = settingValue(own, 'hide_credentials') ?? settingValue(scope.serverSettings, 'hide_credentials');
  if (hide && hide.args[1] === 'on') {
    const passes: Directive[] = [];
    for (const directive of body) {
      if (directive.name === 'proxy_pass') passes.push(directive);
      else if (directive.name === 'if' && directive.block) passes.push(...effective(directive.block).filter((inner) => inner.name === 'proxy_pass'));
    }
    for (const pass of passes) {
      if (!pass.args.some((arg) => /\$\{?request_uri\b/i.test(arg))) continue;
      problems.push(
        configProblem(
          where(pass),
          entry,
          'proxy_pass',
          'carries $request_uri, the original URI with its query string, token included, while $auth_jwt_hide_credentials is on (' +
            at(hide, pass) +
            '): the upstream still gets the token; use proxy_pass without a URI part, or $uri$is_args$args',
        ),
      );
    }
  }

  const mode = settingValue(own, 'mode') ?? settingValue(scope.serverSettings, 'mode');
  if (mode && mode.args[1] === 'report' && isProtected) {
    const warning = configProblem(
      file,
      entry,
      mode.args[0],
      'report (' +
        at(mode, location) +
        '): requests it would deny reach the upstream, without an identity; set enforce once the log and the counters say the policy is right',
    );
    warning.severity = 'warning';
    problems.push(warning);
  }

  const looksProtected = own.length > 0 || snippets.length > 0 || checksStatus(body);
  for (const nested of body.filter((directive) => directive.name === 'location' && directive.block)) {
    checkLocation(nested, { ...scope, authRequest, outer: looksProtected ? location : scope.outer }, problems);
  }
}

function checkServer(server: Directive[], inheritedAuthRequest: boolean, imports: string[], problems: Problem[]): void {
  const body = effective(server);
  const scope: Scope = {
    serverSettings: settingsOf(body),
    serverChecks: checksStatus(body),
    authRequest: authRequestOf(body) ?? inheritedAuthRequest,
    outer: null,
    imports,
  };
  for (const location of body.filter((directive) => directive.name === 'location' && directive.block)) checkLocation(location, scope, problems);
}

/** Names the gateway module is imported as; `jwt` (what the snippets expect) when no js_import names jwt-gateway.js. */
function gatewayImports(directives: Directive[]): string[] {
  const names: string[] = [];
  for (const directive of walk(directives)) {
    if (directive.name !== 'js_import' || directive.args.length === 0) continue;
    const file = directive.args.length >= 3 && directive.args[1] === 'from' ? directive.args[2] : directive.args[0];
    const name = directive.args.length >= 3 && directive.args[1] === 'from' ? directive.args[0] : path.basename(file).replace(/\.m?js$/, '');
    if (path.basename(file).startsWith('jwt-gateway')) names.push(name);
  }
  return names.length ? names : ['jwt'];
}

/**
 * Problems in an nginx configuration file and everything it includes.
 * The file may be a whole nginx.conf, or a piece included at http level
 * (server blocks) or at server level (location blocks); in a piece of
 * location level only the names are checked.
 */
export function checkNginxConfig(file: string, confDir: string): Problem[] {
  const loaded = loadConfig(file, confDir);
  const problems = loaded.problems.map((problem) =>
    configProblem(problem.file + (problem.line ? ':' + problem.line : ''), undefined, undefined, problem.message),
  );
  const top = effective(loaded.directives);
  unknownNames(loaded.directives, problems);
  const imports = gatewayImports(loaded.directives);
  const https = top.filter((directive) => directive.name === 'http' && directive.block);
  if (https.length) {
    for (const http of https) {
      const body = effective(http.block!);
      const authRequest = authRequestOf(body) ?? false;
      for (const server of body.filter((directive) => directive.name === 'server' && directive.block))
        checkServer(server.block!, authRequest, imports, problems);
    }
  } else if (top.some((directive) => directive.name === 'server' && directive.block)) {
    for (const server of top.filter((directive) => directive.name === 'server' && directive.block)) checkServer(server.block!, false, imports, problems);
  } else if (top.some((directive) => directive.name === 'location' && directive.block)) {
    checkServer(loaded.directives, false, imports, problems);
  }
  const texts = problems.map(describeProblem);
  return problems.filter((_problem, i) => texts.indexOf(texts[i]) === i);
}
