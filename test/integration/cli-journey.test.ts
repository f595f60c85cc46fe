/**
 * The seed documents' journey (create a consumer, give it a credential, make
 * a token, call the API), from the command line against a running gateway
 * that preloads the consumer map: `keygen`, `consumer add`, `sign`, a 200
 * with the consumer's headers upstream; `consumer rotate --reload`: the new
 * token passes, the old one is refused; `consumer remove --reload`: refused.
 * Once for an ES256 consumer (reloaded with `nginx -s reload`), once for an
 * HS256 one with a generated secret (reloaded by a SIGHUP to the pid file).
 * Then edits that must leave the file as it was: one killed between its write
 * and its rename, one that `check` refuses.
 */
import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { gatewayConfig, gatewayPerFile, until } from '../support/gateway';
import { engine } from '../support/nginx';
import { CLI, cliTestFiles, ROOT, runCli } from '../support/cli';

const dir = cliTestFiles('cli-journey-test');
const map = () => path.join(dir(), 'consumers.json');

/** A command that must succeed: its stdout. */
function cli(...args: string[]): string {
  const run = runCli(...args);
  if (run.status !== 0) throw new Error('jwt-gateway ' + args.join(' ') + ' exited ' + run.status + ': ' + run.stderr);
  return run.stdout;
}

/** The engine's nginx as one executable, for --nginx (a fetched engine runs through its loader). */
function nginxWrapper(): string {
  const file = path.join(dir(), 'nginx');
  writeFileSync(
    file,
    '#!/bin/sh\nexec ' +
      engine()
        .nginx.map((part) => "'" + part + "'")
        .join(' ') +
      ' "$@"\n',
  );
  chmodSync(file, 0o755);
  return file;
}

const { it, g } = gatewayPerFile(() => {
  // The map exists before nginx starts, which preloads it: jack (ES256) and a consumer that stays, so a removal never empties the map.
  // QuickJS has no preload: its workers (nobody, under a root master) read the file, so they must reach the 0700 scratch directory.
  chmodSync(dir(), 0o755);
  cli('keygen', '--alg', 'ES256', '--kid', 'jack-1', '--out', path.join(dir(), 'keys'));
  cli('consumer', 'add', map(), '--username', 'jack', '--public-key', path.join(dir(), 'keys', 'jack-1.public.pem'), '--custom-id', 'jack-custom');
  cli('consumer', 'add', map(), '--username', 'keeper');
  return {
    config: gatewayConfig({
      http: 'js_preload_object consumers from ' + map() + ';',
      server: [
        'set $auth_jwt_consumers consumers;',
        'location /api/ {',
        '    include ${ROOT}/nginx/jwt-auth.conf;',
        '    include ${ROOT}/nginx/jwt-proxy-headers.conf;',
        '    proxy_pass http://echo_upstream;',
        '}',
      ],
    }),
    ports: ['PORT', 'ECHO_PORT'],
  };
}, 60000);

/** What --reload needs to reach the test's nginx: `-p`, `-c`, and the binary. */
const reloadArgs = () => ['--reload', '--nginx', nginxWrapper(), '--nginx-prefix', g().nginx.prefix, '--nginx-conf', path.join(g().nginx.prefix, 'nginx.conf')];
const call = (token: string) => g().get('/api/journey', { Authorization: 'Bearer ' + token });
const sign = (...args: string[]) => cli('sign', '--consumers', map(), ...args).trim();

async function expectIdentity(token: string, headers: { [name: string]: string }): Promise<void> {
  const reply = await until(
    () => call(token),
    (answer) => answer.status === 200,
  );
  expect(reply.status).toBe(200);
  const seen = reply.json().headers as { [name: string]: string };
  for (const name of Object.keys(headers)) expect([name, seen[name]]).toEqual([name, headers[name]]);
}

/** Refused once the reload is done (a reload starts new workers while the old ones finish). */
async function expectRefusedSoon(token: string, code: string): Promise<void> {
  const reply = await until(
    () => call(token),
    (answer) => answer.status === 401,
  );
  expect(reply.status).toBe(401);
  await g().logLine('error.log', new RegExp('rejected 401 ' + code));
}

