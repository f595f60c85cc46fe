/**
 * Core behaviour that rests on engine details Node and njs may not share:
 * regex scanning and JSON.parse (strict JSON), TextDecoder's fatal mode,
 * Buffer's base64url decoder, typed-array DER building. Unit tests prove the
 * logic under Node; these prove it under njs.
 */
import { decodeBase64url, encodeBase64url } from '../../njs/core/base64url';
import { describeSpki, ecSpki, pemToSpki, rsaSpki } from '../../njs/core/der';
import { claimText } from '../../njs/core/claim-path';
import { isProblem, quote } from '../../njs/core/errors';
import { keyFromJwk, MIN_RSA_BITS } from '../../njs/core/keys/prepare';

import { JsonObject, MAX_JSON_DEPTH, parseJsonObject } from '../../njs/core/strict-json';
import { parseToken } from '../../njs/core/token';
import { bytesEqual, concatBytes, utf8 } from './bytes';
import { check, Group, group, report } from './harness';

function rejectsJson(g: Group, what: string, text: string | Uint8Array, expected: string): void {
  const result = parseJsonObject(typeof text === 'string' ? utf8(text) : text);
  check(g, what + ' is rejected (' + expected + ')', typeof result === 'string' && result.indexOf(expected) >= 0, 'got ' + JSON.stringify(result));
}

function acceptsJson(g: Group, what: string, text: string): JsonObject | null {
  const result = parseJsonObject(utf8(text));
  check(g, what + ' is accepted', typeof result !== 'string', 'got ' + JSON.stringify(result));
  return typeof result === 'string' ? null : result;
}

function nested(depth: number): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    open += '{"a":';
    close += '}';
  }
  return open + '1' + close;
}

/** The deepest nesting this engine's JSON.parse accepts (njs has a fixed limit, Node practically none). */
function engineJsonDepth(): number {
  for (let depth = 1; depth <= 4 * MAX_JSON_DEPTH; depth++) {
    try {
      JSON.parse(nested(depth));
    } catch (e) {
      return depth - 1;
    }
  }
  return 4 * MAX_JSON_DEPTH;
}

function strictJson(): void {
  const g = group('engine strict JSON');
  rejectsJson(g, '{"a":1,"a":2}', '{"a":1,"a":2}', 'duplicate member name');
  // The escaped spelling of the same name must be caught too: JSON.parse would let the last one win.
  rejectsJson(g, '{"a":1,"\\u0061":2}', '{"a":1,"\\u0061":2}', 'duplicate member name');
  rejectsJson(g, 'escaped quote in a duplicate name', '{"a\\"":1,"a\\u0022":2}', 'duplicate member name');
  rejectsJson(g, 'duplicate in a nested object', '{"x":{"a":1,"a":2}}', 'duplicate member name');
  rejectsJson(g, 'duplicate __proto__', '{"__proto__":1,"__proto__":2}', 'duplicate member name');
  rejectsJson(g, 'invalid UTF-8', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'not valid UTF-8');
  rejectsJson(g, 'nesting deeper than MAX_JSON_DEPTH', nested(MAX_JSON_DEPTH + 1), 'nested deeper than');
  rejectsJson(g, 'a JSON array', '[{"a":1}]', 'not a JSON object');
  rejectsJson(g, 'broken JSON', '{"a":1,}', 'not valid JSON');
  acceptsJson(g, 'the same name in sibling objects', '{"x":{"a":1},"y":{"a":2},"a":3}');
  // Canonical text with more brackets than MAX_JSON_DEPTH (a `jwt-gateway index` file): its depth is read from the parsed value.
  let entries = '';
  for (let i = 0; i < 40; i++) entries += (i ? ',' : '') + '{"username":"u' + i + '","credentials":[{"key":"k' + i + '"}]}';
  acceptsJson(g, 'a canonical map with many brackets and a final newline', '{"consumers":[' + entries + ']}\n');
  rejectsJson(
    g,
    'a canonical map with one entry nested too deep',
    '{"consumers":[' + entries + ',' + nested(MAX_JSON_DEPTH - 1) + ']}\n',
    'nested deeper than',
  );
  rejectsJson(g, 'a duplicate name before a final newline', '{"consumers":[' + entries + '],"consumers":[]}\n', 'duplicate member name');
  // Every depth the scanner lets through must be one JSON.parse can read, or the depth error turns into "not valid JSON".
  const atLimit = parseJsonObject(utf8(nested(MAX_JSON_DEPTH)));
  check(
    g,
    'nesting at MAX_JSON_DEPTH (' + MAX_JSON_DEPTH + ') is accepted',
    typeof atLimit !== 'string',
    'got ' + JSON.stringify(atLimit) + '; JSON.parse of this engine stops at depth ' + engineJsonDepth(),
  );
  const proto = acceptsJson(g, 'Object.prototype names as members', '{"__proto__":1,"constructor":2,"hasOwnProperty":3}');
  if (proto) check(g, 'hasOwnProperty member keeps its value', proto['hasOwnProperty'] === 3, JSON.stringify(proto));
  const unicode = acceptsJson(g, 'multi-byte UTF-8', '{"n":"\u00e9\ud83d\ude00"}');
  if (unicode) check(g, 'multi-byte UTF-8 decodes', unicode.n === '\u00e9\ud83d\ude00', JSON.stringify(unicode.n));
  // The same rule at the token level: a header naming alg twice is malformed, not "last one wins".
  const token = encodeBase64url(utf8('{"alg":"HS256","alg":"none"}')) + '.' + encodeBase64url(utf8('{}')) + '.c2ln';
  const parsed = parseToken(token, 16384);
  check(g, 'token header with two alg members is TOKEN_MALFORMED', isProblem(parsed) && parsed.code === 'TOKEN_MALFORMED', JSON.stringify(parsed));
  nonAsciiScans(g);
  report(g);
}

