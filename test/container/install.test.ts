/**
 * README "Install into your nginx", run as written against Debian's stock
 * /etc/nginx layout: a copy of this machine's /etc/nginx (nginx and
 * libnginx-mod-http-js from Debian's packages, which load the njs module
 * through modules-enabled/) in a scratch folder. The README's blocks marked
 * `<!-- install: ... -->` are its steps: the shell lines run (without sudo, and
 * without `npm ci`, which the test run has done), the nginx block becomes
 * /etc/nginx/conf.d/jwt-gateway.conf, then `nginx -t` and a real start.
 * Only what ties the copy to this machine is changed: /etc/nginx becomes the
 * scratch copy, the pid file, logs and listen ports are the test's own, and
 * "your API" on 127.0.0.1:3000 is an upstream of the test on a free port.
 * Skipped, saying why, where no Debian nginx with the js module is installed;
 * under CI (CI=true) that fails instead.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, ROOT } from '../support/nginx';

const SEED_TOKEN = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJrZXkiOiJqYWNrLWtleSIsIm5iZiI6MTcyOTEzMjI3MX0.UEPXy5jpid624T1XpfjM0PLY73LZPjV3Qt8yZ92kVuU';
const inCI = /^(1|true|yes)$/i.test(process.env.CI || '');

/** Why the test cannot run here, or '' when it can. */
function missing(): string {
  if (spawnSync('nginx', ['-v']).status !== 0) return 'nginx is not installed (apt-get install nginx-light libnginx-mod-http-js)';
  const enabled = '/etc/nginx/modules-enabled';
  if (!existsSync('/etc/nginx/nginx.conf') || !existsSync(enabled)) return 'no Debian /etc/nginx layout (nginx.conf, modules-enabled/)';
  const loadsJs = readdirSync(enabled).some((name) => /ngx_http_js_module/.test(readFileSync(path.join(enabled, name), 'utf8')));
  return loadsJs ? '' : 'Debian nginx does not load the js module through modules-enabled/ (apt-get install libnginx-mod-http-js)';
}

const reason = missing();
if (reason) console.log('install test skipped: ' + reason);

/** The README block after `<!-- install: NAME -->`. */
function installBlock(readme: string, name: string): string {
  const marker = '<!-- install: ' + name + ' -->\n';
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error('README has no block marked ' + JSON.stringify(marker.trim()));
  const block = /^```\w*\n([\s\S]*?)\n```/.exec(readme.slice(at + marker.length));
  if (!block) throw new Error('README: no code block after ' + marker.trim());
  return block[1];
}

