/**
 * JSON objects as RFC 8725 wants them: valid UTF-8, no duplicate member names
 * (`{"alg":"HS256","alg":"none"}` must not mean different things to different
 * parsers), bounded nesting. JSON.parse does the parsing; a character scan
 * finds duplicates and depth when the text is not already canonical. (Not a
 * global regex: on njs 0.7.9, exec() from a lastIndex inside non-ASCII text
 * can loop forever or fail in PCRE, so any regex with /g on request data is
 * a denial of service.)
 */
// njs 0.7.9's JSON.parse gives up below depth 32, so the scanner stops well before it.
export const MAX_JSON_DEPTH = 16;

let utf8: { decode(bytes: never): string } | null = null;

import { quote } from './errors';

export type JsonObject = { [name: string]: unknown };

function unescapeName(token: string): string | null {
  try {
    return JSON.stringify(JSON.parse(token));
  } catch (e) {
    return null;
  }
}

/** Index of the quote that closes the string opening at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) return i;
  }
  return -1;
}

/** Why the text is not acceptable, or '' when it is. */
function structureProblem(text: string): string {
  const isObject: boolean[] = [];
  const seen: { [name: string]: boolean }[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const top = isObject.length - 1;
    if (c === 34) {
      const end = stringEnd(text, i);
      if (end < 0) return 'not valid JSON';
      if (expectKey) {
        const token = text.slice(i, end + 1);
        const name = token.indexOf('\\') < 0 ? token : unescapeName(token);
        if (name === null) return 'not valid JSON';
        if (seen[top]['#' + name]) return 'duplicate member name ' + quote(token.slice(1, -1));
        seen[top]['#' + name] = true;
        expectKey = false;
      }
      i = end;
    } else if (c === 123 || c === 91) {
      if (isObject.length >= MAX_JSON_DEPTH) return 'nested deeper than ' + MAX_JSON_DEPTH;
      isObject.push(c === 123);
      seen.push({});
      expectKey = c === 123;
    } else if (c === 125 || c === 93) {
      isObject.pop();
      seen.pop();
      expectKey = false;
    } else if (c === 44) {
      expectKey = top >= 0 && isObject[top];
    } else if (c === 58) {
      expectKey = false;
    }
  }
  return '';
}

/** How many `{` and `[` the text holds (an upper bound of its depth), counting no further than the cap allows. */
function openings(text: string): number {
  let count = 0;
  for (let at = text.indexOf('{'); at >= 0 && count <= MAX_JSON_DEPTH; at = text.indexOf('{', at + 1)) count++;
  for (let at = text.indexOf('['); at >= 0 && count <= MAX_JSON_DEPTH; at = text.indexOf('[', at + 1)) count++;
  return count;
}

/** Whether `text` is JSON.stringify(value), perhaps followed by whitespace (a file's final newline). */
function isCanonical(value: unknown, text: string): boolean {
  const canonical = JSON.stringify(value);
  if (canonical === text) return true;
  return text.length > canonical.length && text.slice(canonical.length).trim() === '' && text.slice(0, canonical.length) === canonical;
}

/** Whether `value` nests arrays and objects more than `limit` levels deep (the outermost is level 1). */
function deeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (deeperThan(value[i], limit - 1)) return true;
    return false;
  }
  const object = value as JsonObject;
  const names = Object.keys(object);
  for (let i = 0; i < names.length; i++) if (deeperThan(object[names[i]], limit - 1)) return true;
  return false;
}

/**
 * A UTF-8 byte order mark (EF BB BF) at the start. TextDecoder drops it
 * silently (so jose 6, which decodes with it, accepts such tokens), while
 * JSON.parse of the text and njs's js_preload_object (nginx -t fails) refuse
 * it; RFC 8259 8.1 forbids adding one. Refused here, tokens and config files
 * alike: one byte string, one meaning, whichever parser reads it.
 */
export function startsWithByteOrderMark(bytes: Uint8Array): boolean {
  return bytes[0] === 0xef && bytes.length >= 3 && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

export const BYTE_ORDER_MARK_PROBLEM = 'starts with a UTF-8 byte order mark, which JSON does not allow (RFC 8259 8.1)';

/** Strict UTF-8 decoding, or null. It drops a leading byte order mark: JSON callers refuse one first (startsWithByteOrderMark). */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    if (utf8 === null) utf8 = new TextDecoder('utf-8', { fatal: true });
    return utf8.decode(bytes as never);
  } catch (e) {
    return null;
  }
}

/** Parses a JSON object from text; returns a string describing the problem otherwise. */
export function parseJsonObjectText(text: string): JsonObject | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return structureProblem(text) || 'not valid JSON';
  }
  // Fast path: text that is exactly the canonical serialization of what it parses to (trailing
  // whitespace aside) cannot hold a duplicate name, and its nesting is the value's: with few brackets
  // it cannot nest deeply, with many the parsed value is walked (far cheaper than scanning every
  // character: a 100,000-consumer map took 3.6 s to scan on QuickJS). Compact JSON from any JWT
  // library and `jwt-gateway index` passes; everything else gets the full scan (README, "Measured
  // costs"). A flat object (no `[`, no second `{`, as most JWT headers and payloads are) skips the
  // bracket count.
  const flat = text.indexOf('[') < 0 && text.indexOf('{', 1) < 0;
  if ((!flat && openings(text) > MAX_JSON_DEPTH && deeperThan(value, MAX_JSON_DEPTH)) || !isCanonical(value, text)) {
    const problem = structureProblem(text);
    if (problem) return problem;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  return value as JsonObject;
}

/** Parses a JSON object from UTF-8 bytes; returns a string describing the problem otherwise. */
export function parseJsonObject(bytes: Uint8Array): JsonObject | string {
  if (startsWithByteOrderMark(bytes)) return BYTE_ORDER_MARK_PROBLEM;
  const text = decodeUtf8(bytes);
  return text === null ? 'not valid UTF-8' : parseJsonObjectText(text);
}
