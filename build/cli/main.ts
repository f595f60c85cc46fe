/**
 * jwt-gateway: the command line next to the njs bundle.
 *   jwt-gateway rate-limits CONSUMERS.json [--out DIR]
 *     writes DIR/jwt-rate-limit-zones.conf (http level) and
 *     DIR/jwt-rate-limits.conf (location level) from the consumers' `limit`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rateLimitConfig } from './rate-limits';

const USAGE = 'usage: jwt-gateway rate-limits CONSUMERS.json [--out DIR]';

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

const [command, ...rest] = process.argv.slice(2);
if (command === 'rate-limits') rateLimits(rest);
else fail(USAGE);
