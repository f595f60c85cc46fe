/**
 * Project Wycheproof signature and MAC vectors, run through the gateway's own
 * key preparation (keyFromJwk / describeSpki + keyFromPem / secretKey) and
 * verifySignature, inside the real engine. A verifier is right when every
 * `valid` vector verifies, every `invalid` one does not, `acceptable` ones go
 * either way, and no exception escapes.
 */
import fs from 'fs';
import { Algorithm, findAlgorithm } from '../../njs/core/algorithms';
import { describeSpki } from '../../njs/core/der';
import { keyFromJwk, keyFromPem, MIN_RSA_BITS, minimumHmacBytes, secretKey } from '../../njs/core/keys/prepare';
import { configProblem, isProblem, Problem } from '../../njs/core/errors';
import { Capabilities, VerificationKey } from '../../njs/core/keys/types';
import { verifySignature } from '../../njs/core/signature';
import { JsonObject } from '../../njs/core/strict-json';
import { bytesEqual, fromHex, pemFromDer } from './bytes';
import { check, describeError, fail, Group, group, note, pass, report, skip } from './harness';

interface VectorTest {
  tcId: number;
  comment: string;
  msg: string;
  sig?: string;
  /** HMAC files: per-test key and tag instead of a group key and sig. */
  key?: string;
  tag?: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

interface VectorGroup {
  type: string;
  sha?: string;
  keySize?: number;
  tagSize?: number;
  sLen?: number;
  mgf?: string;
  mgfSha?: string;
  publicKey?: { curve?: string; keySize?: number };
  publicKeyDer?: string;
  /** ECDSA, RSA-PSS and EdDSA files name the JWK `publicKeyJwk`, RSA PKCS#1 files `keyJwk`. */
  publicKeyJwk?: JsonObject;
  keyJwk?: JsonObject;
  tests: VectorTest[];
}

interface VectorFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: VectorGroup[];
}

/** The files of test/fixtures/wycheproof/README.md and the JWS algorithm each exercises. */
const FILES: { file: string; alg: string }[] = [
  { file: 'hmac_sha256_test.json', alg: 'HS256' },
  { file: 'hmac_sha384_test.json', alg: 'HS384' },
  { file: 'hmac_sha512_test.json', alg: 'HS512' },
  { file: 'rsa_signature_2048_sha256_test.json', alg: 'RS256' },
  { file: 'rsa_signature_2048_sha384_test.json', alg: 'RS384' },
  { file: 'rsa_signature_2048_sha512_test.json', alg: 'RS512' },
  { file: 'rsa_signature_3072_sha256_test.json', alg: 'RS256' },
  { file: 'rsa_signature_4096_sha512_test.json', alg: 'RS512' },
  { file: 'rsa_pss_2048_sha256_mgf1_32_test.json', alg: 'PS256' },
  { file: 'rsa_pss_4096_sha512_mgf1_64_test.json', alg: 'PS512' },
  { file: 'ecdsa_secp256r1_sha256_p1363_test.json', alg: 'ES256' },
  { file: 'ecdsa_secp384r1_sha384_p1363_test.json', alg: 'ES384' },
  { file: 'ecdsa_secp521r1_sha512_p1363_test.json', alg: 'ES512' },
  { file: 'ed25519_test.json', alg: 'EdDSA' },
];

