/**
 * jwt-gateway: the command line next to the njs bundle.
 *   jwt-gateway check [--njs VERSION] [--conf-dir DIR] FILE...
 *     validates consumer maps, JWK Sets and revocation lists, and nginx
 *     configuration files (with their includes; relative ones against DIR,
 *     nginx's configuration directory, by default each file's own); exit 1 on problems.
 *   jwt-gateway rate-limits CONSUMERS.json [--out DIR]
 *     writes DIR/jwt-rate-limit-zones.conf (http level) and
 *     DIR/jwt-rate-limits.conf (location level) from the consumers' `limit`.
 *   jwt-gateway index FILE [--out FILE]
 *     the consumer map or JWK Set with an index of its entries (large files).
 *   jwt-gateway jwks sync (URL | --issuer ISSUER) --out FILE [--reload] [--nginx BIN]
 *     an identity provider's JWK Set into FILE, only when it is valid and new
 *     (exit 0, "written" or "unchanged"); exit 1 and FILE untouched otherwise.
 *   jwt-gateway keygen --alg ALG [--kid KID] --out DIR
 *     a new HMAC secret or key pair (PEM and JWK) in DIR; never overwrites.
 *   jwt-gateway sign --consumers FILE --consumer NAME [--credential ID] [--key PEM] [--exp 1h] [--nbf 0s] [--claim k=v]... [--kid KID]
 *     a token for a consumer of the map (HMAC secrets from the map, private keys from --key).
 *   jwt-gateway verify TOKEN (--consumers FILE | --jwks FILE) [--set NAME=VALUE]... [--json]
 *     what the gateway would decide and why (exit 0 allowed, 1 denied).
 *   jwt-gateway decode TOKEN [--json]
 *     the token's header and payload, dates in UTC, NOT verified; exit 1 when
 *     it does not parse (the gateway's reason code).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseCommandLine, usageError } from './args';
import { checkFile } from './check';
import { indexDocument, indexedText, indexSummary } from './index';
import { rateLimitConfig } from './rate-limits';
import { describeProblem, isProblem } from '../njs/core/errors';
import { syncJwks } from './jwks-sync';
import { decodedText, decodeToken, undecodable } from './decode';
import { defaultKid, generateKey, KEYGEN_ALGORITHMS } from './keygen';
import { signToken } from './sign';
import { verifyText, verifyToken } from './verify';

const USAGE =
  'usage: jwt-gateway check [--njs VERSION] [--conf-dir DIR] FILE...\n       jwt-gateway rate-limits CONSUMERS.json [--out DIR]\n       jwt-gateway index FILE [--out FILE]\n' +
  '       jwt-gateway jwks sync (URL | --issuer ISSUER) --out FILE [--reload] [--nginx BIN] [--timeout SECONDS] [--max-bytes N]\n' +
  '       jwt-gateway keygen --alg HS256|HS384|HS512|RS256|PS256|ES256|ES384|ES512|EdDSA [--kid KID] --out DIR [--json]\n' +
  '       jwt-gateway sign --consumers FILE --consumer NAME [--credential ID] [--key PEM] [--exp 1h] [--nbf 0s] [--claim NAME=VALUE]... [--kid KID] [--key-claim NAME]\n' +
  '       jwt-gateway verify TOKEN (--consumers FILE | --jwks FILE) [--set NAME=VALUE]... [--json]\n' +
  '       jwt-gateway decode TOKEN [--json]';

function fail(message: string): never {
  process.stderr.write(message + '\n');
  process.exit(2);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return fail(file + ': cannot be read: ' + (e as Error).message);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(file + ': not valid JSON: ' + (e as Error).message);
  }
}

/** The one FILE and the optional `--out` of `rate-limits` and `index`. */
function fileAndOut(args: string[]): { file: string; out?: string } {
  const { values, positionals } = parseCommandLine(args, USAGE, { out: { type: 'string' } }, { positionals: true });
  if (positionals.length !== 1) usageError(USAGE);
  return { file: positionals[0], out: values.out };
}

