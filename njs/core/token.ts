/**
 * Compact JWS parsing: three base64url segments, header and payload JSON
 * objects. Nothing here is trusted until the signature is verified.
 */
import { decodeBase64url } from './base64url';
import { fail, Problem, isProblem } from './errors';
import { BYTE_ORDER_MARK_PROBLEM, decodeUtf8, JsonObject, parseJsonObjectText, startsWithByteOrderMark } from './strict-json';

export const DEFAULT_MAX_TOKEN_BYTES = 16384;

export interface ParsedToken {
  header: JsonObject;
  payload: JsonObject;
  /** The payload JSON text exactly as signed (for $jwt_payload). */
  payloadText: string;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

/** The segment's JSON object and its text, or why it is not one. */
function decodeObject(segment: string, part: string): { object: JsonObject; text: string } | Problem {
  const bytes = decodeBase64url(segment);
  if (!bytes) return fail('TOKEN_MALFORMED', part + ' is not canonical base64url');
  if (startsWithByteOrderMark(bytes)) return fail('TOKEN_MALFORMED', part + ': ' + BYTE_ORDER_MARK_PROBLEM);
  const text = decodeUtf8(bytes);
  if (text === null) return fail('TOKEN_MALFORMED', part + ': not valid UTF-8');
  const object = parseJsonObjectText(text);
  return typeof object === 'string' ? fail('TOKEN_MALFORMED', part + ': ' + object) : { object, text };
}

export function parseToken(token: string, maxBytes: number): ParsedToken | Problem {
  if (token.length > maxBytes) return fail('TOKEN_TOO_LARGE', 'token has ' + token.length + ' bytes, the limit is ' + maxBytes);
  const segments = token.split('.');
  if (segments.length !== 3) return fail('TOKEN_MALFORMED', 'expected 3 dot-separated segments, got ' + segments.length);
  const header = decodeObject(segments[0], 'header');
  if (isProblem(header)) return header;
  const payload = decodeObject(segments[1], 'payload');
  if (isProblem(payload)) return payload;
  const signature = decodeBase64url(segments[2]);
  if (!signature || signature.length === 0) return fail('TOKEN_MALFORMED', 'signature is missing or not canonical base64url');
  return {
    header: header.object,
    payload: payload.object,
    payloadText: payload.text,
    signingInput: Buffer.from(segments[0] + '.' + segments[1]),
    signature,
  };
}
