/**
 * The one mutation vocabulary of the fuzzers (test/unit/fuzz.test.ts draws
 * mutations with fast-check, tools/fuzz with its seeded PRNG): bit flips,
 * character edits, segment swaps and drops, re-encodings, unsigned claim and
 * header changes, re-signing with no or an attacker's key, algorithm
 * confusion, junk around the token. A mutation is data (what and where), so
 * a failing one prints as itself; applyMutation() makes the token.
 * Also the fixed tamperings of the other tests and tools.
 */
import { KeyObject } from 'node:crypto';
import { b64u, b64uJson, signRaw } from './tokens';

type JsonObject = { [name: string]: unknown };

/** The token alphabet (base64url without padding). */
export const B64URL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Values for a header's `alg`: every name, near misses, other types. */
export const ALG_VALUES: unknown[] = [
  'none',
  'None',
  'NONE',
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS512',
  'PS256',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'hs256',
  'HS256 ',
  '',
  'HS2560',
  '__proto__',
  'constructor',
  'toString',
  null,
  0,
  256,
  true,
  ['HS256'],
  { alg: 'HS256' },
];

/** Values for claims and header members; `now` is the verifier's clock. */
export function interestingValues(now: number): unknown[] {
  return [
    'hs-key',
    'rs-key',
    'es-key',
    'hs',
    'rs',
    'es',
    'unknown',
    '',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    '$env://HOME',
    now,
    now - 1,
    now + 1,
    now + 3600,
    now * 1000,
    0,
    -1,
    1e308,
    -1e308,
    0.5,
    2 ** 53,
    '1729135871',
    null,
    true,
    false,
    [],
    ['api'],
    ['other', 'api'],
    {},
    { __proto__: 'x' },
    '\u0000',
    '\ud800',
    '\n\r',
    'x'.repeat(200),
  ];
}

/** Member names worth changing in a payload, and in a header. */
export const CLAIM_NAMES = ['key', 'sub', 'iss', 'aud', 'exp', 'nbf', 'iat', 'jti', 'kid', 'crit', '__proto__', 'constructor', ''];
export const HEADER_NAMES = ['alg', 'kid', 'typ', 'crit', 'key', 'jku', 'jwk', 'x5u', 'x5c', 'b64', 'zip', 'enc', 'cty', '__proto__'];
/** Text to put in or around a token. */
export const JUNK_TEXTS = [
  ' ',
  '\t',
  '.',
  '..',
  '=',
  '==',
  '+',
  '/',
  '%2E',
  '%00',
  'Bearer ',
  ',',
  ';',
  '"',
  '\\',
  '\n',
  '\r\n',
  '\u0000',
  '\ufeff',
  '\u00a0',
  'A',
  'AA',
  'AAA',
  '.eyJ9',
  'eyJ9.',
];

export type Mutation =
  | { kind: 'flipBit'; segment: number; byte: number; bit: number }
  | { kind: 'setByte'; segment: number; byte: number; value: number }
  | { kind: 'substitute'; at: number; char: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'duplicate'; segment: number; at: number }
  | { kind: 'drop'; segment: number }
  | { kind: 'replaceSegment'; segment: number; bytes: Uint8Array }
  | { kind: 'borrowSegment'; segment: number; from: number }
  | { kind: 'padding'; segment: number; pad: string }
  | { kind: 'standardBase64'; padded: boolean }
  | { kind: 'claim'; name: string; value: unknown; remove: boolean }
  | { kind: 'header'; name: string; value: unknown; remove: boolean }
  | { kind: 'alg'; alg: unknown }
  | { kind: 'reserialize'; segment: number; style: 'spaces' | 'reorder' | 'escape' | 'duplicate' | 'bom' | 'utf16' }
  | { kind: 'signature'; change: 'empty' | 'zeros' | 'zeroHalf' | 'shorten' | 'lengthen' | 'highBit'; amount: number }
  | { kind: 'resign'; how: 'none' | 'noneKeepSignature' | 'attackerRsa' | 'attackerEc' | 'attackerHs' }
  | { kind: 'confusion'; alg: 'HS256' | 'HS384' | 'HS512'; material: number }
  | { kind: 'rawMember'; segment: number; name: string; value: string; twice: boolean }
  | { kind: 'junk'; where: 'prefix' | 'suffix'; text: string };