/**
 * A global regex exec() from a lastIndex inside non-ASCII text hangs njs
 * 0.7.9 (the worker grew by 400 MB/s) or fails in PCRE: the fuzz found it with
 * this payload (a raw control character and CJK text, 96 characters). The
 * structure scan, quote() and claimText() must come back, with the right
 * answer, for such text of every length around the 32-character boundary.
 */
function nonAsciiScans(g: Group): void {
  const fuzzPayload = '{"\u38d7e\u0018\u5617\u4281$\u3f7er\uc13f":"x","sub":"fuzzer","jti":"fuzz-1","key":"hs-key","iat":1729132271,"exp":4102444800}';
  rejectsJson(g, 'the fuzz payload (raw control character in CJK text)', fuzzPayload, 'not valid JSON');
  for (let length = 28; length <= 100; length++) {
    let name = '';
    while (name.length < length) name += '\u4bea';
    rejectsJson(g, 'duplicate non-ASCII name of ' + length + ' characters', '{"' + name + '":"x", "' + name + '":"y"}', 'duplicate member name');
    const quoted = quote(name + '\u0018');
    check(g, 'quote() of ' + length + ' non-ASCII characters is printable ASCII', /^"[\x20-\x7e]*"$/.test(quoted) && quoted.length <= 69, quoted);
    check(g, 'claimText() of ' + length + ' non-ASCII characters drops the control character', claimText(name + '\u0018a') === name + ' a', '');
  }
}

function decodesTo(g: Group, text: string, expected: number[]): void {
  const bytes = decodeBase64url(text);
  check(
    g,
    JSON.stringify(text) + ' decodes to ' + JSON.stringify(expected),
    bytes !== null && bytesEqual(bytes, new Uint8Array(expected)),
    'got ' + (bytes && JSON.stringify(Array.prototype.slice.call(bytes))),
  );
}

function rejectsBase64url(g: Group, text: string, why: string): void {
  check(g, JSON.stringify(text) + ' is rejected (' + why + ')', decodeBase64url(text) === null);
}

function base64url(): void {
  const g = group('engine base64url');
  decodesTo(g, '', []);
  decodesTo(g, 'YQ', [0x61]);
  decodesTo(g, 'YWI', [0x61, 0x62]);
  decodesTo(g, 'YWJj', [0x61, 0x62, 0x63]);
  decodesTo(g, '-_8', [0xfb, 0xff]);
  rejectsBase64url(g, 'Y+', "'+' is base64, not base64url");
  rejectsBase64url(g, 'Y/', "'/' is base64, not base64url");
  rejectsBase64url(g, 'YQ==', "'=' padding");
  rejectsBase64url(g, 'YWJjZ', 'length % 4 == 1');
  rejectsBase64url(g, 'YR', 'non-zero trailing bits (non-canonical spelling of "a")');
  rejectsBase64url(g, 'YWJ', 'non-zero trailing bits (non-canonical spelling of "ab")');
  // Buffer.from(s, 'base64url') would silently stop at the dot and return "abc".
  rejectsBase64url(g, 'YWJj.ZGVm', 'foreign character');
  rejectsBase64url(g, 'YWJj\n', 'whitespace');
  const all = new Uint8Array(256);
  for (let i = 0; i < all.length; i++) all[i] = i;
  for (let length = 0; length <= 4; length++) {
    const bytes = all.subarray(256 - length - 3, 256);
    const back = decodeBase64url(encodeBase64url(bytes));
    check(g, 'round trip of ' + bytes.length + ' bytes', back !== null && bytesEqual(back, bytes));
  }
  report(g);
}

