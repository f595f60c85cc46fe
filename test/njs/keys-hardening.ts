/**
 * The key hardening of the core inside the real engine: a kid on the deny
 * list revokes its key whatever the token's header says (F7), a UTF-8 byte
 * order mark before the JSON is refused however the engine's TextDecoder
 * treats it (F11), HMAC keys shorter than the hash are refused (F12), and
 * RFC 7520's JWK Set (an RSA and an EC key sharing a kid) verifies the RFC's
 * own signatures. Tokens and signatures come from fixtures made with
 * node:crypto or published in RFC 7520, never from the code under test.
 */
import fs from 'fs';
import { findAlgorithm } from '../../njs/core/algorithms';
import { authenticate } from '../../njs/core/authenticate';
import { decodeBase64url } from '../../njs/core/base64url';
import { jwksSource } from '../../njs/core/keys/jwks';
import { keyFromJwk, keyFromSecret } from '../../njs/core/keys/prepare';
import { isProblem } from '../../njs/core/errors';
import { Capabilities, KeyMatch } from '../../njs/core/keys/types';
import { isPromise } from '../../njs/core/maybe';
import { revokedBy } from '../../njs/core/revocation';
import { verifySignature } from '../../njs/core/signature';
import { JsonObject, parseJsonObject } from '../../njs/core/strict-json';
import { parseToken } from '../../njs/core/token';
import { check, describeError, fail, group, report } from './harness';

function readFixture(root: string, name: string): JsonObject | string {
  try {
    const parsed = JSON.parse(fs.readFileSync(root + '/test/fixtures/' + name, 'utf8') as unknown as string);
    return parsed as JsonObject;
  } catch (e) {
    return 'cannot read test/fixtures/' + name + ': ' + describeError(e);
  }
}

function bytesOf(list: number[]): Uint8Array {
  return new Uint8Array(list);
}

/** base64url of bytes, by the engine's Buffer (not the code under test). */
function segmentOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function byteOrderMark(): void {
  const g = group('engine byte order mark (F11)');
  const bom = [0xef, 0xbb, 0xbf];
  const json = [0x7b, 0x22, 0x61, 0x6c, 0x67, 0x22, 0x3a, 0x22, 0x48, 0x53, 0x32, 0x35, 0x36, 0x22, 0x7d]; // {"alg":"HS256"}
  const result = parseJsonObject(bytesOf(bom.concat(json)));
  check(
    g,
    'a document starting with a BOM is refused',
    result === 'starts with a UTF-8 byte order mark, which JSON does not allow (RFC 8259 8.1)',
    JSON.stringify(result),
  );
  const plain = parseJsonObject(bytesOf(json));
  check(g, 'the same document without it parses', typeof plain !== 'string' && plain.alg === 'HS256', JSON.stringify(plain));
  const withBom = segmentOf(bytesOf(bom.concat(json)));
  const payload = segmentOf(bytesOf([0x7b, 0x7d]));
  const inHeader = parseToken(withBom + '.' + payload + '.c2ln', 16384);
  check(
    g,
    'a BOM before the header JSON is TOKEN_MALFORMED',
    isProblem(inHeader) && inHeader.code === 'TOKEN_MALFORMED' && inHeader.detail.indexOf('header: starts with a UTF-8 byte order mark') === 0,
    JSON.stringify(inHeader),
  );
  const inPayload = parseToken(segmentOf(bytesOf(json)) + '.' + segmentOf(bytesOf(bom.concat([0x7b, 0x7d]))) + '.c2ln', 16384);
  check(
    g,
    'a BOM before the payload JSON is TOKEN_MALFORMED',
    isProblem(inPayload) && inPayload.code === 'TOKEN_MALFORMED' && inPayload.detail.indexOf('payload: starts with') === 0,
    JSON.stringify(inPayload),
  );
  report(g);
}

function shortHmacKeys(): void {
  const g = group('engine HMAC key sizes (F12)');
  const caps: Capabilities = { ed25519: false };
  const oneByte = keyFromJwk({ kty: 'oct', k: 'YQ' }, caps);
  check(
    g,
    'a 1-byte oct JWK is refused on "k"',
    isProblem(oneByte) && oneByte.field === 'k' && oneByte.message.indexOf('HMAC key has 1 byte') === 0,
    JSON.stringify(oneByte),
  );
  const base64 = keyFromSecret('AA==', true, 'HS256');
  check(g, 'base64 secret "AA==" is refused on "secret"', isProblem(base64) && base64.field === 'secret', JSON.stringify(base64));
  const text = keyFromSecret('a', false, 'HS256');
  check(
    g,
    'secret "a" is refused on "secret"',
    isProblem(text) && text.field === 'secret' && text.message.indexOf('HS256 needs at least 32') >= 0,
    JSON.stringify(text),
  );
  const seed = keyFromSecret('jack-hs256-secret-that-is-very-long', false, 'HS256');
  check(g, 'the 35-byte seed secret is fine for HS256', !isProblem(seed) && seed.algorithms.join() === 'HS256', JSON.stringify(seed));
  const sized = keyFromJwk({ kty: 'oct', k: segmentOf(new Uint8Array(48)) }, caps);
  check(g, '48 bytes without alg verify HS256 and HS384, not HS512', !isProblem(sized) && sized.algorithms.join() === 'HS256,HS384', JSON.stringify(sized));
  report(g);
}

