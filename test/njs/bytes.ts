/** Byte helpers for the in-engine tests (the core keeps its own private). */

/** Hex (as in Wycheproof files) to bytes; a plain Uint8Array, as the gateway passes to WebCrypto. */
export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** DER as a PEM "PUBLIC KEY", the form the gateway's key_from_pem path reads. */
export function pemFromDer(der: Uint8Array): string {
  const body = Buffer.from(der).toString('base64');
  let lines = '';
  for (let i = 0; i < body.length; i += 64) lines += body.slice(i, i + 64) + '\n';
  return '-----BEGIN PUBLIC KEY-----\n' + lines + '-----END PUBLIC KEY-----\n';
}

/**
 * Changes one character of a base64url string without making it
 * non-canonical (the index must not be the last character), so the change
 * reaches signature verification instead of failing the decoder.
 */
export function flipChar(text: string, index: number): string {
  const replacement = text.charAt(index) === 'A' ? 'B' : 'A';
  return text.slice(0, index) + replacement + text.slice(index + 1);
}