function rateLimits(args: string[]): void {
  const { file, out: outDir } = fileAndOut(args);
  const config = rateLimitConfig(readJson(file), file);
  const dir = outDir || path.dirname(file);
  writeFileSync(path.join(dir, 'jwt-rate-limit-zones.conf'), config.zones);
  writeFileSync(path.join(dir, 'jwt-rate-limits.conf'), config.limits);
  for (const problem of config.problems) process.stderr.write('warning: ' + describeProblem(problem) + '\n');
  process.stdout.write(
    'wrote ' +
      path.join(dir, 'jwt-rate-limit-zones.conf') +
      ' (include at http level) and ' +
      path.join(dir, 'jwt-rate-limits.conf') +
      ' (include in the protected location)\n',
  );
}

function index(args: string[]): void {
  const { file, out } = fileAndOut(args);
  const document = readJson(file);
  if (document === null || typeof document !== 'object' || Array.isArray(document)) fail(file + ': not a JSON object');
  const indexed = indexDocument(document as object);
  if (indexed === document) fail(file + ': ' + indexSummary(indexed));
  const text = indexedText(document as object);
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
  process.stderr.write(file + ': ' + indexSummary(indexed) + (out ? ', written to ' + out : '') + '\n');
}

/** The njs version the files are meant for: --njs, else the installed njs CLI's, else the newest. */
function targetNjsVersion(flag: string | undefined): string {
  if (flag) return flag;
  const installed = spawnSync('njs', ['-v'], { encoding: 'utf8' });
  return installed.status === 0 ? installed.stdout.trim() : '9.9.9';
}

function check(args: string[]): void {
  const { values, positionals: files } = parseCommandLine(args, USAGE, { njs: { type: 'string' }, 'conf-dir': { type: 'string' } }, { positionals: true });
  const confDir = values['conf-dir'];
  if (files.length === 0) usageError(USAGE);
  const [major, minor, patch] = targetNjsVersion(values.njs).split('.').map(Number);
  const capabilities = { ed25519: major * 10000 + minor * 100 + (patch || 0) >= 907, env: (name: string) => process.env[name] };
  let problems = 0;
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      process.stderr.write(file + ': cannot be read: ' + (e as Error).message + '\n');
      problems++;
      continue;
    }
    const found = checkFile(file, bytes, capabilities, confDir);
    const errors = found.filter((problem) => problem.severity !== 'warning');
    for (const problem of found) process.stderr.write((problem.severity === 'warning' ? 'warning: ' : '') + describeProblem(problem) + '\n');
    problems += errors.length;
    if (errors.length === 0) process.stdout.write(file + ': ok\n');
  }
  if (problems) {
    process.stderr.write(problems + ' problem(s) found\n');
    process.exitCode = 1;
  }
}

/** `jwks sync`: the JWK Set into --out when it is good and new; with --reload, `nginx -t` and `nginx -s reload` after a change. */
async function jwksSync(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(
    args,
    USAGE,
    {
      out: { type: 'string' },
      issuer: { type: 'string' },
      reload: { type: 'boolean' },
      nginx: { type: 'string' },
      timeout: { type: 'number', min: 1, max: 300, unit: 'of seconds' },
      'max-bytes': { type: 'number', min: 1024, max: 64 * 1024 * 1024 },
    },
    { positionals: true, help: true },
  );
  if (positionals[0] !== 'sync' || !values.out || positionals.length !== (values.issuer ? 1 : 2)) usageError(USAGE);
  const synced = await syncJwks({
    url: positionals[1],
    issuer: values.issuer,
    out: values.out,
    capabilities: { ed25519: true, env: (name) => process.env[name] },
    timeoutMs: values.timeout !== undefined ? values.timeout * 1000 : undefined,
    maxBytes: values['max-bytes'],
  });
  if (isProblem(synced)) {
    process.stderr.write(describeProblem(synced) + '; ' + values.out + ' is kept\n');
    process.exitCode = 1;
    return;
  }
  const keys = synced.usable + ' usable key(s) of ' + synced.listed + ' from ' + synced.jwksUri;
  process.stdout.write(values.out + ': ' + (synced.written ? 'written, ' : 'unchanged, ') + keys + '\n');
  if (!synced.written || !values.reload) return;
  const nginx = values.nginx || 'nginx';
  for (const step of [['-t'], ['-s', 'reload']]) {
    const run = spawnSync(nginx, step, { encoding: 'utf8' });
    if (run.status !== 0) {
      process.stderr.write(nginx + ' ' + step.join(' ') + ' failed: ' + (run.stderr || run.error?.message || '').trim() + '\n');
      process.exitCode = 1;
      return;
    }
  }
  process.stdout.write('nginx reloaded\n');
}

