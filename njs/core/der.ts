/**
 * Just enough DER to turn public keys into SubjectPublicKeyInfo, the one
 * format WebCrypto on njs 0.7.9 imports for RSA and EC (no JWK import before
 * 0.7.10), and to tell what kind of key an SPKI holds.
 */
import { decodeBase64 } from './base64url';
import { KeyType } from './algorithms';

export interface PublicKeyInfo {
  kty: KeyType;
  crv?: string;
  /** RSA modulus size. */
  bits?: number;
  /** RSA public exponent below 3 or even: with e = 1 anyone can forge signatures. */
  weakExponent?: boolean;
  spki: Uint8Array;
}

const OID_RSA = '2a864886f70d010101';
const OID_EC = '2a8648ce3d0201';
const OID_ED25519 = '2b6570';
/** Curve OIDs and names, in pairs (a function, not a module-level table: see algorithms.ts). */
function curveOids(): string[] {
  return ['2a8648ce3d030107', 'P-256', '2b81040022', 'P-384', '2b81040023', 'P-521'];
}

function curveOfOid(oid: string): string | undefined {
  const pairs = curveOids();
  const at = pairs.indexOf(oid);
  return at >= 0 && at % 2 === 0 ? pairs[at + 1] : undefined;
}

/** Buffer's native hex codec: keys are prepared on every request, and a loop over bytes is dear in njs (README, "Measured costs"). */
function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function fromHex(text: string): Uint8Array {
  return Buffer.from(text, 'hex');
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (let i = 0; i < parts.length; i++) length += parts[i].length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    out.set(parts[i], offset);
    offset += parts[i].length;
  }
  return out;
}

function encode(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat([new Uint8Array(header), content]);
}

function unsignedInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return encode(0x02, trimmed[0] & 0x80 ? concat([new Uint8Array([0]), trimmed]) : trimmed);
}

function spki(algorithmIdentifier: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return encode(0x30, concat([encode(0x30, algorithmIdentifier), encode(0x03, concat([new Uint8Array([0]), publicKey]))]));
}

export function rsaSpki(modulus: Uint8Array, exponent: Uint8Array): Uint8Array {
  const algorithm = concat([encode(0x06, fromHex(OID_RSA)), new Uint8Array([0x05, 0x00])]);
  return spki(algorithm, encode(0x30, concat([unsignedInteger(modulus), unsignedInteger(exponent)])));
}

export function ecSpki(crv: string, x: Uint8Array, y: Uint8Array): Uint8Array | null {
  const pairs = curveOids();
  const at = pairs.indexOf(crv);
  if (at < 1 || at % 2 !== 1) return null;
  const algorithm = concat([encode(0x06, fromHex(OID_EC)), encode(0x06, fromHex(pairs[at - 1]))]);
  return spki(algorithm, concat([new Uint8Array([0x04]), x, y]));
}

export function ed25519Spki(x: Uint8Array): Uint8Array {
  return spki(encode(0x06, fromHex(OID_ED25519)), x);
}

interface Element {
  tag: number;
  start: number;
  end: number;
}

function read(bytes: Uint8Array, offset: number, limit: number): Element | null {
  if (offset + 2 > limit) return null;
  const tag = bytes[offset];
  let length = bytes[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3 || start + count > limit) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i];
    start += count;
  }
  if (start + length > limit) return null;
  return { tag, start, end: start + length };
}

function children(bytes: Uint8Array, parent: Element): Element[] | null {
  const out: Element[] = [];
  let offset = parent.start;
  while (offset < parent.end) {
    const child = read(bytes, offset, parent.end);
    if (!child) return null;
    out.push(child);
    offset = child.end;
  }
  return out;
}

function bitLength(integer: Uint8Array): number {
  let start = 0;
  while (start < integer.length && integer[start] === 0) start++;
  if (start === integer.length) return 0;
  return (integer.length - start - 1) * 8 + integer[start].toString(2).length;
}

const NOT_SPKI = 'not a DER SubjectPublicKeyInfo';

function ecShape(der: Uint8Array, prefix: string, crv: string): PublicKeyInfo | null {
  return hex(der.subarray(0, prefix.length / 2)) === prefix ? { kty: 'EC', crv, spki: der } : null;
}

/** `prefix` runs up to the modulus's leading zero byte; the modulus's top bit must be set and the exponent 65537. */
function rsaShape(der: Uint8Array, prefix: string, bits: number): PublicKeyInfo | null {
  const n = der.length;
  const exponent65537 = der[n - 5] === 2 && der[n - 4] === 3 && der[n - 3] === 1 && der[n - 2] === 0 && der[n - 1] === 1;
  return exponent65537 && der[33] >= 0x80 && hex(der.subarray(0, 33)) === prefix ? { kty: 'RSA', bits, weakExponent: false, spki: der } : null;
}

/**
 * SPKIs as nearly every key is encoded (EC P-256/384/521; RSA 2048/3072/4096
 * with e = 65537), recognized by length and the bytes before the key itself.
 * A match is what the full walk below answers, at a fraction of its cost:
 * keys are prepared on every request, and each DER read is dear in njs
 * (README, "Measured costs").
 */