/** JWS fixes the curve of each ES* algorithm (RFC 7518 3.4). */
const JWS_CURVES: { [alg: string]: string } = { ES256: 'secp256r1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** Outcome of one verification: a boolean, or what escaped instead. */
interface Outcome {
  verified?: boolean;
  error?: string;
}

/** verifySignature promises never to throw or reject; this holds it to that instead of trusting it. */
function safeVerify(algorithm: Algorithm, key: VerificationKey, message: Uint8Array, signature: Uint8Array, capabilities?: Capabilities): Promise<Outcome> {
  try {
    return Promise.resolve(verifySignature(algorithm, key, message, signature, capabilities)).then(
      (verified): Outcome => (typeof verified === 'boolean' ? { verified } : { error: 'returned ' + JSON.stringify(verified) + ', not a boolean' }),
      (e): Outcome => ({ error: 'promise rejected: ' + describeError(e) }),
    );
  } catch (e) {
    return Promise.resolve({ error: 'threw: ' + describeError(e) });
  }
}

function label(t: VectorTest): string {
  return 'tcId ' + t.tcId + ' (' + t.result + (t.comment ? ', ' + t.comment : '') + ')';
}

function judge(g: Group, t: VectorTest, outcome: Outcome): void {
  if (outcome.error !== undefined) fail(g, label(t) + ': exception escaped: ' + outcome.error);
  else if (t.result === 'valid' && outcome.verified !== true) fail(g, label(t) + ': valid vector was rejected');
  else if (t.result === 'invalid' && outcome.verified !== false) fail(g, label(t) + ': invalid vector was accepted');
  else pass(g);
}

/** Why a group is not a JWS case (so it is skipped), or '' when it is one. */
function notJws(alg: Algorithm, vg: VectorGroup): string {
  const hash = 'SHA-' + alg.name.slice(2);
  if (alg.kty === 'oct') return vg.tagSize === Number(alg.name.slice(2)) ? '' : 'HMAC tag truncated to ' + vg.tagSize + ' bits (JWS uses the full tag)';
  if (alg.kty === 'OKP') return '';
  if (vg.sha !== hash) return 'hash ' + vg.sha + ' is not the ' + hash + ' of ' + alg.name;
  if (alg.name.charAt(0) === 'P') {
    const saltBytes = Number(alg.name.slice(2)) / 8;
    if (vg.mgf !== 'MGF1' || vg.mgfSha !== hash || vg.sLen !== saltBytes) {
      return 'RSA-PSS with ' + vg.mgf + '/' + vg.mgfSha + ' and salt ' + vg.sLen + ' (' + alg.name + ' needs MGF1/' + hash + ', salt ' + saltBytes + ')';
    }
  }
  if (alg.kty === 'EC' && vg.publicKey && vg.publicKey.curve !== JWS_CURVES[alg.name]) return 'curve ' + vg.publicKey.curve + ' is not the one of ' + alg.name;
  return '';
}

/** A documented policy reason for refusing a group's key, or '' (then refusing it is a failure). */
function policyReason(vg: VectorGroup, alg: Algorithm): string {
  if (alg.kty === 'RSA' && typeof vg.keySize === 'number' && vg.keySize < MIN_RSA_BITS) return 'RSA keys under MIN_RSA_BITS=' + MIN_RSA_BITS + ' are refused';
  return '';
}

interface PreparedKey {
  key: VerificationKey | Problem;
  /** Where the key came from, for the notes. */
  from: 'jwk' | 'der';
}

/**
 * The group key as the gateway would prepare it: from the JWK when the group
 * has one (JWK Set path); otherwise from the DER SPKI, which describeSpki must
 * recognise, through keyFromPem (the consumer public_key path) so the same
 * key policy (MIN_RSA_BITS, algorithm binding) applies.
 */
function prepareGroupKey(g: Group, vg: VectorGroup, alg: Algorithm, capabilities: Capabilities): PreparedKey {
  const jwk = vg.publicKeyJwk || vg.keyJwk;
  if (jwk) return { key: keyFromJwk(jwk, capabilities), from: 'jwk' };
  if (!vg.publicKeyDer) return { key: configProblem(undefined, undefined, 'publicKeyDer', 'group has neither a JWK nor a DER key'), from: 'der' };
  const der = fromHex(vg.publicKeyDer);
  const info = describeSpki(der);
  if (typeof info === 'string') return { key: configProblem(undefined, undefined, 'publicKeyDer', 'describeSpki: ' + info), from: 'der' };
  check(g, 'describeSpki finds a ' + alg.kty + ' key', info.kty === alg.kty && info.crv === alg.crv, 'got ' + info.kty + ' ' + info.crv);
  return { key: keyFromPem(pemFromDer(der), alg.name, capabilities), from: 'der' };
}

function countResults(tests: VectorTest[], result: string): number {
  let n = 0;
  for (let i = 0; i < tests.length; i++) if (tests[i].result === result) n++;
  return n;
}

/** Tally shared by the groups of one file, for its notes. */
interface FileStats {
  notJws: { [reason: string]: number };
  fromJwk: number;
  fromDer: number;
  reencoded: number;
}

async function runKeyGroup(g: Group, vg: VectorGroup, alg: Algorithm, index: number, capabilities: Capabilities, stats: FileStats): Promise<void> {
  const prepared = prepareGroupKey(g, vg, alg, capabilities);
  const key = prepared.key;
  if (isProblem(key)) {
    const reason = policyReason(vg, alg);
    const problem = 'group ' + index + ' key refused (' + key.field + ': ' + key.message + ')';
    if (reason) {
      skip(g, vg.tests.length, problem + ' by policy: ' + reason + '; ' + countResults(vg.tests, 'valid') + ' valid vectors not run');
      return;
    }
    // A refused key rejects every token: right for invalid vectors, wrong for valid ones.
    for (let i = 0; i < vg.tests.length; i++) {
      if (vg.tests[i].result === 'valid') fail(g, label(vg.tests[i]) + ': ' + problem);
      else pass(g);
    }
    return;
  }
  if (prepared.from === 'jwk') stats.fromJwk++;
  else stats.fromDer++;
  // The SPKI the gateway builds from the JWK must be the DER Wycheproof publishes, byte for byte.
  if (prepared.from === 'jwk' && vg.publicKeyDer) {
    check(g, 'group ' + index + ': SPKI built from the JWK equals publicKeyDer', bytesEqual(key.material, fromHex(vg.publicKeyDer)));
    stats.reencoded++;
  }
  for (let i = 0; i < vg.tests.length; i++) {
    const t = vg.tests[i];
    const outcome = await safeVerify(alg, key, fromHex(t.msg), fromHex(t.sig || ''));
    judge(g, t, outcome);
  }
}

/**
 * HMAC vectors carry their own key per test; secretKey is the gateway's path
 * for shared secrets. Each runs twice: through the engine's synchronous HMAC
 * (where it has the hash) and through WebCrypto.
 */
async function runMacGroup(g: Group, vg: VectorGroup, alg: Algorithm, capabilities: Capabilities): Promise<void> {
  const minimum = minimumHmacBytes(alg.name);
  if (typeof vg.keySize === 'number' && vg.keySize < 8 * minimum) {
    // Policy, RFC 7518 3.2: a key shorter than the hash output is refused. Each key must be refused, for that reason.
    let refused = 0;
    for (let i = 0; i < vg.tests.length; i++) {
      const key = secretKey(fromHex(vg.tests[i].key || ''), alg.name, 'alg', 'k');
      check(
        g,
        label(vg.tests[i]) + ': a ' + vg.keySize + '-bit key is refused',
        isProblem(key) && key.field === 'k' && key.message.indexOf('needs at least ' + minimum) >= 0,
        isProblem(key) ? key.message : 'accepted',
      );
      if (isProblem(key)) refused++;
    }
    note(
      g,
      refused +
        ' keys of ' +
        vg.keySize +
        ' bits refused by policy (RFC 7518 3.2: at least ' +
        8 * minimum +
        ' for ' +
        alg.name +
        '); their ' +
        countResults(vg.tests, 'valid') +
        ' valid vectors not run',
    );
    return;
  }
  for (let i = 0; i < vg.tests.length; i++) {
    const t = vg.tests[i];
    const key = secretKey(fromHex(t.key || ''), alg.name, 'alg', 'k');
    if (isProblem(key)) {
      if (t.result === 'valid') fail(g, label(t) + ': secret refused (' + key.field + ': ' + key.message + ')');
      else pass(g);
      continue;
    }
    const synchronous = await safeVerify(alg, key, fromHex(t.msg), fromHex(t.tag || ''), capabilities);
    judge(g, t, synchronous);
    const webCrypto = await safeVerify(alg, key, fromHex(t.msg), fromHex(t.tag || ''), { ed25519: capabilities.ed25519 });
    judge(g, t, webCrypto);
  }
}

function readVectors(path: string): VectorFile | string {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8') as unknown as string;
  } catch (e) {
    return 'cannot read ' + path + ': ' + describeError(e);
  }
  try {
    const parsed = JSON.parse(text) as VectorFile;
    return Array.isArray(parsed.testGroups) ? parsed : path + ': no testGroups';
  } catch (e) {
    return path + ': not JSON: ' + describeError(e);
  }
}

