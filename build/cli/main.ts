/**
 * jwt-gateway: the command line next to the njs bundle.
 *   jwt-gateway check [--njs VERSION] FILE...
 *     validates consumer maps, JWK Sets and revocation lists; exit 1 on problems.
 *   jwt-gateway rate-limits CONSUMERS.json [--out DIR]
 *     writes DIR/jwt-rate-limit-zones.conf (http level) and
 *     DIR/jwt-rate-limits.conf (location level) from the consumers' `limit`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkDocument } from './check';
import { rateLimitConfig } from './rate-limits';

const USAGE = 'usage: jwt-gateway check [--njs VERSION] FILE...\n       jwt-gateway rate-limits CONSUMERS.json [--out DIR]';

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

function rateLimits(args: string[]): void {
  const files: string[] = [];
  let outDir: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') outDir = args[++i] || fail(USAGE);
    else files.push(args[i]);
  }
  if (files.length !== 1) fail(USAGE);
  const file = files[0];
  const config = rateLimitConfig(readJson(file), file);
  const dir = outDir || path.dirname(file);
  writeFileSync(path.join(dir, 'jwt-rate-limit-zones.conf'), config.zones);
  writeFileSync(path.join(dir, 'jwt-rate-limits.conf'), config.limits);
  for (const problem of config.problems) process.stderr.write('warning: ' + problem + '\n');
  process.stdout.write('wrote ' + path.join(dir, 'jwt-rate-limit-zones.conf') + ' (include at http level) and ' + path.join(dir, 'jwt-rate-limits.conf') + ' (include in the protected location)\n');
}

/** The njs version the files are meant for: --njs, else the installed njs CLI's, else the newest. */
function targetNjsVersion(flag: string | undefined): string {
  if (flag) return flag;
  const installed = spawnSync('njs', ['-v'], { encoding: 'utf8' });
  return installed.status === 0 ? installed.stdout.trim() : '9.9.9';
}

function check(args: string[]): void {
  const files: string[] = [];
  let njsVersion: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--njs') njsVersion = args[++i] || fail(USAGE);
    else files.push(args[i]);
  }
  if (files.length === 0) fail(USAGE);
  const [major, minor, patch] = targetNjsVersion(njsVersion).split('.').map(Number);
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
    const found = checkDocument(file, bytes, capabilities);
    for (const problem of found) process.stderr.write(problem + '\n');
    problems += found.length;
    if (found.length === 0) process.stdout.write(file + ': ok\n');
  }
  if (problems) {
    process.stderr.write(problems + ' problem(s) found\n');
    process.exitCode = 1;
  }
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'check') check(rest);
else if (command === 'rate-limits') rateLimits(rest);
else fail(USAGE);
