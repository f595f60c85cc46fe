/**
 * `jwt-gateway consumer ...` and `jwks add|remove|list` (cli/consumer.ts,
 * cli/jwks-edit.ts, cli/edit.ts), run from the built CLI: what each change
 * writes, that an indexed file stays indexed (check passes, and verify finds
 * the new entry through the index), the backup, file modes, and every
 * refusal leaving the file byte for byte as it was. The journey against a
 * running nginx, and the killed edit, are in test/integration/cli-journey.test.ts.
 */
import { chmodSync, existsSync, lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { cliTestFiles, ROOT, runCli } from '../support/cli';

const scratch = cliTestFiles('edit-commands-test');
const file = (name: string) => path.join(scratch(), name);

function ok(...args: string[]): string {
  const run = runCli(...args);
  if (run.status !== 0) throw new Error('jwt-gateway ' + args.join(' ') + ' exited ' + run.status + ': ' + run.stderr);
  return run.stdout;
}

/** A command that must be refused: exit 1, its message, and FILE as it was. */
function refused(target: string, message: RegExp, ...args: string[]): void {
  const before = existsSync(target) ? readFileSync(target) : null;
  const run = runCli(...args);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 1, stderr: expect.stringMatching(message) });
  expect(existsSync(target) ? readFileSync(target) : null).toEqual(before);
}

const keygen = (alg: string, kid: string) =>
  JSON.parse(ok('keygen', '--alg', alg, '--kid', kid, '--out', file('keys'), '--json')).files as { [what: string]: string };

test('consumer add makes the map (0644, for the workers), sign and verify work with it; list shows no secret; the backup is the old file', () => {
  const map = file('new.json');
  expect(ok('consumer', 'add', map, '--username', 'ann')).toBe(
    map + ': consumer "ann" credential added (HS256, a new secret kept in the map: `jwt-gateway sign` reads it there)\n',
  );
  expect(statSync(map).mode & 0o777).toBe(0o644);
  const first = readFileSync(map);
  const es = keygen('ES256', 'bob-1');
  ok('consumer', 'add', map, '--username', 'bob', '--public-key', es.public, '--custom-id', 'b-7', '--id', 'bob-cred');
  expect(readFileSync(map + '.bak')).toEqual(first);
  const listed = JSON.parse(ok('consumer', 'list', map, '--json'));
  expect(listed).toEqual([
    { username: 'ann', credentials: [{ id: 'ann', key: 'ann', algorithm: 'HS256' }] },
    { username: 'bob', custom_id: 'b-7', credentials: [{ id: 'bob-cred', key: 'bob', algorithm: 'ES256' }] },
  ]);
  const secret = JSON.parse(readFileSync(map, 'utf8')).consumers[0].credentials[0].secret as string;
  expect(ok('consumer', 'list', map)).toBe('ann: key ann HS256\nbob (custom id b-7): key bob ES256 id bob-cred\n');
  expect(ok('consumer', 'list', map) + ok('consumer', 'list', map, '--json')).not.toContain(secret);
  const token = ok('sign', '--consumers', map, '--consumer', 'bob', '--key', es.private).trim();
  expect(JSON.parse(ok('verify', token, '--consumers', map, '--json'))).toMatchObject({ allow: true, consumer: 'bob', credential: 'bob-cred' });
  expect(ok('check', map)).toBe(map + ': ok\n');
});