function fileNotes(g: Group, stats: FileStats, groups: number): void {
  let keys = groups + ' groups';
  if (stats.fromJwk || stats.fromDer) keys += '; keys from JWK: ' + stats.fromJwk + ', from DER: ' + stats.fromDer;
  if (stats.reencoded) keys += '; ' + stats.reencoded + ' JWK keys re-encoded and compared with publicKeyDer';
  note(g, keys);
  const reasons = Object.keys(stats.notJws);
  for (let i = 0; i < reasons.length; i++) note(g, 'skipped: ' + stats.notJws[reasons[i]] + ' tests not JWS: ' + reasons[i]);
}

async function runFile(dir: string, entry: { file: string; alg: string }, capabilities: Capabilities): Promise<void> {
  const alg = findAlgorithm(entry.alg)!;
  const g = group('wycheproof ' + entry.file.replace(/_test\.json$/, '') + ' (' + entry.alg + ')');
  const vectors = readVectors(dir + '/' + entry.file);
  if (typeof vectors === 'string') {
    fail(g, vectors);
    report(g);
    return;
  }
  if (alg.kty === 'OKP' && !capabilities.ed25519) {
    skip(g, vectors.numberOfTests, 'Ed25519 needs njs >= 0.9.7 (this is njs ' + njs.version + ')');
    report(g);
    return;
  }
  const stats: FileStats = { notJws: {}, fromJwk: 0, fromDer: 0, reencoded: 0 };
  let total = 0;
  for (let i = 0; i < vectors.testGroups.length; i++) {
    const vg = vectors.testGroups[i];
    total += vg.tests.length;
    const reason = notJws(alg, vg);
    if (reason) {
      g.skipped += vg.tests.length;
      stats.notJws[reason] = (stats.notJws[reason] || 0) + vg.tests.length;
      continue;
    }
    if (alg.kty === 'oct') await runMacGroup(g, vg, alg, capabilities);
    else await runKeyGroup(g, vg, alg, i, capabilities, stats);
  }
  // A file whose groups were all skipped, or whose count disagrees with its header, would otherwise pass silently.
  check(g, 'file holds the ' + vectors.numberOfTests + ' tests its header announces', total === vectors.numberOfTests, 'found ' + total);
  fileNotes(g, stats, vectors.testGroups.length);
  report(g);
}

/** Runs every listed file in `dir`; a missing directory is one clear failure. */
export async function wycheproofVectors(dir: string, capabilities: Capabilities): Promise<void> {
  let present = false;
  try {
    present = fs.readdirSync(dir).length > 0;
  } catch (e) {
    present = false;
  }
  if (!present) {
    const g = group('wycheproof');
    fail(g, 'vectors not found at ' + dir + ' (expected test/fixtures/wycheproof in the repository)');
    report(g);
    return;
  }
  for (let i = 0; i < FILES.length; i++) {
    const entry = FILES[i];
    try {
      await runFile(dir, entry, capabilities);
    } catch (e) {
      const g = group('wycheproof ' + entry.file);
      fail(g, 'exception in the test runner: ' + describeError(e));
      report(g);
    }
  }
}
