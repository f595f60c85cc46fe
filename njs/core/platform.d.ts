// The platform the core runs on, and all of it: what njs (both engines) and
// Node both have. Nothing of nginx is declared here (no `ngx`, no request
// object), so core code that reaches for them does not type-check
// (njs/core/tsconfig.json). The adapter (njs/nginx, njs/gateway.ts) has njs-types.

type BufferEncoding = 'base64' | 'base64url' | 'hex' | 'utf8';

interface Buffer extends Uint8Array {
  toString(encoding?: BufferEncoding): string;
}

declare const Buffer: {
  from(text: string, encoding?: BufferEncoding): Buffer;
  from(bytes: Uint8Array): Buffer;
};

declare class TextEncoder {
  encode(text?: string): Uint8Array;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(bytes?: Uint8Array): string;
}

/** WebCrypto, as far as signature verification needs it. */
interface PlatformCryptoKey {
  readonly type: string;
}

declare const crypto: {
  subtle: {
    importKey(format: 'raw' | 'spki', keyData: Uint8Array, algorithm: object, extractable: boolean, usages: 'verify'[]): Promise<PlatformCryptoKey>;
    importKey(format: 'jwk', keyData: object, algorithm: object, extractable: boolean, usages: 'verify'[]): Promise<PlatformCryptoKey>;
    verify(algorithm: object, key: PlatformCryptoKey, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  };
};
