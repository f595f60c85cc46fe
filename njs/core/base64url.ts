/**
 * Strict base64url. Buffer.from(s, 'base64url') never throws and silently stops
 * at the first foreign character, so the decoded bytes are encoded again and
 * must give back exactly the text: that rejects foreign characters, padding,
 * impossible lengths and non-zero trailing bits (one byte string, one
 * accepted spelling) in two native calls, cheaper in njs than regex checks.
 */
export function decodeBase64url(text: string): Uint8Array | null {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

/**
 * Standard base64 as found in PEM bodies and JWK `x5c`; whitespace allowed,
 * padding optional. Key material is decoded on every request (the classic
 * engine keeps nothing), and njs pays per character for every scan of a
 * string (README, "Measured costs"): newlines (every PEM has them) go first, the other
 * whitespace only when the text still fails the alphabet check.
 */
export function decodeBase64(text: string): Uint8Array | null {
  let compact = text.indexOf('\n') < 0 ? text : text.split('\n').join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    compact = compact.split('\r').join('').split(' ').join('').split('\t').join('');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  }
  let unpadded = compact.length;
  while (unpadded > 0 && compact.charCodeAt(unpadded - 1) === 61) unpadded--;
  return unpadded % 4 === 1 ? null : Buffer.from(compact, 'base64');
}

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}