/** RFC 7515 A.2 public key (n, e) and its SPKI as PEM, to check the DER the core builds against an independent encoding. */
const A2_N =
  'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ';
const A2_PEM =
  '-----BEGIN PUBLIC KEY-----\n' +
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAofgWCuLjybRlzo0tZWJj\n' +
  'NiuSfb4p4fAkd/wWJcyQoTbji9k0l8W26mPddxHmfHQp+Vaw+4qPCJrcS2mJPMEz\n' +
  'P1Pt0Bm4d4QlL+yRT+SFd2lZS+pCgNMsD1W/YpRPEwOWvG6b32690r2jZ47soMZo\n' +
  '9wGzjb/7OMg0LOL+bSf63kpaSHSXndS5z5rexMdbBYUsLA9e+KXBdQOS+UTo7WTB\n' +
  'EMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6/I5IhlJH7aGhyxX\n' +
  'FvUK+DWNmoudF8NAco9/h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXp\n' +
  'oQIDAQAB\n' +
  '-----END PUBLIC KEY-----\n';
/** RFC 7515 A.3 P-256 public key. */
const A3_X = 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU';
const A3_Y = 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0';
const A3_PEM =
  '-----BEGIN PUBLIC KEY-----\n' +
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7\n' +
  '6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==\n' +
  '-----END PUBLIC KEY-----\n';

function bytesOf(text: string): Uint8Array {
  return decodeBase64url(text) as Uint8Array;
}

function der(): void {
  const g = group('engine DER');
  const rsa = rsaSpki(bytesOf(A2_N), bytesOf('AQAB'));
  const info = describeSpki(rsa);
  check(g, 'describeSpki(rsaSpki(A.2 key)) is RSA 2048', typeof info !== 'string' && info.kty === 'RSA' && info.bits === 2048, JSON.stringify(info));
  const pem = pemToSpki(A2_PEM);
  check(g, 'rsaSpki output equals the A.2 PEM DER', typeof pem !== 'string' && bytesEqual(pem.spki, rsa));
  const padded = rsaSpki(concatBytes(new Uint8Array([0, 0]), bytesOf(A2_N)), bytesOf('AQAB'));
  check(g, 'leading zero bytes of the modulus are not encoded', bytesEqual(padded, rsa));

  const ec = ecSpki('P-256', bytesOf(A3_X), bytesOf(A3_Y));
  const ecInfo = ec ? describeSpki(ec) : 'ecSpki returned null';
  check(g, 'describeSpki(ecSpki(A.3 key)) is EC P-256', typeof ecInfo !== 'string' && ecInfo.kty === 'EC' && ecInfo.crv === 'P-256', JSON.stringify(ecInfo));
  const ecPem = pemToSpki(A3_PEM);
  check(g, 'ecSpki output equals the A.3 PEM DER', ec !== null && typeof ecPem !== 'string' && bytesEqual(ecPem.spki, ec));

  // Policy: a 1024-bit modulus is refused with the documented reason (synthetic key: only its size matters).
  const small = new Uint8Array(128);
  small[0] = 0xc0;
  small[127] = 0x01;
  const refused = keyFromJwk({ kty: 'RSA', n: encodeBase64url(small), e: 'AQAB' }, { ed25519: false });
  check(
    g,
    'RSA 1024 JWK refused (MIN_RSA_BITS ' + MIN_RSA_BITS + ')',
    isProblem(refused) && refused.message.indexOf('1024 bits') >= 0,
    JSON.stringify(refused),
  );

  // Malformed DER is described, never thrown.
  check(g, 'truncated SPKI is described as not SPKI', typeof describeSpki(rsa.subarray(0, rsa.length - 1)) === 'string');
  check(g, 'empty input is described as not SPKI', typeof describeSpki(new Uint8Array(0)) === 'string');
  check(g, 'length bytes beyond the input are refused', typeof describeSpki(new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])) === 'string');
  report(g);
}

export function engineChecks(): void {
  strictJson();
  base64url();
  der();
}