function commonShape(der: Uint8Array): PublicKeyInfo | null {
  switch (der.length) {
    case 91:
      return ecShape(der, '3059301306072a8648ce3d020106082a8648ce3d030107034200', 'P-256');
    case 120:
      return ecShape(der, '3076301006072a8648ce3d020106052b81040022036200', 'P-384');
    case 158:
      return ecShape(der, '30819b301006072a8648ce3d020106052b8104002303818600', 'P-521');
    case 294:
      return rsaShape(der, '30820122300d06092a864886f70d01010105000382010f003082010a0282010100', 2048);
    case 422:
      return rsaShape(der, '308201a2300d06092a864886f70d01010105000382018f003082018a0282018100', 3072);
    case 550:
      return rsaShape(der, '30820222300d06092a864886f70d01010105000382020f003082020a0282020100', 4096);
  }
  return null;
}

/**
 * The modulus and exponent of an RSA SPKI, big-endian without leading zeros
 * (as a JWK's `n` and `e`), or null. For engines that import JWKs: RSA from
 * `n` and `e` took njs 0.8/1.0 about 5 us, from an SPKI about 30 us.
 */
export function rsaPublicNumbers(der: Uint8Array): { n: Uint8Array; e: Uint8Array } | null {
  const outer = read(der, 0, der.length);
  const algorithmId = outer && outer.tag === 0x30 ? read(der, outer.start, outer.end) : null;
  const publicKey = algorithmId ? read(der, algorithmId.end, outer!.end) : null;
  if (!publicKey || publicKey.tag !== 0x03 || publicKey.end - publicKey.start < 2) return null;
  const keyBits = der.subarray(publicKey.start + 1, publicKey.end);
  const key = read(keyBits, 0, keyBits.length);
  const modulus = key && key.tag === 0x30 ? read(keyBits, key.start, key.end) : null;
  const exponent = key && modulus ? read(keyBits, modulus.end, key.end) : null;
  if (!modulus || !exponent || modulus.tag !== 0x02 || exponent.tag !== 0x02) return null;
  return { n: unpadded(keyBits.subarray(modulus.start, modulus.end)), e: unpadded(keyBits.subarray(exponent.start, exponent.end)) };
}

function unpadded(integer: Uint8Array): Uint8Array {
  let start = 0;
  while (start < integer.length - 1 && integer[start] === 0) start++;
  return integer.subarray(start);
}

/** What an SPKI holds, or a string saying why it is not a usable public key. Fixed-shape parts are read in place, not listed: this runs per request. */
export function describeSpki(der: Uint8Array): PublicKeyInfo | string {
  const common = commonShape(der);
  if (common) return common;
  const outer = read(der, 0, der.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) return NOT_SPKI;
  const algorithmId = read(der, outer.start, outer.end);
  const publicKey = algorithmId && read(der, algorithmId.end, outer.end);
  if (!algorithmId || !publicKey || algorithmId.tag !== 0x30 || publicKey.tag !== 0x03 || publicKey.end !== outer.end) return NOT_SPKI;
  const algorithm = children(der, algorithmId);
  if (!algorithm || algorithm.length < 1 || algorithm[0].tag !== 0x06) return NOT_SPKI;
  const oid = hex(der.subarray(algorithm[0].start, algorithm[0].end));
  const keyBits = der.subarray(publicKey.start + 1, publicKey.end);
  if (oid === OID_RSA) {
    const key = read(keyBits, 0, keyBits.length);
    const modulus = key && key.tag === 0x30 ? read(keyBits, key.start, key.end) : null;
    const exponent = key && modulus ? read(keyBits, modulus.end, key.end) : null;
    if (!key || !modulus || !exponent || exponent.end !== key.end || modulus.tag !== 0x02 || exponent.tag !== 0x02) return 'malformed RSA public key';
    const exponentBytes = keyBits.subarray(exponent.start, exponent.end);
    const weakExponent = bitLength(exponentBytes) < 2 || (exponentBytes[exponentBytes.length - 1] & 1) === 0;
    return { kty: 'RSA', bits: bitLength(keyBits.subarray(modulus.start, modulus.end)), weakExponent, spki: der };
  }
  if (oid === OID_EC) {
    const curve = algorithm.length === 2 && algorithm[1].tag === 0x06 ? curveOfOid(hex(der.subarray(algorithm[1].start, algorithm[1].end))) : undefined;
    if (!curve) return 'EC key on an unsupported curve (P-256, P-384 and P-521 are supported)';
    return { kty: 'EC', crv: curve, spki: der };
  }
  if (oid === OID_ED25519) return { kty: 'OKP', crv: 'Ed25519', spki: der };
  return 'unsupported public key algorithm (OID ' + oid + ')';
}

/** A PEM public key (SPKI, or PKCS#1 "RSA PUBLIC KEY") as SPKI DER. */
export function pemToSpki(pem: string): PublicKeyInfo | string {
  const match = /-----BEGIN ([A-Z ]+)-----([^-]*)-----END \1-----/.exec(pem);
  if (!match) return 'not a PEM public key (expected -----BEGIN PUBLIC KEY-----)';
  const body = decodeBase64(match[2]);
  if (!body) return 'PEM body is not valid base64';
  if (match[1] === 'PUBLIC KEY') return describeSpki(body);
  if (match[1] === 'RSA PUBLIC KEY') {
    const algorithm = concat([encode(0x06, fromHex(OID_RSA)), new Uint8Array([0x05, 0x00])]);
    return describeSpki(spki(algorithm, body));
  }
  if (match[1].indexOf('PRIVATE') >= 0) return 'a private key was given where a public key belongs; never configure private keys';
  return 'unsupported PEM type "' + match[1] + '" (expected PUBLIC KEY)';
}
