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
 *   jwt-gateway jwks sync (URL | --issuer ISSUER) --out FILE [--reload]
 *     an identity provider's JWK Set into FILE, only when it is valid and new
 *     (exit 0, "written" or "unchanged"); exit 1 and FILE untouched otherwise.
 *   jwt-gateway consumer add|rotate|remove|list FILE ..., jwks add|remove|list FILE ...
 *     a consumer map's consumers and credentials, a JWK Set's keys: each change
 *     checked, the file replaced atomically with a backup (cli/edit.ts), and
 *     with --reload `nginx -t` and a reload; exit 1 and FILE untouched when refused.
 *   jwt-gateway keygen --alg ALG [--kid KID] --out DIR
 *     a new HMAC secret or key pair (PEM and JWK) in DIR; never overwrites.
 *   jwt-gateway sign --consumers FILE --consumer NAME [--credential ID] [--key PEM] [--exp 1h] [--nbf 0s] [--claim k=v]... [--kid KID]
 *     a token for a consumer of the map (HMAC secrets from the map, private keys from --key).
 *   jwt-gateway verify TOKEN (--consumers FILE | --jwks FILE) [--set NAME=VALUE]... [--json]
 *     what the gateway would decide and why (exit 0 allowed, 1 denied).
 *   jwt-gateway decode TOKEN [--json]
 *     the token's header and payload, dates in UTC, NOT verified; exit 1 when
 *     it does not parse (the gateway's reason code).
 * Every command takes --help; exit 2 is a usage error.
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
import { Edited, editDocument, readDocument } from './edit';
import { addConsumer, consumersText, listConsumers, Material, materialOf, removeConsumer, rotateCredential } from './consumer';
import { addKeys, keysText, listKeys, removeKeys } from './jwks-edit';
import { RELOAD_OPTIONS, reloadNginx, reloadOptionsOf, ReloadValues } from './reload';
import { Problem } from '../njs/core/errors';
import { JsonObject } from '../njs/core/strict-json';
import { Capabilities } from '../njs/core/keys/types';

/** Each command's usage: `jwt-gateway COMMAND --help` prints its own, a bad command line all of them. */
const USAGES = {
  check: 'usage: jwt-gateway check [--njs VERSION] [--conf-dir DIR] FILE...',
  'rate-limits': 'usage: jwt-gateway rate-limits CONSUMERS.json [--out DIR]',
  index: 'usage: jwt-gateway index FILE [--out FILE]',
  consumer:
    'usage: jwt-gateway consumer add FILE --username NAME [--key KEY] [--id ID] [--custom-id ID] [--alg ALG] [--public-key PEM | --secret-file FILE] [RELOAD]\n' +
    '       jwt-gateway consumer rotate FILE --username NAME [--credential ID] [--alg ALG] [--public-key PEM | --secret-file FILE] [RELOAD]\n' +
    '       jwt-gateway consumer remove FILE --username NAME [--credential ID] [RELOAD]\n' +
    '       jwt-gateway consumer list FILE [--json]\n' +
    '  RELOAD: --reload [--nginx BIN] [--nginx-conf FILE] [--nginx-prefix DIR] [--pid FILE]',
  jwks:
    'usage: jwt-gateway jwks sync (URL | --issuer ISSUER) --out FILE [--timeout SECONDS] [--max-bytes N] [RELOAD]\n' +
    '       jwt-gateway jwks add FILE --jwk JWK.json [--kid KID] [RELOAD]\n' +
    '       jwt-gateway jwks remove FILE --kid KID [RELOAD]\n' +
    '       jwt-gateway jwks list FILE [--json]\n' +
    '  RELOAD: --reload [--nginx BIN] [--nginx-conf FILE] [--nginx-prefix DIR] [--pid FILE]',
  keygen: 'usage: jwt-gateway keygen --alg ' + KEYGEN_ALGORITHMS.join('|') + ' [--kid KID] --out DIR [--json]',
  sign: 'usage: jwt-gateway sign --consumers FILE --consumer NAME [--credential ID] [--key PEM] [--exp 1h] [--nbf 0s] [--claim NAME=VALUE]... [--kid KID] [--key-claim NAME]',
  verify: 'usage: jwt-gateway verify TOKEN (--consumers FILE | --jwks FILE) [--set NAME=VALUE]... [--njs VERSION] [--json]',
  decode: 'usage: jwt-gateway decode TOKEN [--json]',
};
/** All of them, for a command line without a known command. */
const USAGE =
  'usage:\n' +
  Object.values(USAGES)
    .map((text) =>
      text
        .replace(/^usage: /, '')
        .replace(/^ {7}/gm, '')
        .replace(/^/gm, '  '),
    )
    .join('\n');

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
function fileAndOut(args: string[], usage: string): { file: string; out?: string } {
  const { values, positionals } = parseCommandLine(args, usage, { out: { type: 'string' } }, { positionals: true, help: true });
  if (positionals.length !== 1) usageError(usage);
  return { file: positionals[0], out: values.out };
}

function rateLimits(args: string[]): void {
  const { file, out: outDir } = fileAndOut(args, USAGES['rate-limits']);
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
  const { file, out } = fileAndOut(args, USAGES.index);
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

/** What the gateway can do on that njs: Ed25519 from 0.9.7 on; `$env://` references read this process's environment. */
function capabilitiesFor(njsFlag: string | undefined): Capabilities {
  const [major, minor, patch] = targetNjsVersion(njsFlag).split('.').map(Number);
  return { ed25519: major * 10000 + minor * 100 + (patch || 0) >= 907, env: (name: string) => process.env[name] };
}

function check(args: string[]): void {
  const { values, positionals: files } = parseCommandLine(
    args,
    USAGES.check,
    { njs: { type: 'string' }, 'conf-dir': { type: 'string' } },
    { positionals: true, help: true },
  );
  const confDir = values['conf-dir'];
  if (files.length === 0) usageError(USAGES.check);
  const capabilities = capabilitiesFor(values.njs);
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

/** Options a command takes that `action` does not: a usage error, so a misplaced option is never silently ignored. */
function refuseOthers(usage: string, action: string, values: { [name: string]: unknown }, takes: string[]): void {
  const other = Object.keys(values).find((name) => values[name] !== undefined && !takes.includes(name));
  if (other) usageError(usage, action + ' does not take --' + other);
}

const RELOAD_NAMES = Object.keys(RELOAD_OPTIONS);

/** After a written change: what was done, the problems the file still has, and with --reload the reload. */
function reportEdit(edited: Edited | Problem[], done: string, values: ReloadValues): void {
  if (Array.isArray(edited)) {
    for (const problem of edited) process.stderr.write(describeProblem(problem) + '\n');
    process.stderr.write('refused: the file is unchanged\n');
    process.exitCode = 1;
    return;
  }
  for (const problem of edited.kept) process.stderr.write('warning: already in the file before this change: ' + describeProblem(problem) + '\n');
  for (const note of edited.notes) process.stderr.write('warning: ' + note + '\n');
  process.stdout.write(
    edited.file + ': ' + done + (edited.indexed ? ', index rewritten' : '') + (edited.backup ? '; the old file is ' + edited.backup : '') + '\n',
  );
  if (values.reload) reloadAfter(values, edited.file + ' is changed' + (edited.backup ? ' (the old one is ' + edited.backup + ')' : ''));
}

/** `--reload` after a written change; `changed` says what was written, for when the reload fails. */
function reloadAfter(values: ReloadValues, changed: string): void {
  const failed = reloadNginx(reloadOptionsOf(values));
  if (failed) {
    process.stderr.write(describeProblem(failed) + '\n' + changed + ', but nginx was not reloaded\n');
    process.exitCode = 1;
  } else process.stdout.write('nginx reloaded\n');
}

/** What stops a command that is no usage error: its message on stderr, exit 1. */
function refused(problem: Problem): void {
  process.stderr.write(describeProblem(problem) + '\n');
  process.exitCode = 1;
}

/** A `list`: as JSON, or as `text` gives it; the problem when the file could not be listed. */
function printed<T>(listed: T | Problem, asJson: boolean | undefined, text: (listed: T) => string): void {
  if (isProblem(listed)) refused(listed);
  else process.stdout.write(asJson ? JSON.stringify(listed) + '\n' : text(listed));
}

const CAPABILITIES = { ed25519: true, env: (name: string) => process.env[name] };

/** `consumer add|rotate|remove|list FILE`: a consumer map's entries, edited through cli/edit.ts. */
function consumer(args: string[]): void {
  const usage = USAGES.consumer;
  const { values, positionals } = parseCommandLine(
    args,
    usage,
    {
      username: { type: 'string' },
      key: { type: 'string' },
      id: { type: 'string' },
      'custom-id': { type: 'string' },
      alg: { type: 'string' },
      'public-key': { type: 'string' },
      'secret-file': { type: 'string' },
      credential: { type: 'string' },
      json: { type: 'boolean' },
      njs: { type: 'string' },
      ...RELOAD_OPTIONS,
    },
    { positionals: true, help: true },
  );
  const [action, file] = positionals;
  if (positionals.length !== 2 || !['add', 'rotate', 'remove', 'list'].includes(action)) usageError(usage);
  const material = ['alg', 'public-key', 'secret-file'];
  const takes: { [action: string]: string[] } = {
    add: ['username', 'key', 'id', 'custom-id', 'njs', ...material, ...RELOAD_NAMES],
    rotate: ['username', 'credential', 'njs', ...material, ...RELOAD_NAMES],
    remove: ['username', 'credential', 'njs', ...RELOAD_NAMES],
    list: ['json'],
  };
  refuseOthers(usage, 'consumer ' + action, values, takes[action]);
  if (action === 'list') {
    const document = readDocument(file);
    const listed = isProblem(document) ? document : listConsumers(document);
    return printed(listed, values.json, consumersText);
  }
  const username = values.username;
  if (!username) return usageError(usage, 'consumer ' + action + ' needs --username NAME');
  if (file === '') return usageError(usage, 'FILE is empty');
  if (values['secret-file'] !== undefined && values['public-key'] !== undefined) usageError(usage, 'give --secret-file or --public-key, not both');
  if (values.alg !== undefined && !KEYGEN_ALGORITHMS.some((known) => known === values.alg) && !/^(RS|PS)(384|512)$/.test(values.alg))
    usageError(usage, '--alg: unknown algorithm ' + JSON.stringify(values.alg));
  const options = { alg: values.alg, publicKey: values['public-key'], secretFile: values['secret-file'] };
  // The new key material, once made (rotate makes it from the credential's algorithm now).
  let made: Material | null = null;
  const materialFor = (current?: string): Material | Problem => {
    const material = materialOf(options, current);
    if (!isProblem(material)) made = material;
    return material;
  };
  const change = (document: JsonObject): JsonObject | Problem => {
    if (action === 'remove') return removeConsumer(document, username, values.credential);
    if (action === 'rotate') return rotateCredential(document, username, values.credential, materialFor);
    const material = materialFor();
    return isProblem(material) ? material : addConsumer(document, { username, key: values.key, id: values.id, customId: values['custom-id'], material });
  };
  const edited = editDocument(file, change, { capabilities: capabilitiesFor(values.njs), empty: action === 'add' ? { consumers: [] } : undefined });
  const key = made as Material | null;
  const newKey = key ? ' (' + key.algorithm + (key.generated ? ', a new secret kept in the map: `jwt-gateway sign` reads it there' : '') + ')' : '';
  const what = 'consumer ' + JSON.stringify(username);
  const done =
    action === 'add'
      ? what + ' credential added' + newKey
      : action === 'rotate'
        ? what + ' credential rotated' + newKey + ': tokens signed with the old key are refused'
        : values.credential !== undefined
          ? what + ' credential ' + JSON.stringify(values.credential) + ' removed'
          : what + ' removed';
  reportEdit(edited, done, values);
}

/** `jwks sync|add|remove|list`: a JWK Set from an identity provider (sync), or edited through cli/edit.ts. */
async function jwks(args: string[]): Promise<void> {
  const usage = USAGES.jwks;
  const { values, positionals } = parseCommandLine(
    args,
    usage,
    {
      out: { type: 'string' },
      issuer: { type: 'string' },
      timeout: { type: 'number', min: 1, max: 300, unit: 'of seconds' },
      'max-bytes': { type: 'number', min: 1024, max: 64 * 1024 * 1024 },
      jwk: { type: 'string' },
      kid: { type: 'string' },
      json: { type: 'boolean' },
      njs: { type: 'string' },
      ...RELOAD_OPTIONS,
    },
    { positionals: true, help: true },
  );
  const action = positionals[0];
  const takes: { [action: string]: string[] } = {
    sync: ['out', 'issuer', 'timeout', 'max-bytes', ...RELOAD_NAMES],
    add: ['jwk', 'kid', 'njs', ...RELOAD_NAMES],
    remove: ['kid', 'njs', ...RELOAD_NAMES],
    list: ['json'],
  };
  if (!takes[action]) usageError(usage);
  refuseOthers(usage, 'jwks ' + action, values, takes[action]);
  if (action === 'sync') return jwksSync(values, positionals);
  if (positionals.length !== 2 || positionals[1] === '') usageError(usage);
  const file = positionals[1];
  if (action === 'list') {
    const document = readDocument(file);
    const listed = isProblem(document) ? document : listKeys(document);
    return printed(listed, values.json, keysText);
  }
  if (action === 'add' && !values.jwk) return usageError(usage, 'jwks add needs --jwk FILE');
  if (action === 'remove' && !values.kid) return usageError(usage, 'jwks remove needs --kid KID');
  const added = action === 'add' ? readDocument(values.jwk as string) : null;
  if (added && isProblem(added)) return refused(added);
  const change = (document: JsonObject) => (added ? addKeys(document, added, values.jwk as string, values.kid) : removeKeys(document, values.kid as string));
  const edited = editDocument(file, change, { capabilities: capabilitiesFor(values.njs), empty: action === 'add' ? { keys: [] } : undefined });
  const keys = added ? (Array.isArray(added.keys) ? (added.keys as JsonObject[]) : [added]) : [];
  const kids = keys.map((key) => ((values.kid ?? key.kid) !== undefined ? JSON.stringify(values.kid ?? key.kid) : 'without a kid'));
  if (keys.some((key) => key && key.kty === 'oct') && !Array.isArray(edited)) {
    process.stderr.write('warning: an oct key is an HMAC secret: let only nginx read ' + file + ' (chgrp nginx; chmod 640)\n');
  }
  reportEdit(edited, added ? 'added key ' + kids.join(', ') : 'removed key ' + JSON.stringify(values.kid), values);
}

/** `jwks sync`: the JWK Set into --out when it is good and new; with --reload, `nginx -t` and the reload after a change. */
async function jwksSync(
  values: ReloadValues & { out?: string; issuer?: string; timeout?: number; 'max-bytes'?: number },
  positionals: string[],
): Promise<void> {
  if (!values.out || positionals.length !== (values.issuer ? 1 : 2)) usageError(USAGES.jwks);
  const synced = await syncJwks({
    url: positionals[1],
    issuer: values.issuer,
    out: values.out,
    capabilities: CAPABILITIES,
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
  if (synced.written && values.reload) reloadAfter(values, values.out + ' is written');
}

/** `decode`: the token's parts, printed; nothing is verified. */
function decode(args: string[]): void {
  const { values, positionals } = parseCommandLine(args, USAGES.decode, { json: { type: 'boolean' } }, { positionals: true, help: true });
  if (positionals.length !== 1) usageError(USAGES.decode, 'decode takes one token');
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
    USAGES.keygen,
    { alg: { type: 'string' }, kid: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } },
    { help: true },
  );
  const alg = KEYGEN_ALGORITHMS.find((known) => known === values.alg);
  if (!alg) usageError(USAGES.keygen, '--alg needs one of ' + KEYGEN_ALGORITHMS.join(', '));
  if (!values.out) usageError(USAGES.keygen, 'keygen needs --out DIR');
  if (values.kid !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(values.kid))
    usageError(USAGES.keygen, '--kid takes 1 to 64 of A-Z a-z 0-9 . _ - (it names the files)');
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
    USAGES.sign,
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
  if (!values.consumers || !values.consumer) usageError(USAGES.sign, 'sign needs --consumers FILE and --consumer NAME');
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
  if (isProblem(token)) return refused(token);
  process.stdout.write(token + '\n');
}

/** `verify`: the decision, exit 0 when the gateway would let the request through, 1 when it would deny it. */
async function verify(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(
    args,
    USAGES.verify,
    { consumers: { type: 'string' }, jwks: { type: 'string' }, set: { type: 'strings' }, json: { type: 'boolean' }, njs: { type: 'string' } },
    { positionals: true, help: true },
  );
  if (positionals.length !== 1) usageError(USAGES.verify, 'verify takes one token');
  const answer = await verifyToken({
    token: positionals[0],
    consumers: values.consumers,
    jwks: values.jwks,
    sets: values.set ?? [],
    capabilities: capabilitiesFor(values.njs),
    now: Math.floor(Date.now() / 1000),
  });
  if (isProblem(answer)) usageError(USAGES.verify, describeProblem(answer));
  process.stdout.write(values.json ? JSON.stringify(answer) + '\n' : verifyText(answer));
  if (!answer.allow) process.exitCode = 1;
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'check') check(rest);
else if (command === 'rate-limits') rateLimits(rest);
else if (command === 'index') index(rest);
else if (command === 'jwks') void jwks(rest);
else if (command === 'consumer') consumer(rest);
else if (command === 'decode') decode(rest);
else if (command === 'keygen') keygen(rest);
else if (command === 'sign') void sign(rest);
else if (command === 'verify') void verify(rest);
else usageError(USAGE);