it('ES256: keygen, consumer add, sign: 200 with the consumer upstream; rotate --reload: new passes, old 401; remove --reload: 401', async () => {
  const first = sign('--consumer', 'jack', '--key', path.join(dir(), 'keys', 'jack-1.private.pem'));
  await expectIdentity(first, { 'X-Consumer-Username': 'jack', 'X-Credential-Identifier': 'jack', 'X-Consumer-Custom-Id': 'jack-custom' });

  cli('keygen', '--alg', 'ES256', '--kid', 'jack-2', '--out', path.join(dir(), 'keys'));
  const rotated = cli('consumer', 'rotate', map(), '--username', 'jack', '--public-key', path.join(dir(), 'keys', 'jack-2.public.pem'), ...reloadArgs());
  expect(rotated).toMatch(/consumer "jack" credential rotated \(ES256\).*\nnginx reloaded\n$/);
  const second = sign('--consumer', 'jack', '--key', path.join(dir(), 'keys', 'jack-2.private.pem'));
  await expectRefusedSoon(first, 'SIGNATURE_INVALID');
  await expectIdentity(second, { 'X-Consumer-Username': 'jack', 'X-Credential-Identifier': 'jack' });

  expect(cli('consumer', 'remove', map(), '--username', 'jack', ...reloadArgs())).toMatch(/consumer "jack" removed.*\nnginx reloaded\n$/);
  await expectRefusedSoon(second, 'CREDENTIAL_UNKNOWN');
});

it('HS256 with a generated secret: add, sign: 200; rotate --reload (SIGHUP to the pid file): new passes, old 401; remove: 401', async () => {
  const pidArgs = ['--reload', '--nginx', nginxWrapper(), '--nginx-prefix', g().nginx.prefix, '--nginx-conf', path.join(g().nginx.prefix, 'nginx.conf')];
  pidArgs.push('--pid', path.join(g().nginx.prefix, 'logs', 'nginx.pid'));
  expect(cli('consumer', 'add', map(), '--username', 'rose', '--key', 'rose-key', ...pidArgs)).toMatch(/a new secret kept in the map/);
  // The secret is never printed: only the map holds it.
  const secret = (JSON.parse(readFileSync(map(), 'utf8')).consumers as { username: string; credentials: { secret: string }[] }[]).find(
    (c) => c.username === 'rose',
  )!.credentials[0].secret;
  expect(secret.length).toBeGreaterThanOrEqual(43);
  const first = sign('--consumer', 'rose');
  await expectIdentity(first, { 'X-Consumer-Username': 'rose', 'X-Credential-Identifier': 'rose-key' });

  expect(cli('consumer', 'rotate', map(), '--username', 'rose', ...pidArgs)).not.toContain(secret);
  const second = sign('--consumer', 'rose');
  await expectRefusedSoon(first, 'SIGNATURE_INVALID');
  await expectIdentity(second, { 'X-Consumer-Username': 'rose' });

  cli('consumer', 'remove', map(), '--username', 'rose', ...pidArgs);
  await expectRefusedSoon(second, 'CREDENTIAL_UNKNOWN');
});

describe('an edit that does not complete leaves the file as it was', () => {
  /** The CLI, killed as it renames onto `target`. */
  const killedAt = (target: string, ...args: string[]) =>
    spawnSync(process.execPath, ['--import', path.join(ROOT, 'test', 'support', 'kill-at-rename.mjs'), CLI, ...args], {
      encoding: 'utf8',
      env: { ...process.env, KILL_AT_RENAME_TO: target },
    });

  it('killed between the write and the rename (of the file, or of its backup): the file, its mode and the gateway answers unchanged', async () => {
    cli('consumer', 'add', map(), '--username', 'kept', ...reloadArgs());
    chmodSync(map(), 0o664);
    const token = sign('--consumer', 'kept');
    await expectIdentity(token, { 'X-Consumer-Username': 'kept' });
    for (const target of [map(), map() + '.bak']) {
      const before = readFileSync(map());
      const killed = killedAt(target, 'consumer', 'rotate', map(), '--username', 'kept', ...reloadArgs());
      expect({ signal: killed.signal, stdout: killed.stdout }).toEqual({ signal: 'SIGKILL', stdout: '' });
      expect(readFileSync(map()).equals(before)).toBe(true);
      expect(statSync(map()).mode & 0o777).toBe(0o664);
      expect((await call(token)).status).toBe(200);
    }
    // The next edit goes through, over what the killed one left behind.
    cli('consumer', 'rotate', map(), '--username', 'kept', ...reloadArgs());
    expect(statSync(map()).mode & 0o777).toBe(0o664);
    await expectRefusedSoon(token, 'SIGNATURE_INVALID');
  });

  it("a change check refuses (a secret shorter than its hash) is refused with check's message, exit 1, the file untouched", async () => {
    const short = path.join(dir(), 'short.secret');
    writeFileSync(short, 'too-short\n');
    const before = readFileSync(map());
    const modified = statSync(map()).mtimeMs;
    const refused = runCli('consumer', 'rotate', map(), '--username', 'keeper', '--secret-file', short);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /consumers\[[0-9]+\] \("keeper"\)\.credentials\[0\] \("keeper"\): field "secret": HMAC key has 9 bytes; HS256 needs at least 32/,
    );
    expect(refused.stderr).toMatch(/refused: the file is unchanged/);
    expect(readFileSync(map()).equals(before)).toBe(true);
    expect(statSync(map()).mtimeMs).toBe(modified);
  });
});