test('an indexed map stays indexed: check passes after add, rotate and remove, and verify finds the new consumer', () => {
  const map = file('indexed.json');
  ok('consumer', 'add', map, '--username', 'one');
  ok('consumer', 'add', map, '--username', 'two');
  ok('index', map, '--out', map);
  expect(ok('consumer', 'add', map, '--username', 'three', '--key', 'k3')).toMatch(/credential added \(HS256.*, index rewritten; the old file is .*\.bak\n$/);
  expect(readFileSync(map, 'utf8')).toMatch(/^\{"index":\{"layout":/);
  expect(ok('check', map)).toBe(map + ': ok\n');
  const token = ok('sign', '--consumers', map, '--consumer', 'three').trim();
  expect(JSON.parse(ok('verify', token, '--consumers', map, '--json'))).toMatchObject({ allow: true, consumer: 'three' });
  ok('consumer', 'rotate', map, '--username', 'three');
  expect(JSON.parse(runCli('verify', token, '--consumers', map, '--json').stdout)).toMatchObject({ allow: false, code: 'SIGNATURE_INVALID' });
  ok('consumer', 'remove', map, '--username', 'one');
  expect(ok('check', map)).toBe(map + ': ok\n');
  expect(JSON.parse(ok('consumer', 'list', map, '--json')).map((c: { username: string }) => c.username)).toEqual(['two', 'three']);
});

test('a second credential for a consumer, then removing one of them; rotate and remove name it when there are several', () => {
  const map = file('two-credentials.json');
  ok('consumer', 'add', map, '--username', 'cat');
  ok('consumer', 'add', map, '--username', 'cat');
  expect(JSON.parse(ok('consumer', 'list', map, '--json'))[0].credentials.map((c: { key: string }) => c.key)).toEqual(['cat', 'cat-2']);
  refused(map, /"cat" has 2 credentials \("cat", "cat-2"\): name one with --credential ID/, 'consumer', 'rotate', map, '--username', 'cat');
  refused(map, /has no credential with id or key "cat-9"/, 'consumer', 'remove', map, '--username', 'cat', '--credential', 'cat-9');
  expect(ok('consumer', 'remove', map, '--username', 'cat', '--credential', 'cat')).toMatch(/consumer "cat" credential "cat" removed/);
  expect(JSON.parse(ok('consumer', 'list', map, '--json'))[0].credentials.map((c: { key: string }) => c.key)).toEqual(['cat-2']);
});

test('the algorithm comes from the public key unless --alg names one that fits it', () => {
  const map = file('algorithms.json');
  const rsa = keygen('RS256', 'r-1');
  expect(ok('consumer', 'add', map, '--username', 'r', '--public-key', rsa.public)).toMatch(/\(RS256\)/);
  expect(ok('consumer', 'add', map, '--username', 'p', '--public-key', rsa.public, '--alg', 'PS256', '--key', 'p')).toMatch(/\(PS256\)/);
  refused(
    map,
    /--alg: ES256 does not fit .*r-1\.public\.pem \(it fits RS256, RS384, RS512, PS256, PS384, PS512\)/,
    'consumer',
    'add',
    map,
    '--username',
    'q',
    '--public-key',
    rsa.public,
    '--alg',
    'ES256',
  );
  refused(map, /--alg: ES256 needs --public-key PEM/, 'consumer', 'add', map, '--username', 'q', '--alg', 'ES256');
  expect(ok('consumer', 'add', map, '--username', 'e', '--public-key', keygen('ES384', 'e-1').public)).toMatch(/\(ES384\)/);
  // Judged for the njs given, as check judges: Ed25519 from 0.9.7 on.
  const ed = keygen('EdDSA', 'd-1').public;
  refused(map, /Ed25519 \(EdDSA\) keys need njs 0\.9\.7/, 'consumer', 'add', map, '--username', 'd', '--public-key', ed, '--njs', '0.9.6');
  expect(ok('consumer', 'add', map, '--username', 'd', '--public-key', ed, '--njs', '1.0.2')).toMatch(/\(EdDSA\)/);
});

test('refused, the file untouched: a private key, a taken key, an unknown consumer, a broken secret, the last credential, a file that is not a map', () => {
  const map = file('refusals.json');
  const es = keygen('ES256', 'refuse-1');
  ok('consumer', 'add', map, '--username', 'only', '--public-key', es.public);
  refused(map, /is a private key: give the public one/, 'consumer', 'rotate', map, '--username', 'only', '--public-key', es.private);
  refused(map, /--key: a credential with key "only" is in the map already/, 'consumer', 'add', map, '--username', 'other', '--key', 'only');
  refused(map, /--username: no consumer "ghost" in the map/, 'consumer', 'remove', map, '--username', 'ghost');
  /** A rotation of "only" to an HMAC secret from `secretFile`, refused. */
  const refusedSecret = (message: RegExp, secretFile: string) =>
    refused(map, message, 'consumer', 'rotate', map, '--username', 'only', '--alg', 'HS256', '--secret-file', secretFile);
  writeFileSync(file('short.secret'), 'short\n');
  refusedSecret(/field "secret": HMAC key has 5 bytes; HS256 needs at least 32/, file('short.secret'));
  refusedSecret(/private\.pem: is not a secret on one line \(a PEM or a JWK\?\)/, es.private);
  refusedSecret(/jwk\.json: is not a secret on one line/, es.jwk);
  refused(file('missing.json'), /missing\.json: cannot be read: ENOENT/, 'consumer', 'remove', file('missing.json'), '--username', 'only');
  expect(runCli('consumer', 'add', file('keys'), '--username', 'x')).toMatchObject({
    status: 1,
    stderr: expect.stringMatching(/keys: cannot be read: EISDIR/),
  });
  refused(map, /no credentials: no token can verify, so every token is refused/, 'consumer', 'remove', map, '--username', 'only');
  const set = file('a-set.json');
  writeFileSync(set, JSON.stringify({ keys: [] }));
  refused(set, /not a consumer map/, 'consumer', 'add', set, '--username', 'x');
  writeFileSync(file('broken.json'), '{"consumers": [');
  refused(file('broken.json'), /broken\.json: .*not valid JSON/, 'consumer', 'add', file('broken.json'), '--username', 'x');
});

test('problems the file had before the edit do not stop it: they are warnings, the new ones refuse', () => {
  const map = file('already-broken.json');
  writeFileSync(
    map,
    JSON.stringify({
      consumers: [
        { username: 'old', credentials: [{ key: 'old', secret: 'short' }] },
        { username: 'fine', credentials: [{ key: 'fine', secret: 'x'.repeat(40) }] },
      ],
    }),
  );
  const run = runCli('consumer', 'add', map, '--username', 'new');
  expect(run.status).toBe(0);
  expect(run.stderr).toMatch(/^warning: already in the file before this change: .*\("old"\).*HMAC key has 5 bytes/);
});

test('the mode of an existing file is kept', () => {
  const map = file('mode.json');
  ok('consumer', 'add', map, '--username', 'm');
  chmodSync(map, 0o640);
  ok('consumer', 'add', map, '--username', 'n');
  expect(statSync(map).mode & 0o777).toBe(0o640);
  expect(statSync(map + '.bak').mode & 0o777).toBe(0o640);
});

test('jwks add, list, remove: an indexed set stays indexed; private JWKs and taken kids are refused; new sets are 0644', () => {
  const set = file('jwks.json');
  const one = keygen('ES256', 'set-1');
  const two = keygen('RS256', 'set-2');
  expect(ok('jwks', 'add', set, '--jwk', one.jwk)).toBe(set + ': added key "set-1"\n');
  expect(statSync(set).mode & 0o777).toBe(0o644);
  ok('index', set, '--out', set);
  expect(ok('jwks', 'add', set, '--jwk', two.jwk)).toMatch(/added key "set-2", index rewritten/);
  expect(ok('check', set)).toBe(set + ': ok\n');
  expect(JSON.parse(ok('jwks', 'list', set, '--json'))).toEqual([
    { kid: 'set-1', kty: 'EC', alg: 'ES256', crv: 'P-256', use: 'sig' },
    { kid: 'set-2', kty: 'RSA', alg: 'RS256', use: 'sig' },
  ]);
  expect(ok('jwks', 'list', set)).toBe('set-1: EC P-256 ES256 sig\nset-2: RSA RS256 sig\n');
  refused(set, /field "kid": "set-1" is in the set already/, 'jwks', 'add', set, '--jwk', one.jwk);
  expect(ok('jwks', 'add', set, '--jwk', one.jwk, '--kid', 'set-1b')).toMatch(/added key "set-1b"/);
  const jwk = JSON.parse(readFileSync(one.jwk, 'utf8'));
  writeFileSync(file('private.jwk.json'), JSON.stringify({ ...jwk, kid: 'p', d: 'AAAA' }));
  refused(set, /field "d": a private key member/, 'jwks', 'add', set, '--jwk', file('private.jwk.json'));
  expect(ok('jwks', 'remove', set, '--kid', 'set-1')).toMatch(/removed key "set-1", index rewritten/);
  refused(set, /--kid: no key with kid "set-1" in the set/, 'jwks', 'remove', set, '--kid', 'set-1');
  expect(ok('check', set)).toBe(set + ': ok\n');
  ok('jwks', 'remove', set, '--kid', 'set-1b');
  refused(set, /field "keys": empty/, 'jwks', 'remove', set, '--kid', 'set-2');
});

test('every command answers --help (exit 0) with its usage; an option its action does not take is a usage error (exit 2)', () => {
  for (const command of ['check', 'index', 'rate-limits', 'jwks', 'consumer', 'keygen', 'sign', 'verify', 'decode']) {
    const run = runCli(command, '--help');
    expect({ command, status: run.status, stdout: run.stdout }).toEqual({
      command,
      status: 0,
      stdout: expect.stringMatching(new RegExp('^usage: jwt-gateway ' + command + ' ')),
    });
  }
  const map = file('usage.json');
  expect(runCli('consumer', 'remove', map, '--username', 'x', '--alg', 'HS256')).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/^consumer remove does not take --alg\nusage: jwt-gateway consumer/),
  });
  expect(runCli('jwks', 'list', map, '--kid', 'x')).toMatchObject({ status: 2, stderr: expect.stringMatching(/^jwks list does not take --kid/) });
  expect(runCli('consumer', 'add', map)).toMatchObject({ status: 2, stderr: expect.stringMatching(/consumer add needs --username NAME/) });
  expect(runCli('nonsense')).toMatchObject({ status: 2, stderr: expect.stringMatching(/^usage:\n {2}jwt-gateway check/) });
  expect(existsSync(map)).toBe(false);
});

