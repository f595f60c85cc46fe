/**
 * `jwt-gateway verify` decides as the gateway does: each attack and claim
 * case goes to a real nginx (direct style) and to the command line with the
 * same consumer map and settings, and both give the same status and the same
 * reason code (the gateway's from its log line).
 */
import { SignJWT } from 'jose';
import { gatewayConfig, gatewayPerFile, now } from '../support/gateway';
import { cliTestFiles, runCli } from '../support/cli';

cliTestFiles('verify-cli-test');
const SECRET = 'verify-cli-secret-of-good-length-0123456789abc';
const encode = (text: string) => new TextEncoder().encode(text);
const b64 = (text: string) => Buffer.from(text).toString('base64url');
const SETS = ['audience=https://api.example', 'issuers=https://idp.example', 'claim_rules=scope contains read', 'claims_to_verify=exp'];

const { it, g } = gatewayPerFile(() => ({
  config: gatewayConfig({
    server: [
      'set $auth_jwt_consumers ${PREFIX}/consumers.json;',
      ...SETS.map((set) => 'set $auth_jwt_' + set.slice(0, set.indexOf('=')) + ' "' + set.slice(set.indexOf('=') + 1) + '";'),
      'location /api/ {',
      '    include ${ROOT}/nginx/jwt-auth.conf;',
      '    proxy_pass http://echo_upstream;',
      '}',
    ],
  }),
  ports: ['PORT', 'ECHO_PORT'],
  files: { 'consumers.json': JSON.stringify({ consumers: [{ username: 'jack', credentials: [{ key: 'jack-key', secret: SECRET }] }] }) },
}));

const good = { key: 'jack-key', iss: 'https://idp.example', aud: 'https://api.example', scope: 'read' };
const signed = (claims: object, header: object = {}, secret = SECRET) =>
  new SignJWT({ exp: now() + 600, ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(encode(secret));

const CASES: [string, () => Promise<string>][] = [
  ['a good token', () => signed(good)],
  ['expired', () => signed({ ...good, exp: now() - 60 })],
  ['not yet valid', () => signed({ ...good, nbf: now() + 600 })],
  ['another key', () => signed(good, {}, 'another-secret-of-good-length-0123456789abcdef')],
  ['alg none', async () => b64('{"alg":"none","typ":"JWT"}') + '.' + b64(JSON.stringify({ ...good, exp: now() + 600 })) + '.'],
  ['no key claim', () => signed({ ...good, key: undefined })],
  ['an unknown credential', () => signed({ ...good, key: 'nobody' })],
  ['another audience', () => signed({ ...good, aud: 'https://other.example' })],
  ['another issuer', () => signed({ ...good, iss: 'https://evil.example' })],
  ['a claim rule that fails', () => signed({ ...good, scope: 'write' })],
  ['no exp', () => new SignJWT(good).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(encode(SECRET))],
  ['malformed', async () => 'not.a.token'],
];

for (const [what, make] of CASES) {
  it(what + ": the command line gives the gateway's status and reason code", async () => {
    const token = await make();
    const before = g().readLog('error.log').length;
    const reply = await g().get('/api/x', { Authorization: 'Bearer ' + token });
    // The gateway's reason: its rejection line, the one this request added to the log.
    if (reply.status !== 200) await g().logLine('error.log', 'rejected ' + reply.status);
    const added = g().readLog('error.log').slice(before);
    const logged = reply.status === 200 ? '' : /rejected [0-9]+ ([A-Z_]+):/.exec(added)![1];
    const run = runCli('verify', token, '--consumers', g().nginx.prefix + '/consumers.json', ...SETS.flatMap((set) => ['--set', set]), '--json');
    const answer = JSON.parse(run.stdout);
    expect({ status: answer.status, code: answer.code, exit: run.status }).toEqual({ status: reply.status, code: logged, exit: reply.status === 200 ? 0 : 1 });
  });
}
