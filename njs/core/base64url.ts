/**
 * Strict base64url. Buffer.from(s, 'base64url') never throws and silently stops
 * at the first foreign character, so the alphabet and length are checked first.
 * Non-canonical encodings (non-zero trailing bits) are rejected too, so one
 * byte string has exactly one accepted spelling.
 */
const ALPHABET = /^[A-Za-z0-9_-]*$/;
const LAST_CHAR_FOR_REMAINDER_2 = /[AQgw]$/;
const LAST_CHAR_FOR_REMAINDER_3 = /[AEIMQUYcgkosw048]$/;

export function decodeBase64url(text: string): Uint8Array | null {
  if (!ALPHABET.test(text)) return null;
  const remainder = text.length % 4;
  if (remainder === 1) return null;
  if (remainder === 2 && !LAST_CHAR_FOR_REMAINDER_2.test(text)) return null;
  if (remainder === 3 && !LAST_CHAR_FOR_REMAINDER_3.test(text)) return null;
  return Buffer.from(text, 'base64url');
}

/** Standard base64 as found in PEM bodies and JWK `x5c`; whitespace allowed, padding optional. */
export function decodeBase64(text: string): Uint8Array | null {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) return null;
  return Buffer.from(compact, 'base64');
}

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
