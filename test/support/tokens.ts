/**
 * The one token minter of the tests and the tools (bench, soak, fuzz): a
 * compact JWS from a header and a payload (objects, JSON-encoded, or ready
 * segments), signed with node:crypto, never with the code under test. Any
 * header is written as given (crit, jwk, odd alg names): `alg` only picks
 * how to sign, bypassing the checks a JOSE library would make.
 */
import { constants, createHmac, KeyObject, sign } from 'node:crypto';

/** A private key, or an HMAC secret (bytes, or text taken as its UTF-8). */
export type SigningKey = KeyObject | Uint8Array | string;

export function b64u(data: Uint8Array | string): string {
  return Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

export function b64uJson(value: unknown): string {
  return b64u(JSON.stringify(value));
}

/** A ready segment as it is; anything else JSON-encoded. */
function segmentOf(part: object | string): string {
  return typeof part === 'string' ? part : b64uJson(part);
}

/** A compact JWS from raw parts: header and payload as objects (JSON-encoded) or as ready segments. */
export function compact(header: object | string, payload: object | string, signature: Uint8Array | string): string {
  return segmentOf(header) + '.' + segmentOf(payload) + '.' + (typeof signature === 'string' ? signature : b64u(signature));
}

/** The signature of `input` for `alg` (HS*, RS*, PS*, ES* in IEEE P1363 form, EdDSA). */
export function signatureOf(alg: string, key: SigningKey, input: string | Uint8Array): Buffer {
  const data = typeof input === 'string' ? Buffer.from(input) : input;
  const bits = alg.slice(2);
  if (alg.startsWith('HS'))
    return createHmac('sha' + bits, typeof key === 'string' ? Buffer.from(key) : (key as Uint8Array))
      .update(data)
      .digest();
  if (alg.startsWith('RS')) return sign('sha' + bits, data, key as KeyObject);
  if (alg.startsWith('PS')) return sign('sha' + bits, data, { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 });
  if (alg.startsWith('ES')) return sign('sha' + bits, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' });
  if (alg === 'EdDSA') return sign(null, data, key as KeyObject);
  throw new Error('signRaw: unknown alg ' + alg);
}

/** Header and payload (objects or ready segments) signed for `alg` with `key`. */
export function signRaw(alg: string, key: SigningKey, header: object | string, payload: object | string): string {
  const input = segmentOf(header) + '.' + segmentOf(payload);
  return input + '.' + b64u(signatureOf(alg, key, input));
}

/** A JWT: `{alg, typ: 'JWT', ...header}` over the claims. */
export function mintJwt(alg: string, key: SigningKey, claims: object, header: object = {}): string {
  return signRaw(alg, key, { alg, typ: 'JWT', ...header }, claims);
}

export function segments(token: string): [string, string, string] {
  const parts = token.split('.');
  if (parts.length !== 3) throw new Error('test token does not have 3 segments');
  return [parts[0], parts[1], parts[2]];
}

/** ECDSA r || s as ASN.1 DER, the encoding JWS forbids (RFC 7518 3.4). */
export function derSignature(raw: Uint8Array): Buffer {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let body = Buffer.from(bytes.subarray(i));
    if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const half = raw.length / 2;
  const sequence = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30, sequence.length]), sequence]);
}