test('a symbolic link is followed: the file it names is replaced and the link stays', () => {
  const real = file('real-map.json');
  ok('consumer', 'add', real, '--username', 'linked');
  const link = file('linked-map.json');
  symlinkSync(real, link);
  ok('consumer', 'add', link, '--username', 'second');
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  expect(JSON.parse(ok('consumer', 'list', real, '--json')).map((c: { username: string }) => c.username)).toEqual(['linked', 'second']);
  expect(existsSync(real + '.bak')).toBe(true);
});

test('one edit at a time: a lock held by a running process refuses, a dead one is taken over with the files it left', () => {
  const map = file('locked.json');
  ok('consumer', 'add', map, '--username', 'l');
  const lockFile = file('.locked.json.lock');
  const held = process.pid + '@' + hostname() + ' 0123456789abcdef';
  writeFileSync(lockFile, held);
  refused(map, new RegExp('another edit \\(' + process.pid + '@.*\\) is changing it'), 'consumer', 'add', map, '--username', 'm');
  expect(readFileSync(lockFile, 'utf8')).toBe(held);
  // Another host's lock (a container sharing the volume) is never judged dead.
  writeFileSync(lockFile, '4194305@another-host 0123456789abcdef');
  refused(map, /another edit \(4194305@another-host\)/, 'consumer', 'add', map, '--username', 'm');
  // No process has pid 2^22 + 1 (above Linux's pid_max): a dead edit of this host, its lock and temporary file taken over.
  writeFileSync(lockFile, '4194305@' + hostname() + ' 0123456789abcdef');
  const left = file('.locked.json.4194305.0123456789ab.tmp');
  writeFileSync(left, 'half');
  ok('consumer', 'add', map, '--username', 'm');
  expect([existsSync(lockFile), existsSync(left)]).toEqual([false, false]);
});

