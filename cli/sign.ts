/**
 * `jwt-gateway sign --consumers FILE --consumer NAME [--credential ID]
 * [--key PEM] [--exp 1h] [--nbf 0s] [--claim name=value ...] [--kid KID]`:
 * a token for a consumer of a map, signed with jose. The credential names
 * the algorithm; an HMAC secret comes from the map, a private key from
 * `--key` (the map holds only the public one). The credential's `key` goes
 * in the `key` claim (`--key-claim` for $auth_jwt_key_claim_name), so the
 * gateway finds it.
 */
import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import { checkDocument } from './check';
import { configProblem, isProblem, Problem } from '../njs/core/errors';
import { DEFAULT_ALGORITHM } from '../njs/core/keys/consumers';
import { JsonObject, parseJsonObject } from '../njs/core/strict-json';

export interface SignOptions {
  consumers: string;
  consumer: string;
  credential?: string;
  /** A PKCS#8 PEM file, for an RSA, EC or Ed25519 credential. */
  key?: string;
  exp: string;
  nbf?: string;
  claims: string[];
  kid?: string;
  keyClaim: string;
  now: number;
}

const UNITS: { [unit: string]: number } = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in `1h`, `30m`, `90s`, `2d` or a plain number of seconds; NaN otherwise. */
function durationSeconds(text: string): number {
  const found = /^([0-9]{1,9})([smhd]?)$/.exec(text);
  return found ? Number(found[1]) * UNITS[found[2] || 's'] : NaN;
}

/** `name=value`: the value as JSON when it is JSON (`n=3`, `roles=["a"]`), else as text. */
function claimOf(text: string): [string, unknown] | null {
  const at = text.indexOf('=');
  if (at <= 0) return null;
  const raw = text.slice(at + 1);
  try {
    return [text.slice(0, at), JSON.parse(raw)];
  } catch (e) {
    return [text.slice(0, at), raw];
  }
}

/** The credential to sign with, when the gateway would use it too (`check`'s verdict on it, else). */
function credentialOf(options: SignOptions): JsonObject | Problem {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(options.consumers);
  } catch (e) {
    return configProblem(options.consumers, undefined, undefined, 'cannot be read: ' + (e as Error).message);
  }
  const map = parseJsonObject(bytes);
  if (typeof map === 'string') return configProblem(options.consumers, undefined, undefined, map);
  const consumers = Array.isArray(map.consumers) ? (map.consumers as JsonObject[]) : [];
  const consumer = consumers.find((entry) => entry && entry.username === options.consumer);
  if (!consumer) return configProblem(options.consumers, 'consumer ' + JSON.stringify(options.consumer), undefined, 'not in the map');
  const credentials = Array.isArray(consumer.credentials) ? (consumer.credentials as JsonObject[]) : [];
  const wanted = options.credential;
  const credential = credentials.find((entry) => entry && (wanted === undefined || entry.id === wanted || entry.key === wanted));
  if (!credential) {
    return configProblem(
      options.consumers,
      'consumer ' + JSON.stringify(options.consumer),
      'credentials',
      wanted === undefined ? 'none' : 'none with id or key ' + JSON.stringify(wanted),
    );
  }
  const entry =
    'consumers[' + consumers.indexOf(consumer) + '] (' + JSON.stringify(options.consumer) + ').credentials[' + credentials.indexOf(credential) + ']';
  const refused = checkDocument(options.consumers, bytes, { ed25519: true, env: (name) => process.env[name] }).find((problem) =>
    (problem.entry ?? '').startsWith(entry),
  );
  return refused ? configProblem(refused.file, refused.entry, refused.field, refused.message + ' (the gateway skips this credential)') : credential;
}

/** The signed token, or what stops it (the map, the consumer, the credential, the key, an option). */
export async function signToken(options: SignOptions): Promise<string | Problem> {
  const credential = credentialOf(options);
  if (isProblem(credential)) return credential;
  const alg = typeof credential.algorithm === 'string' ? credential.algorithm : DEFAULT_ALGORITHM;
  const exp = durationSeconds(options.exp);
  if (isNaN(exp)) return configProblem(undefined, '--exp', undefined, 'expected a duration like 1h, 30m, 90s, 2d');
  const payload: { [name: string]: unknown } = { [options.keyClaim]: credential.key, exp: options.now + exp, iat: options.now };
  if (options.nbf !== undefined) {
    const nbf = durationSeconds(options.nbf);
    if (isNaN(nbf)) return configProblem(undefined, '--nbf', undefined, 'expected a duration like 0s, 5m');
    payload.nbf = options.now + nbf;
  }
  for (const text of options.claims) {
    const claim = claimOf(text);
    if (!claim) return configProblem(undefined, '--claim', undefined, 'expected name=value, got ' + JSON.stringify(text));
    payload[claim[0]] = claim[1];
  }
  let key: Uint8Array | Awaited<ReturnType<typeof importPKCS8>>;
  if (alg.startsWith('HS')) {
    if (typeof credential.secret !== 'string') return configProblem(options.consumers, 'credential ' + JSON.stringify(credential.key), 'secret', 'missing');
    key = credential.base64_secret === true ? Buffer.from(credential.secret, 'base64') : new TextEncoder().encode(credential.secret);
  } else {
    if (!options.key)
      return configProblem(undefined, '--key', undefined, 'the credential is ' + alg + ': give its private key (PKCS#8 PEM), which the map does not hold');
    try {
      key = await importPKCS8(readFileSync(options.key, 'utf8'), alg);
    } catch (e) {
      return configProblem(options.key, undefined, undefined, 'not a ' + alg + ' private key (PKCS#8 PEM): ' + (e as Error).message);
    }
  }
  const header: { alg: string; typ: string; kid?: string } = { alg, typ: 'JWT' };
  if (options.kid) header.kid = options.kid;
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}
