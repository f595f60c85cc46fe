import { randomBytes } from 'node:crypto';
import { decodeBase64, decodeBase64url, encodeBase64url } from '../../njs/core/base64url';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function hexOf(value: Uint8Array | null): string | null {
  return value === null ? null : Buffer.from(value).toString('hex');
}

describe('decodeBase64url', () => {
  test('decodes canonical base64url of every length 0..64', () => {
    for (let n = 0; n <= 64; n++) {
      const data = randomBytes(n);
      const text = data.toString('base64url');
      expect(hexOf(decodeBase64url(text))).toBe(data.toString('hex'));
    }
  });

  test('decodes a known vector with both url-safe characters', () => {
    // 0xfb 0xff 0xbf is "+/+/" in standard base64
    expect(hexOf(decodeBase64url('-_-_'))).toBe('fbffbf');
    expect(hexOf(decodeBase64url('-_-_'))).toBe(Buffer.from('+/+/', 'base64').toString('hex'));
    expect(hexOf(decodeBase64url('eyJhbGciOiJIUzI1NiJ9'))).toBe(Buffer.from('{"alg":"HS256"}').toString('hex'));
  });

  test('the empty string is the empty byte string', () => {
    const out = decodeBase64url('');
    expect(out).not.toBeNull();
    expect(out!.length).toBe(0);
  });

  test.each([
    ['plus (standard alphabet)', 'ab+d'],
    ['slash (standard alphabet)', 'ab/d'],
    ['padding', 'QQ=='],
    ['single padding', 'QUI='],
    ['padding only', '===='],
    ['space', 'ab cd'],
    ['leading space', ' abcd'],
    ['trailing newline', 'abcd\n'],
    ['tab', 'ab\tcd'],
    ['CR LF', 'ab\r\ncd'],
    ['dot', 'ab.c'],
    ['non-ASCII letter', 'abcé'],
    ['NUL', 'abc\u0000'],
  ])('rejects %s', (_name, text) => {
    expect(decodeBase64url(text)).toBeNull();
  });

  test.each(['A', 'AAAAA', 'eyJhbGciOiJIUzI1NiJ9A', 'abcdefghi'])('rejects length %%4 == 1: %s', (text) => {
    expect(text.length % 4).toBe(1);
    expect(decodeBase64url(text)).toBeNull();
  });

  test('rejects non-zero trailing bits (one spelling per byte string)', () => {
    // "QQ" is the canonical spelling of "A"; "QR".."QZ" decode to the same byte with stray bits.
    expect(hexOf(decodeBase64url('QQ'))).toBe('41');
    expect(decodeBase64url('QR')).toBeNull();
    expect(decodeBase64url('Qg')).not.toBeNull(); // 'g' has zero low bits
    expect(hexOf(decodeBase64url('QUI'))).toBe('4142');
    expect(decodeBase64url('QUJ')).toBeNull();
    expect(decodeBase64url('QUL')).toBeNull();
  });

  test('for every last character: accepted exactly when the spelling is canonical', () => {
    for (const prefix of ['A', 'AA', 'AAAA', 'AAAAA', 'eyJh', 'eyJhb']) {
      for (const last of ALPHABET) {
        const text = prefix + last;
        const canonical = Buffer.from(text, 'base64url').toString('base64url') === text;
        const decoded = decodeBase64url(text);
        if (canonical) expect(hexOf(decoded)).toBe(Buffer.from(text, 'base64url').toString('hex'));
        else expect(decoded).toBeNull();
      }
    }
  });
});

describe('encodeBase64url', () => {
  test('round-trips with decodeBase64url and never pads', () => {
    for (let n = 0; n <= 40; n++) {
      const data = new Uint8Array(randomBytes(n));
      const text = encodeBase64url(data);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(hexOf(decodeBase64url(text))).toBe(Buffer.from(data).toString('hex'));
    }
  });
});

describe('decodeBase64 (PEM bodies)', () => {
  const der = randomBytes(294);
  const standard = der.toString('base64');

  test('decodes a PEM body split into 64-character lines', () => {
    const body = '\n' + standard.match(/.{1,64}/g)!.join('\n') + '\n';
    expect(hexOf(decodeBase64(body))).toBe(der.toString('hex'));
  });

  test('accepts CRLF line ends, tabs and spaces', () => {
    const body = '\r\n  ' + standard.match(/.{1,64}/g)!.join('\r\n\t') + '\r\n';
    expect(hexOf(decodeBase64(body))).toBe(der.toString('hex'));
  });

  test('accepts padding and its absence', () => {
    expect(hexOf(decodeBase64('QQ=='))).toBe('41');
    expect(hexOf(decodeBase64('QQ'))).toBe('41');
    expect(hexOf(decodeBase64('QUI='))).toBe('4142');
    expect(hexOf(decodeBase64('+/+/'))).toBe('fbffbf');
  });

  test.each([
    ['base64url characters', 'ab-_'],
    ['padding in the middle', 'QQ==QUJD'],
    ['three padding characters', 'Q==='],
    ['length %4 == 1', 'QUJDR'],
    ['foreign characters', 'QUJD!'],
    ['a PEM armour line', '-----BEGIN PUBLIC KEY-----'],
  ])('rejects %s', (_name, text) => {
    expect(decodeBase64(text)).toBeNull();
  });
});