test('rotate keeps the algorithm unless told otherwise: HS512 stays HS512, PS256 stays PS256 with a new RSA key, PS256 without a key is refused', () => {
  const map = file('rotate-algorithm.json');
  ok('consumer', 'add', map, '--username', 'h', '--alg', 'HS512');
  expect(ok('consumer', 'rotate', map, '--username', 'h')).toMatch(/rotated \(HS512, a new secret/);
  ok('consumer', 'add', map, '--username', 'p', '--public-key', keygen('PS256', 'p-1').public, '--alg', 'PS256');
  expect(ok('consumer', 'rotate', map, '--username', 'p', '--public-key', keygen('RS256', 'p-2').public)).toMatch(/rotated \(PS256\)/);
  refused(map, /--alg: PS256 needs --public-key PEM/, 'consumer', 'rotate', map, '--username', 'p');
  expect(JSON.parse(ok('consumer', 'list', map, '--json')).map((c: { credentials: { algorithm: string }[] }) => c.credentials[0].algorithm)).toEqual([
    'HS512',
    'PS256',
  ]);
});

test("ambiguities are refused: a username two consumers have, an id that is another credential's key; option mistakes are usage errors", () => {
  const map = file('ambiguous.json');
  const secret = 'x'.repeat(40);
  writeFileSync(
    map,
    JSON.stringify({
      consumers: [
        { username: 'dup', credentials: [{ key: 'dup1', secret }] },
        {
          username: 'bob',
          credentials: [
            { key: 'laptop', id: 'phone', secret },
            { key: 'phone', id: 'laptop', secret },
          ],
        },
        { username: 'dup', credentials: [{ key: 'dup2', secret }] },
      ],
    }),
  );
  refused(map, /--username: 2 consumers are "dup" \(consumers\[0\], consumers\[2\]\)/, 'consumer', 'remove', map, '--username', 'dup');
  refused(
    map,
    /--credential: "laptop" is the id of one credential of "bob" and the key of another/,
    'consumer',
    'remove',
    map,
    '--username',
    'bob',
    '--credential',
    'laptop',
  );
  expect(runCli('consumer', 'add', map, '--username', 'z', '--secret-file', 'a', '--public-key', 'b')).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/^give --secret-file or --public-key, not both/),
  });
  expect(runCli('consumer', 'add', map, '--username', 'z', '--alg', 'XX256')).toMatchObject({
    status: 2,
    stderr: expect.stringMatching(/^--alg: unknown algorithm "XX256"/),
  });
});

test('a dangling symbolic link stays a link: the file it names is made', () => {
  const link = file('dangling.json');
  symlinkSync('made-through-link.json', link);
  ok('consumer', 'add', link, '--username', 'through');
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  expect(existsSync(file('made-through-link.json'))).toBe(true);
});

test('`npm run -s cli -- ...` from the checkout is the same command line', () => {
  const map = file('npm-run.json');
  ok('consumer', 'add', map, '--username', 'via-npm');
  const run = spawnSync('npm', ['run', '-s', 'cli', '--', 'consumer', 'list', map], { cwd: ROOT, encoding: 'utf8' });
  expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 0, stdout: ok('consumer', 'list', map) });
});
