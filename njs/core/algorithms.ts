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

function hmac(bits: 256 | 384 | 512): Algorithm {
  return {
    name: 'HS' + bits,
    kty: 'oct',
    hmacHash: bits === 256 ? 'sha256' : bits === 384 ? 'sha384' : 'sha512',
    importParams: { name: 'HMAC', hash: 'SHA-' + bits },
    verifyParams: { name: 'HMAC' },
  };
}

function rsaPkcs1(bits: number): Algorithm {
  return {
    name: 'RS' + bits,
    kty: 'RSA',
    importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-' + bits },
    verifyParams: { name: 'RSASSA-PKCS1-v1_5' },
  };
}

function rsaPss(bits: number): Algorithm {
  return {
    name: 'PS' + bits,
    kty: 'RSA',
    importParams: { name: 'RSA-PSS', hash: 'SHA-' + bits },
    verifyParams: { name: 'RSA-PSS', saltLength: bits / 8 },
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

export const ALGORITHMS: { [name: string]: Algorithm } = {
  HS256: hmac(256),
  HS384: hmac(384),
  HS512: hmac(512),
  RS256: rsaPkcs1(256),
  RS384: rsaPkcs1(384),
  RS512: rsaPkcs1(512),
  PS256: rsaPss(256),
  PS384: rsaPss(384),
  PS512: rsaPss(512),
  ES256: ecdsa(256, 'P-256', 32),
  ES384: ecdsa(384, 'P-384', 48),
  ES512: ecdsa(512, 'P-521', 66),
  EdDSA: {
    name: 'EdDSA',
    kty: 'OKP',
    crv: 'Ed25519',
    importParams: { name: 'Ed25519' },
    verifyParams: { name: 'Ed25519' },
    signatureLength: 64,
  },
};

export function findAlgorithm(name: unknown): Algorithm | null {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(ALGORITHMS, name) ? ALGORITHMS[name] : null;
}

/** Names of the algorithms a key of this type (and curve) can verify. */
export function algorithmsForKey(kty: KeyType, crv?: string): string[] {
  const names: string[] = [];
  const all = Object.keys(ALGORITHMS);
  for (let i = 0; i < all.length; i++) {
    const alg = ALGORITHMS[all[i]];
    if (alg.kty === kty && (alg.crv === undefined || alg.crv === crv)) names.push(alg.name);
  }
  return names;
}
