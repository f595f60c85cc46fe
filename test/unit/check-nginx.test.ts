/**
 * `jwt-gateway check nginx.conf` (cli/nginx-check.ts), run from the
 * built CLI as a user runs it: the mistakes nginx accepts but that open the
 * door are reported with file, line, entry and field, exit status 1; the
 * README's recipes, the demo and the shipped snippets pass with exit 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SETTINGS } from '../../build/settings-table';
import { CLI as cli, cliTestFiles, ROOT } from '../support/cli';
import { composeConfig, readmeRecipes } from '../support/readme-recipes';

const SNIPPETS = path.join(ROOT, 'nginx');
const scratch = cliTestFiles('check-nginx-test');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The problem lines, without the closing count. */
  problems: string[];
}

function run(args: string[]): Run {
  const result = spawnSync(process.execPath, [cli, 'check', ...args], { encoding: 'utf8' });
  const problems = result.stderr.split('\n').filter((line) => line !== '' && !/^\d+ problem\(s\) found$/.test(line));
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, problems };
}

/** Writes `name` (relative to the test folder) and returns its path. */
function write(name: string, text: string): string {
  const file = path.join(scratch(), name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** An nginx.conf around server-level text, with the repository's snippets, as a user writes it. */
function conf(name: string, server: string, http = ''): string {
  return write(
    name,
    [
      'load_module modules/ngx_http_js_module.so;',
      'events {}',
      'http {',
      '    js_import jwt from /etc/nginx/jwt/jwt-gateway.js;',
      '    include ' + SNIPPETS + '/jwt-variables.conf;',
      http,
      '    server {',
      '        listen 80;',
      server,
      '    }',
      '}',
      '',
    ].join('\n'),
  );
}

const AUTH = 'include ' + SNIPPETS + '/jwt-auth.conf;';
/** The line of the first line of `text` containing `needle`, 1-based. */
const lineOf = (file: string, needle: string, from = 0) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((line, i) => i >= from && line.includes(needle)) + 1;

describe('unknown $auth_jwt_* names', () => {
  test('a misspelt setting (the audience check it was meant to turn on) is named with file, line, field and the known name', () => {
    const file = conf(
      'typo.conf',
      `
        location /api/ {
            set $auth_jwt_consumers consumers;
            set $auth_jwt_audiance orders-api;
            ${AUTH}
            proxy_pass http://backend;
        }`,
    );
    const result = run([file]);
    expect(result.status).toBe(1);
    expect(result.problems).toEqual([
      file +
        ':' +
        lineOf(file, 'audiance') +
        ': set: field "$auth_jwt_audiance": unknown gateway setting; did you mean $auth_jwt_audience? (nginx accepts any variable name, so the gateway never sees this one and its default applies)',
    ]);
    expect(result.stderr).toMatch(/\n1 problem\(s\) found\n$/);
    expect(result.stdout).toBe('');
  });

  test('references count too, in quotes and ${} braces; names are case-insensitive as in nginx', () => {
    const file = conf(
      'refs.conf',
      `
        location /api/ {
            set $auth_jwt_consumers consumers;
            set $AUTH_JWT_REALM orders;
            ${AUTH}
            proxy_set_header X-Realm "realm=\${auth_jwt_relm}";
            add_header X-Claims $auth_jwt_claim_rule;
            proxy_pass http://backend;
        }`,
    );
    const result = run([file]);
    expect(result.problems).toEqual([
      expect.stringMatching(
        new RegExp(
          '^' + file + ':' + lineOf(file, 'relm') + ': proxy_set_header: field "\\$auth_jwt_relm": unknown gateway setting; did you mean \\$auth_jwt_realm\\?',
        ),
      ),
      expect.stringMatching(/: add_header: field "\$auth_jwt_claim_rule": unknown gateway setting; did you mean \$auth_jwt_claim_rules\?/),
    ]);
  });

  test('a name close to none lists the known ones, which are the settings table', () => {
    const file = conf(
      'far.conf',
      `
        location /api/ {
            set $auth_jwt_consumers consumers;
            set $auth_jwt_xyzzy_plugh_frobnicate 1;
            ${AUTH}
        }`,
    );
    const [problem] = run([file]).problems;
    expect(problem).toMatch(/field "\$auth_jwt_xyzzy_plugh_frobnicate": unknown gateway setting; the known ones are \$auth_jwt_consumers, /);
    for (const setting of SETTINGS) expect(problem).toContain('$auth_jwt_' + setting.name);
  });

  test('every known setting passes, set and referenced', () => {
    const sets = SETTINGS.map((setting) => 'set $auth_jwt_' + setting.name + ' "$auth_jwt_' + setting.name + '";').join('\n');
    const file = conf('known.conf', `location /api/ {\n${sets}\n${AUTH}\n}`);
    expect(run([file])).toMatchObject({ status: 0, problems: [], stdout: file + ': ok\n' });
  });
});

describe('protected-looking but unprotected locations', () => {
  test('a location that sets a setting but includes no auth snippet', () => {
    const file = conf(
      'unprotected.conf',
      `
        location /admin/ {
            set $auth_jwt_consumers consumers;
            proxy_pass http://backend;
        }`,
    );
    const result = run([file]);
    expect(result.status).toBe(1);
    expect(result.problems).toEqual([
      file +
        ':' +
        lineOf(file, 'location /admin/') +
        ': location /admin/: field "$auth_jwt_consumers": set at line ' +
        lineOf(file, 'set $auth_jwt_consumers') +
        ', but the location includes none of jwt-auth.conf, jwt-auth-error-page.conf, jwt-auth-request.conf: its requests reach the content unverified (protected-looking but unprotected)',
    ]);
  });

  test('settings inherited from the server: a location without a snippet is reported, one that only answers itself is not', () => {
    const file = conf(
      'inherited.conf',
      `
        set $auth_jwt_consumers consumers;
        location /api/ {
            ${AUTH}
            proxy_pass http://backend;
        }
        location /forgotten/ {
            proxy_pass http://backend;
        }
        location / {
            return 404 "nothing here";
        }`,
    );
    const result = run([file]);
    expect(result.problems).toEqual([
      file +
        ':' +
        lineOf(file, 'location /forgotten/') +
        ': location /forgotten/: field "$auth_jwt_consumers": inherited from the server (line ' +
        lineOf(file, 'set $auth_jwt_consumers') +
        '), but the location includes none of jwt-auth.conf, jwt-auth-error-page.conf, jwt-auth-request.conf: its requests reach the content unverified (protected-looking but unprotected)',
    ]);
  });

  test('a location nested in a protected one: nginx applies neither the settings nor the snippet there', () => {
    const file = conf(
      'nested.conf',
      `
        location /api/ {
            set $auth_jwt_consumers consumers;
            ${AUTH}
            proxy_pass http://backend;
            location /api/admin/ {
                proxy_pass http://admin;
            }
            location /api/health {
                return 200 ok;
            }
        }`,
    );
    const result = run([file]);
    expect(result.problems).toEqual([
      file +
        ':' +
        lineOf(file, 'location /api/admin/') +
        ': location /api/admin/: field "include": nested in location /api/ (line ' +
        lineOf(file, 'location /api/ {') +
        '), but nginx applies neither its settings nor its auth snippet to nested locations, and this one includes none of jwt-auth.conf, jwt-auth-error-page.conf, jwt-auth-request.conf: its requests reach the content unverified (protected-looking but unprotected)',
    ]);
  });

  test('what does protect: each snippet, a copy that checks $jwt_auth_status, auth_request (inherited too), a server-level check', () => {
    write('my-auth.conf', 'if ($jwt_auth_status != 200) { return 401; }\n');
    const file = conf(
      'protected.conf',
      `
        set $auth_jwt_consumers consumers;
        include ${SNIPPETS}/jwt-auth-request-locations.conf;
        location /a/ { ${AUTH} proxy_pass http://backend; }
        location /b/ { set $auth_jwt_realm b; include ${SNIPPETS}/jwt-auth-error-page.conf; proxy_pass http://backend; }
        location /c/ { include ${SNIPPETS}/jwt-auth-request.conf; proxy_pass http://backend; location /c/nested/ { proxy_pass http://backend; } }
        location /d/ { set $auth_jwt_realm d; include my-auth.conf; proxy_pass http://backend; }
        location /e/ { set $auth_jwt_realm e; if ($jwt_auth_status != 200) { return 401; } proxy_pass http://backend; }
        location = /admin/revoke { set $auth_jwt_revocation_zone jwt_revoked; js_content jwt.revoke; }
        location @fallback { proxy_pass http://backend; }
        location = /internal/ { internal; proxy_pass http://backend; }`,
    );
    expect(run([file])).toMatchObject({ status: 0, problems: [] });
    const server = conf(
      'server-auth-request.conf',
      `
        set $auth_jwt_consumers consumers;
        include ${SNIPPETS}/jwt-auth-request-locations.conf;
        auth_request /_jwt_auth;
        location /x/ { proxy_pass http://backend; }
        location /public/ { auth_request off; proxy_pass http://backend; }`,
    );
    expect(run([server]).problems).toEqual([expect.stringMatching(/: location \/public\/: field "\$auth_jwt_consumers": inherited from the server/)]);
  });
});

describe('$auth_jwt_mode report', () => {
  test('a warning on the protected location, exit 0 and "ok": every request it would deny still reaches the upstream', () => {
    const file = conf(
      'report.conf',
      `
        location /watched/ {
            set $auth_jwt_consumers consumers;
            set $auth_jwt_mode report;
            ${AUTH}
            proxy_pass http://backend;
        }
        location /enforced/ {
            set $auth_jwt_consumers consumers;
            set $auth_jwt_mode enforce;
            ${AUTH}
            proxy_pass http://backend;
        }`,
    );
    const result = run([file]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(file + ': ok\n');
    expect(result.problems).toEqual([
      'warning: ' +
        file +
        ':' +
        lineOf(file, 'location /watched/') +
        ': location /watched/: field "$auth_jwt_mode": report (line ' +
        lineOf(file, 'mode report') +
        '): requests it would deny reach the upstream, without an identity; set enforce once the log and the counters say the policy is right',
    ]);
  });
});

describe('$auth_jwt_hide_credentials on with $request_uri in proxy_pass', () => {
  test('the original query, token included, still goes upstream: reported on the proxy_pass line', () => {
    const file = conf(
      'hide.conf',
      `
        location /hidden/ {
            set $auth_jwt_consumers consumers;
            set $auth_jwt_hide_credentials on;
            ${AUTH}
            include ${SNIPPETS}/jwt-proxy-headers.conf;
            proxy_pass http://backend$request_uri;
        }
        location /fine/ {
            set $auth_jwt_consumers consumers;
            set $auth_jwt_hide_credentials on;
            ${AUTH}
            proxy_pass http://backend$uri$is_args$args;
        }
        location /shown/ {
            set $auth_jwt_consumers consumers;
            ${AUTH}
            proxy_pass http://backend$request_uri;
        }`,
    );
    const result = run([file]);
    expect(result.problems).toEqual([
      file +
        ':' +
        lineOf(file, '$request_uri') +
        ': location /hidden/: field "proxy_pass": carries $request_uri, the original URI with its query string, token included, while $auth_jwt_hide_credentials is on (line ' +
        lineOf(file, 'hide_credentials on') +
        '): the upstream still gets the token; use proxy_pass without a URI part, or $uri$is_args$args',
    ]);
  });

  test('set at server level, and a proxy_pass inside an if', () => {
    const file = conf(
      'hide-server.conf',
      `
        set $auth_jwt_consumers consumers;
        set $auth_jwt_hide_credentials on;
        location /a/ {
            ${AUTH}
            if ($arg_v) { proxy_pass http://v2$request_uri; }
            proxy_pass http://backend;
        }`,
    );
    expect(run([file]).problems).toEqual([
      expect.stringMatching(
        new RegExp(
          '^' +
            file +
            ':' +
            lineOf(file, 'http://v2') +
            ': location /a/: field "proxy_pass": carries \\$request_uri.*is on \\(line ' +
            lineOf(file, 'hide_credentials on') +
            '\\)',
        ),
      ),
    ]);
  });
});

describe('includes, pieces of config and --conf-dir', () => {
  test('a typo in a file read through a glob include is named in that file, at its line', () => {
    write('conf-dir/conf.d/00-ok.conf', 'server { listen 81; }\n');
    const site = write(
      'conf-dir/conf.d/10-api.conf',
      'server {\n    listen 82;\n    location /api/ {\n        set $auth_jwt_consumers c;\n        set $auth_jwt_issuer x;\n        include ' +
        SNIPPETS +
        '/jwt-auth.conf;\n    }\n}\n',
    );
    const main = write('conf-dir/nginx.conf', 'events {}\nhttp {\n    include conf.d/*.conf;\n}\n');
    expect(run([main]).problems).toEqual([
      expect.stringMatching(new RegExp('^' + site + ':5: set: field "\\$auth_jwt_issuer": unknown gateway setting; did you mean \\$auth_jwt_issuers\\?')),
    ]);
  });

  test('a piece (a site file) resolves relative includes against --conf-dir, as nginx does against its configuration directory', () => {
    write('etc/snippets/auth.conf', 'include ' + SNIPPETS + '/jwt-auth.conf;\n');
    const site = write(
      'etc/sites-enabled/api',
      'server {\n    location /api/ {\n        set $auth_jwt_consumers c;\n        include snippets/auth.conf;\n    }\n}\n',
    );
    expect(run(['--conf-dir', path.join(scratch(), 'etc'), site])).toMatchObject({ status: 0, problems: [], stdout: site + ': ok\n' });
    // without it, the include is looked up next to the file, where it is not (nginx -t would fail the same way), and the location looks unprotected
    expect(run([site]).problems).toEqual([
      expect.stringMatching(new RegExp('^' + site + ':4: include snippets/auth\\.conf: .*cannot be read \\(ENOENT\\); nginx -t fails too$')),
      expect.stringMatching(new RegExp('^' + site + ':2: location /api/: field "\\$auth_jwt_consumers": set at line 3, but the location includes none of')),
    ]);
  });

  test('a piece of location level is checked for names only', () => {
    const piece = write('location-piece.conf', 'set $auth_jwt_consumers c;\nset $auth_jwt_leway 30;\n');
    expect(run([piece]).problems).toEqual([
      expect.stringMatching(/location-piece\.conf:2: set: field "\$auth_jwt_leway": unknown gateway setting; did you mean \$auth_jwt_leeway\?/),
    ]);
  });

  test('a syntax error is reported with its line, like nginx -t', () => {
    const broken = write('broken.conf', 'http {\n    server {\n        listen 80;\n');
    expect(run([broken])).toMatchObject({
      status: 1,
      problems: [broken + ':4: unexpected end of file, expecting "}" (the block of "server" at line 2 is not closed)'],
    });
  });

  test('JSON and nginx files together: each is reported, the exit status covers them all; usage errors exit 2', () => {
    const good = write('mixed/keys.json', JSON.stringify({ keys: [{ kty: 'oct', kid: 'k', alg: 'HS256', k: Buffer.alloc(32, 7).toString('base64url') }] }));
    const bad = conf('mixed/nginx.conf', 'location /a/ { set $auth_jwt_consumers c; }');
    const result = run([good, bad]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe(good + ': ok\n');
    expect(result.problems).toHaveLength(1);
    expect(spawnSync(process.execPath, [cli, 'check', '--conf-dir'], { encoding: 'utf8' })).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/usage: jwt-gateway check \[--njs VERSION\] \[--conf-dir DIR\] FILE/),
    });
  });
});

describe('no false alarms', () => {
  const values = (prefix: string): { [name: string]: string } => ({
    PREFIX: prefix,
    ROOT,
    BUNDLE: path.join(ROOT, 'build', 'dist', 'jwt-gateway.js'),
    NJS_MODULE: '/usr/lib/nginx/modules/ngx_http_js_module.so',
    PORT: '8080',
    ECHO_PORT: '8081',
  });
  const render = (template: string, prefix: string) => template.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => values(prefix)[name]);

  test("every recipe of the README together, in the tests' frame, passes", () => {
    const prefix = path.join(scratch(), 'recipes');
    write('recipes/jwt-rate-limit-zones.conf', '');
    write('recipes/jwt-rate-limits.conf', '');
    const file = write('recipes/nginx.conf', render(composeConfig(readmeRecipes()), prefix));
    expect(run([file])).toMatchObject({ status: 0, problems: [], stdout: file + ': ok\n' });
  });

  test('the demo config passes', () => {
    const prefix = path.join(scratch(), 'demo');
    write('demo/jwt-rate-limit-zones.conf', '');
    write('demo/jwt-rate-limits.conf', '');
    const file = write('demo/nginx.conf', render(readFileSync(path.join(ROOT, 'nginx', 'demo', 'nginx.conf'), 'utf8'), prefix));
    expect(run([file])).toMatchObject({ status: 0, problems: [] });
  });

  test('the cached auth_request style (README) with its verifier server passes', () => {
    const file = conf(
      'cached.conf',
      `
        set $auth_jwt_consumers consumers;
        include ${SNIPPETS}/jwt-auth-cache-locations.conf;
        location /api/ {
            include ${SNIPPETS}/jwt-auth-request.conf;
            proxy_pass http://backend;
        }
    }
    server {
        listen unix:/run/nginx-jwt/verifier.sock;
        location / {
            include ${SNIPPETS}/jwt-verifier.conf;
        }`,
    );
    expect(run([file])).toMatchObject({ status: 0, problems: [] });
  });

  test('every shipped snippet passes on its own', () => {
    const snippets = [
      'jwt-boot-id.conf',
      'jwt-auth.conf',
      'jwt-auth-error-page.conf',
      'jwt-auth-request.conf',
      'jwt-auth-request-locations.conf',
      'jwt-auth-cache-locations.conf',
      'jwt-proxy-headers.conf',
      'jwt-variables.conf',
      'jwt-verifier.conf',
    ];
    const result = run(snippets.map((name) => path.join(SNIPPETS, name)));
    expect({ status: result.status, problems: result.problems }).toEqual({ status: 0, problems: [] });
    expect(result.stdout.trim().split('\n')).toHaveLength(snippets.length);
  });
});
