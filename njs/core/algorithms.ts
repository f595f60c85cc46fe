/**
 * The JWS algorithms the gateway verifies, and what each demands of a key.
 * `none` and anything not listed here is never accepted.
 */
export type KeyType = 'oct' | 'RSA' | 'EC' | 'OKP';

export interface Algorithm {
  name: string;
  kty: KeyType;
  /** Curve the key must be on (EC, OKP). */
  crv?: string;
  /** WebCrypto parameters for importKey and verify. */
  importParams: object;
  verifyParams: object;
  /** Exact signature length in bytes where the algorithm fixes it (ECDSA r||s, Ed25519). */
  signatureLength?: number;
  /** HMAC hash, for a synchronous HMAC primitive. */
  hmacHash?: 'sha256' | 'sha384' | 'sha512';
}

function hmac(bits: number): Algorithm {
  return {
    name: 'HS' + bits,
    kty: 'oct',
    hmacHash: bits === 256 ? 'sha256' : bits === 384 ? 'sha384' : 'sha512',
    importParams: { name: 'HMAC', hash: 'SHA-' + bits },
    verifyParams: { name: 'HMAC' },
  };
}

/** RSASSA-PKCS1-v1_5 (RS*) and RSASSA-PSS (PS*, whose salt is as long as the hash). */
function rsa(prefix: 'RS' | 'PS', bits: number): Algorithm {
  const name = prefix === 'RS' ? 'RSASSA-PKCS1-v1_5' : 'RSA-PSS';
  return {
    name: prefix + bits,
    kty: 'RSA',
    importParams: { name, hash: 'SHA-' + bits },
    verifyParams: prefix === 'RS' ? { name } : { name, saltLength: bits / 8 },
  };
}

function ecdsa(bits: number, crv: string, coordinateBytes: number): Algorithm {
  return {
    name: 'ES' + bits,
    kty: 'EC',
    crv,
    importParams: { name: 'ECDSA', namedCurve: crv },
    verifyParams: { name: 'ECDSA', hash: 'SHA-' + bits },
    signatureLength: 2 * coordinateBytes,
  };
}

/** The supported names, in a stable order. */
export function algorithmNames(): string[] {
  return ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
}

function build(name: string): Algorithm | null {
  if (name === 'EdDSA') {
    return { name, kty: 'OKP', crv: 'Ed25519', importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' }, signatureLength: 64 };
  }
  const bits = Number(name.slice(2));
  if ((bits !== 256 && bits !== 384 && bits !== 512) || name.length !== 5) return null;
  const family = name.slice(0, 2);
  if (family === 'HS') return hmac(bits);
  if (family === 'RS' || family === 'PS') return rsa(family, bits);
  if (family === 'ES') return bits === 256 ? ecdsa(256, 'P-256', 32) : bits === 384 ? ecdsa(384, 'P-384', 48) : ecdsa(512, 'P-521', 66);
  return null;
}

/**
 * Descriptors are built on first use, not in a table: njs re-runs a module's
 * top level for every request, and ~40 objects there cost more than a verify.
 */
const built: { [name: string]: Algorithm | null } = {};

export function findAlgorithm(name: unknown): Algorithm | null {
  if (typeof name !== 'string') return null;
  const slot = '#' + name;
  if (built[slot] === undefined) built[slot] = build(name);
  return built[slot];
}

/** Names of the algorithms a key of this type (and curve) can verify. */
export function algorithmsForKey(kty: KeyType, crv?: string): string[] {
  const names: string[] = [];
  const all = algorithmNames();
  for (let i = 0; i < all.length; i++) {
    const alg = findAlgorithm(all[i])!;
    if (alg.kty === kty && (alg.crv === undefined || alg.crv === crv)) names.push(alg.name);
  }
  return names;
}