/** `decode`: the token's parts, printed; nothing is verified. */
function decode(args: string[]): void {
  const { values, positionals } = parseCommandLine(args, USAGE, { json: { type: 'boolean' } }, { positionals: true, help: true });
  if (positionals.length !== 1) usageError(USAGE, 'decode takes one token');
  const decoded = decodeToken(positionals[0]);
  if (isProblem(decoded)) {
    process.stderr.write(undecodable(decoded) + '\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write(values.json ? JSON.stringify(decoded) + '\n' : decodedText(decoded));
}

/** `keygen`: the key's files, and which they are. */
function keygen(args: string[]): void {
  const { values } = parseCommandLine(
    args,
    USAGE,
    { alg: { type: 'string' }, kid: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
    { help: true },
  );
  const alg = KEYGEN_ALGORITHMS.find((known) => known === values.alg);
  if (!alg) usageError(USAGE, '--alg needs one of ' + KEYGEN_ALGORITHMS.join(', '));
  if (!values.out) usageError(USAGE, 'keygen needs --out DIR');
  if (values.kid !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(values.kid))
    usageError(USAGE, '--kid takes 1 to 64 of A-Z a-z 0-9 . _ - (it names the files)');
  let generated;
  try {
    generated = generateKey(alg, values.kid ?? defaultKid(alg, new Date()), values.out);
  } catch (e) {
    process.stderr.write((e as Error).message + '\n');
    process.exitCode = 1;
    return;
  }
  if (values.json) process.stdout.write(JSON.stringify({ alg, ...generated }) + '\n');
  else for (const what of Object.keys(generated.files)) process.stdout.write(what + ': ' + generated.files[what] + '\n');
}

/** `sign`: the token on stdout. */
async function sign(args: string[]): Promise<void> {
  const { values } = parseCommandLine(
    args,
    USAGE,
    {
      consumers: { type: 'string' },
      consumer: { type: 'string' },
      credential: { type: 'string' },
      key: { type: 'string' },
      exp: { type: 'string' },
      nbf: { type: 'string' },
      claim: { type: 'strings' },
      kid: { type: 'string' },
      'key-claim': { type: 'string' },
    },
    { help: true },
  );
  if (!values.consumers || !values.consumer) usageError(USAGE, 'sign needs --consumers FILE and --consumer NAME');
  const token = await signToken({
    consumers: values.consumers,
    consumer: values.consumer,
    credential: values.credential,
    key: values.key,
    exp: values.exp ?? '1h',
    nbf: values.nbf,
    claims: values.claim ?? [],
    kid: values.kid,
    keyClaim: values['key-claim'] ?? 'key',
    now: Math.floor(Date.now() / 1000),
  });
  if (isProblem(token)) {
    process.stderr.write(describeProblem(token) + '\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write(token + '\n');
}

/** `verify`: the decision, exit 0 when the gateway would let the request through, 1 when it would deny it. */
async function verify(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(
    args,
    USAGE,
    { consumers: { type: 'string' }, jwks: { type: 'string' }, set: { type: 'strings' }, json: { type: 'boolean' } },
    { positionals: true, help: true },
  );
  if (positionals.length !== 1) usageError(USAGE, 'verify takes one token');
  const answer = await verifyToken({
    token: positionals[0],
    consumers: values.consumers,
    jwks: values.jwks,
    sets: values.set ?? [],
    capabilities: { ed25519: true, env: (name) => process.env[name] },
    now: Math.floor(Date.now() / 1000),
  });
  if (isProblem(answer)) usageError(USAGE, describeProblem(answer));
  process.stdout.write(values.json ? JSON.stringify(answer) + '\n' : verifyText(answer));
  if (!answer.allow) process.exitCode = 1;
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'check') check(rest);
else if (command === 'rate-limits') rateLimits(rest);
else if (command === 'index') index(rest);
else if (command === 'jwks') void jwksSync(rest);
else if (command === 'decode') decode(rest);
else if (command === 'keygen') keygen(rest);
else if (command === 'sign') void sign(rest);
else if (command === 'verify') void verify(rest);
else usageError(USAGE);