/** What some mutations need: valid tokens to borrow segments from, and the attacker's material. */
export interface MutationContext {
  tokens: string[];
  /** Public key material an attacker has, used as an HMAC secret (algorithm confusion, CVE-2015-9235 style). */
  publicMaterials: (string | Uint8Array)[];
  attackerRsa: KeyObject;
  attackerEc: KeyObject;
}

/**
 * The token with its signature's first character changed: always a different
 * signature that still decodes (changing the last characters may change
 * nothing, or only the bits past the end).
 */
export function tampered(token: string): string {
  const at = token.lastIndexOf('.') + 1;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

/** The token with another payload (JSON-encoded), header and signature kept. */
export function withPayload(token: string, payload: object): string {
  const parts = token.split('.');
  return parts[0] + '.' + b64uJson(payload) + '.' + parts[2];
}

/** A segment's JSON object, or null. */
export function decodeJson(segment: string): JsonObject | null {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function withJson(token: string, index: number, edit: (object: JsonObject) => void): string {
  const parts = token.split('.');
  if (index >= parts.length) return token;
  const object = decodeJson(parts[index]);
  if (!object) return token;
  edit(object);
  parts[index] = b64uJson(object);
  return parts.join('.');
}

function editBytes(token: string, segment: number, edit: (bytes: Buffer) => Buffer): string {
  const parts = token.split('.');
  const index = segment % parts.length;
  parts[index] = edit(Buffer.from(parts[index], 'base64url')).toString('base64url');
  return parts.join('.');
}

function confuse(token: string, alg: string, material: number, context: MutationContext): string {
  const parts = token.split('.');
  const secret = context.publicMaterials[material % context.publicMaterials.length];
  return signRaw(alg, secret, { ...(decodeJson(parts[0]) || {}), alg }, parts.length > 1 ? parts[1] : '');
}

function resign(token: string, how: Extract<Mutation, { kind: 'resign' }>['how'], context: MutationContext): string {
  const parts = token.split('.');
  const header = decodeJson(parts[0]) || {};
  const payload = parts.length > 1 ? parts[1] : b64uJson({ sub: 'fuzzer' });
  switch (how) {
    case 'none':
      return b64uJson({ ...header, alg: 'none' }) + '.' + payload + '.';
    case 'noneKeepSignature':
      return b64uJson({ ...header, alg: 'none' }) + '.' + payload + '.' + (parts[2] || '');
    case 'attackerRsa':
      return signRaw('RS256', context.attackerRsa, { ...header, alg: 'RS256' }, payload);
    case 'attackerEc':
      return signRaw('ES256', context.attackerEc, { ...header, alg: 'ES256' }, payload);
    case 'attackerHs':
      return signRaw('HS256', 'attacker-secret', { ...header, alg: 'HS256' }, payload);
  }
}

function reserialize(token: string, segment: number, style: Extract<Mutation, { kind: 'reserialize' }>['style']): string {
  const parts = token.split('.');
  if (segment >= parts.length) return token;
  const object = decodeJson(parts[segment]);
  if (!object) return token;
  const names = Object.keys(object);
  let text: string;
  if (style === 'spaces') text = JSON.stringify(object, null, 1);
  else if (style === 'reorder') text = JSON.stringify(Object.fromEntries(names.reverse().map((n) => [n, object[n]])));
  else if (style === 'escape') text = JSON.stringify(object).replace(/[a-z]/, (c) => '\\u00' + c.charCodeAt(0).toString(16));
  else if (style === 'duplicate') text = JSON.stringify(object).replace(/^\{/, names.length ? '{' + JSON.stringify(names[0]) + ':"dup",' : '{');
  else if (style === 'bom') text = '\ufeff' + JSON.stringify(object);
  else
    return parts
      .slice(0, segment)
      .concat(Buffer.from(JSON.stringify(object), 'utf16le').toString('base64url'), parts.slice(segment + 1))
      .join('.');
  parts[segment] = b64u(text);
  return parts.join('.');
}

/** `m` applied to `token`; never throws (a part that cannot be edited is left as it is). */
export function applyMutation(token: string, m: Mutation, context: MutationContext): string {
  const parts = token.split('.');
  switch (m.kind) {
    case 'flipBit':
      return editBytes(token, m.segment, (bytes) => {
        if (bytes.length) bytes[m.byte % bytes.length] ^= 1 << m.bit;
        return bytes;
      });
    case 'setByte':
      return editBytes(token, m.segment, (bytes) => {
        if (bytes.length) bytes[m.byte % bytes.length] = m.value;
        return bytes;
      });
    case 'substitute': {
      if (!token.length) return m.char;
      const at = m.at % token.length;
      return token.slice(0, at) + m.char + token.slice(at + 1);
    }
    case 'insert': {
      const at = m.at % (token.length + 1);
      return token.slice(0, at) + m.text + token.slice(at);
    }
    case 'delete': {
      const at = token.length ? m.at % token.length : 0;
      return token.slice(0, at) + token.slice(at + m.length);
    }
    case 'truncate':
      return token.slice(0, token.length ? m.length % token.length : 0);
    case 'swap': {
      const a = m.a % parts.length;
      const b = m.b % parts.length;
      [parts[a], parts[b]] = [parts[b], parts[a]];
      return parts.join('.');
    }
    case 'duplicate':
      parts.splice(m.at % (parts.length + 1), 0, parts[m.segment % parts.length]);
      return parts.join('.');
    case 'drop':
      parts.splice(m.segment % parts.length, 1);
      return parts.join('.');
    case 'replaceSegment':
      parts[m.segment % parts.length] = b64u(m.bytes);
      return parts.join('.');
    case 'borrowSegment': {
      const other = context.tokens[m.from % context.tokens.length].split('.');
      parts[m.segment % parts.length] = other[m.segment];
      return parts.join('.');
    }
    case 'padding':
      parts[m.segment % parts.length] += m.pad;
      return parts.join('.');
    case 'standardBase64':
      return parts
        .map((p) => {
          const standard = p.replace(/-/g, '+').replace(/_/g, '/');
          return m.padded ? standard + '='.repeat((4 - (standard.length % 4)) % 4) : standard;
        })
        .join('.');
    case 'claim':
      return withJson(token, 1, (payload) => {
        if (m.remove) delete payload[m.name];
        else payload[m.name] = m.value;
      });
    case 'header':
      return withJson(token, 0, (header) => {
        if (m.remove) delete header[m.name];
        else header[m.name] = m.value;
      });
    case 'alg':
      return withJson(token, 0, (header) => {
        header.alg = m.alg;
      });
    case 'reserialize':
      return reserialize(token, m.segment, m.style);
    case 'signature':
      return editBytes(token, 2, (bytes) => {
        if (m.change === 'empty') return Buffer.alloc(0);
        if (m.change === 'zeros') return Buffer.alloc(bytes.length);
        if (m.change === 'zeroHalf') return Buffer.concat([bytes.subarray(0, bytes.length >> 1), Buffer.alloc(bytes.length - (bytes.length >> 1))]);
        if (m.change === 'shorten') return bytes.subarray(0, Math.max(0, bytes.length - m.amount));
        if (m.change === 'lengthen') return Buffer.concat([bytes, Buffer.alloc(m.amount, 0x5a)]);
        if (bytes.length) bytes[0] |= 0x80;
        return bytes;
      });
    case 'resign':
      return resign(token, m.how, context);
    case 'confusion':
      return confuse(token, m.alg, m.material, context);
    case 'rawMember': {
      // Written as raw text, unescaped: a name may hold quotes, backslashes or control characters.
      if (m.segment >= parts.length) return token;
      const text = Buffer.from(parts[m.segment], 'base64url').toString('utf8');
      const member = '"' + m.name + '":' + m.value + ',';
      parts[m.segment] = b64u(text.replace(/^\{/, '{' + member + (m.twice ? member : '')));
      return parts.join('.');
    }
    case 'junk':
      return m.where === 'prefix' ? m.text + token : token + m.text;
  }
}