async function kidRevocation(root: string): Promise<void> {
  const g = group('engine kid revocation (F7)');
  const fixture = readFixture(root, 'kid-revocation.json');
  if (typeof fixture === 'string') {
    fail(g, fixture);
    report(g);
    return;
  }
  const tokens = fixture.tokens as { [name: string]: string };
  const source = jwksSource(fixture.jwks, 'kid-revocation.json', { ed25519: false });
  const now = fixture.now as number;
  const policy = { maxTokenBytes: 16384, leeway: 0, requiredClaims: [], keyClaim: 'key' };
  const cases: [string, string, string | null][] = [
    ['k1WithoutKid', 'k1', 'kid "k1" (of the key that verified the token)'],
    ['k1WithKid', 'k1', 'kid "k1"'],
    ['k2WithoutKid', 'k2', null],
  ];
  for (let i = 0; i < cases.length; i++) {
    const maybe = authenticate(tokens[cases[i][0]], source, policy, now);
    const result = isPromise(maybe) ? await maybe : maybe;
    if (!result.ok) {
      fail(g, cases[i][0] + ' does not verify: ' + result.code + ' ' + result.detail);
      continue;
    }
    check(g, cases[i][0] + ' is verified by ' + cases[i][1], result.kid === cases[i][1], 'kid ' + result.kid);
    const revoked = revokedBy({ kid: ['k1'] }, result);
    check(g, cases[i][0] + (cases[i][2] ? ' is revoked by kid k1' : ' is not revoked by kid k1'), revoked === cases[i][2], JSON.stringify(revoked));
  }
  report(g);
}

async function rfc7520(root: string): Promise<void> {
  const g = group('RFC 7520 JWK Set (shared kid, RSA and EC)');
  const jwks = readFixture(root, 'rfc7520-jwks.json');
  const published = readFixture(root, 'rfc7520-signatures.json');
  if (typeof jwks === 'string' || typeof published === 'string') {
    fail(g, typeof jwks === 'string' ? jwks : (published as string));
    report(g);
    return;
  }
  const source = jwksSource(jwks, 'rfc7520-jwks.json', { ed25519: false });
  const keys = jwks.keys as JsonObject[];
  for (let i = 0; i < keys.length; i++) {
    const prepared = keyFromJwk(keys[i], { ed25519: false });
    check(g, 'keys[' + i + '] (' + keys[i].kty + ') is usable', !isProblem(prepared), JSON.stringify(prepared));
  }
  const signatures = published.signatures as { section: string; alg: string; compact: string }[];
  for (let i = 0; i < signatures.length; i++) {
    const parts = signatures[i].compact.split('.');
    const header = parseJsonObject(decodeBase64url(parts[0]) as Uint8Array);
    const algorithm = findAlgorithm(signatures[i].alg)!;
    if (typeof header === 'string') {
      fail(g, signatures[i].section + ': header ' + header);
      continue;
    }
    const found = source.lookup({ header, payload: {} }, algorithm, { keyClaim: 'key' });
    const keys = isProblem(found) ? [] : (found as KeyMatch).keys;
    const kty = algorithm.kty;
    check(
      g,
      signatures[i].section + ' (' + algorithm.name + '): the kid and alg pick exactly the ' + kty + ' key',
      keys.length === 1 && keys[0].kty === kty && keys[0].kid === 'bilbo.baggins@hobbiton.example',
      JSON.stringify(found),
    );
    if (keys.length !== 1) continue;
    const input = Buffer.from(parts[0] + '.' + parts[1]);
    const signature = decodeBase64url(parts[2]) as Uint8Array;
    const maybe = verifySignature(algorithm, keys[0], input, signature);
    const valid = isPromise(maybe) ? await maybe : maybe;
    check(g, signatures[i].section + ' (' + algorithm.name + '): the published signature verifies', valid === true);
    const flipped = new Uint8Array(signature);
    flipped[10] ^= 1;
    const maybeBad = verifySignature(algorithm, keys[0], input, flipped);
    const bad = isPromise(maybeBad) ? await maybeBad : maybeBad;
    check(g, signatures[i].section + ' (' + algorithm.name + '): a flipped bit does not', bad === false);
  }
  report(g);
}

export async function keysHardening(root: string): Promise<void> {
  byteOrderMark();
  shortHmacKeys();
  await kidRevocation(root);
  await rfc7520(root);
}