if (!reason || !inCI) {
  (reason ? describe.skip : describe)(
    reason ? 'README install steps (skipped: ' + reason + ')' : 'README "Install into your nginx" on Debian\'s stock /etc/nginx',
    () => {
      const scratch = mkdtempSync(path.join(os.tmpdir(), 'jwt-gateway-install-'));
      const etc = path.join(scratch, 'etc', 'nginx');
      const conf = path.join(etc, 'nginx.conf');
      const errorLog = path.join(scratch, 'logs', 'error.log');
      const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
      let nginx: ChildProcess | null = null;
      let upstream: http.Server;
      let upstreamPort = 0;
      let port = 0;
      const received: http.IncomingHttpHeaders[] = [];
      /** The copy's paths for the machine's. */
      const local = (text: string) => text.split('/etc/nginx').join(etc);

      beforeAll(async () => {
        upstream = http.createServer((request, response) => {
          received.push(request.headers);
          response.end('your API\n');
        });
        await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
        upstreamPort = (upstream.address() as AddressInfo).port;
        port = await freePort();
        const sitePort = await freePort();
        mkdirSync(path.dirname(etc), { recursive: true });
        mkdirSync(path.dirname(errorLog), { recursive: true });
        cpSync('/etc/nginx', etc, { recursive: true, verbatimSymlinks: true });
        // The copy, tied to the scratch folder: its includes, pid file and logs, and the default site on a free port.
        let main = local(readFileSync(conf, 'utf8'))
          .replace(/^\s*pid\s+[^;]+;/m, 'pid ' + path.join(scratch, 'nginx.pid') + ';')
          .split('/var/log/nginx/')
          .join(path.dirname(errorLog) + '/');
        if (process.getuid?.() !== 0) main = main.replace(/^\s*user\s+[^;]+;/m, '');
        writeFileSync(conf, main);
        const sites = path.join(etc, 'sites-enabled');
        for (const name of existsSync(sites) ? readdirSync(sites) : []) {
          const file = path.join(sites, name);
          const text = readFileSync(lstatSync(file).isSymbolicLink() ? realpathSync(file) : file, 'utf8');
          unlinkSync(file);
          writeFileSync(
            file,
            local(text)
              .replace(/^\s*listen\s+\[::\][^;]*;/gm, '')
              .replace(/^(\s*listen\s+)\d+/gm, '$1127.0.0.1:' + sitePort),
          );
        }
      }, 60_000);

      afterAll(async () => {
        if (nginx && nginx.exitCode === null) {
          const exited = new Promise((resolve) => nginx!.once('exit', resolve));
          nginx.kill('SIGQUIT');
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
          clearTimeout(timer);
          if (nginx.exitCode === null) nginx.kill('SIGKILL');
        }
        await new Promise((resolve) => upstream?.close(resolve));
        rmSync(scratch, { recursive: true, force: true });
      }, 30_000);

      test('the copy is the stock layout: its nginx.conf loads modules-enabled/, which loads the js module', () => {
        expect(readFileSync(conf, 'utf8')).toContain('include ' + etc + '/modules-enabled/*.conf;');
        const check = spawnSync('nginx', ['-t', '-c', conf, '-e', errorLog], { encoding: 'utf8' });
        expect(check.stderr).toContain('test is successful');
      });

      test('the files step copies the bundle, the snippets and the consumer map', () => {
        for (const line of installBlock(readme, 'files').split('\n')) {
          // npm ci would replace node_modules under the running tests; it has been done.
          const command = local(line.replace(/^npm ci && /, '').replace(/\bsudo /g, ''));
          const result = spawnSync('bash', ['-euo', 'pipefail', '-c', command], { cwd: ROOT, encoding: 'utf8' });
          if (result.status !== 0) throw new Error(line + ': ' + result.stderr);
        }
        for (const name of ['jwt-gateway.js', 'jwt-auth.conf', 'jwt-variables.conf', 'jwt-proxy-headers.conf', 'consumers.json']) {
          expect(existsSync(path.join(etc, 'jwt', name))).toBe(true);
        }
      }, 60_000);

      test('the conf.d file passes nginx -t as written (no load_module: the package has loaded the module)', () => {
        const block = installBlock(readme, '/etc/nginx/conf.d/jwt-gateway.conf');
        expect(block).not.toMatch(/load_module/);
        expect(block).toContain('listen 8080;');
        expect(block).toContain('proxy_pass http://127.0.0.1:3000;');
        writeFileSync(
          path.join(etc, 'conf.d', 'jwt-gateway.conf'),
          local(block)
            .replace('listen 8080;', 'listen 127.0.0.1:' + port + ';')
            .replace('http://127.0.0.1:3000;', 'http://127.0.0.1:' + upstreamPort + ';'),
        );
        const step = installBlock(readme, 'check and reload').split('\n')[0];
        expect(step).toBe('sudo nginx -t && sudo systemctl reload nginx');
        const check = spawnSync('nginx', ['-t', '-c', conf, '-e', errorLog], { encoding: 'utf8' });
        expect(check.stderr).toContain('test is successful');
      });

      test('a load_module line as well makes nginx refuse the config: "already loaded"', () => {
        const doubled = path.join(etc, 'nginx-with-load-module.conf');
        writeFileSync(doubled, 'load_module modules/ngx_http_js_module.so;\n' + readFileSync(conf, 'utf8'));
        const check = spawnSync('nginx', ['-t', '-c', doubled, '-e', errorLog], { encoding: 'utf8' });
        expect(check.status).not.toBe(0);
        expect(check.stderr).toContain('module "ngx_http_js_module" is already loaded');
      });

      test('started, it protects /api/: no token is 401, the seed token reaches the API as jack', async () => {
        nginx = spawn('nginx', ['-c', conf, '-e', errorLog, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        nginx.stderr?.on('data', (chunk) => (stderr += chunk));
        let answer: Response | null = null;
        for (let i = 0; i < 100 && !answer; i++) {
          answer = await fetch('http://127.0.0.1:' + port + '/api/').catch(() => null);
          if (!answer) await new Promise((resolve) => setTimeout(resolve, 100));
          if (nginx.exitCode !== null) throw new Error('nginx exited: ' + stderr);
        }
        expect(answer?.status).toBe(401);
        expect(await answer?.text()).toBe('{"message":"Missing JWT token in request"}');
        expect(answer?.headers.get('www-authenticate')).toBe('Bearer realm="jwt"');
        const allowed = await fetch('http://127.0.0.1:' + port + '/api/orders', { headers: { Authorization: SEED_TOKEN } });
        expect(allowed.status).toBe(200);
        expect(await allowed.text()).toBe('your API\n');
        expect(received.length).toBe(1);
        expect(received[0]['x-consumer-username']).toBe('jack');
        expect(received[0]['x-credential-identifier']).toBe('cred-jack-jwt-auth');
      }, 30_000);
    },
  );
} else {
  test('README install steps: a Debian nginx with the js module is installed (required under CI)', () => {
    throw new Error('cannot run: ' + reason);
  });
}
