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
      if (end < 0) return invalidJson(text);
      if (expectKey) {
        const token = text.slice(i, end + 1);
        const name = token.indexOf('\\') < 0 ? token : unescapeName(token);
        if (name === null) return invalidJson(text);
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

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

/** Where the string opening at `start` ends (after its closing quote), or minus one less than the index of its first wrong character. */
function stringAfter(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) return i + 1;
    if (c < 32) return -1 - i;
    if (c === 92) {
      const next = text.charAt(i + 1);
      if (next === 'u') {
        if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) return -1 - i;
        i += 5;
      } else if ('"\\/bfnrt'.indexOf(next) < 0 || next === '') return -1 - i;
      else i++;
    }
  }
  return -1 - text.length;
}

/** Where the number, true, false or null at `start` ends, or -1. */
function scalarAfter(text: string, start: number): number {
  const literals = ['true', 'false', 'null'];
  for (let k = 0; k < literals.length; k++) if (text.slice(start, start + literals[k].length) === literals[k]) return start + literals[k].length;
  const number = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(start, start + 400));
  return number ? start + number[0].length : -1;
}

/**
 * The index of the first character that cannot continue the text as JSON
 * (its length when it ends too soon; -1 when it is JSON), for the message of a file that does
 * not parse. Only a failure path runs it. JSON.parse's own messages differ
 * per engine, and some quote the text, which may hold secrets.
 */
export function syntaxErrorAt(text: string): number {
  const open: number[] = [];
  let i = 0;
  let state = 'value';
  for (;;) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    const c = text.charCodeAt(i);
    if (state === 'after' && open.length === 0) return i < text.length ? i : -1;
    if (i >= text.length) return i;
    if (state === 'value') {
      if (c === 123 || c === 91) {
        open.push(c);
        i++;
        state = c === 123 ? 'first key' : 'first value';
        continue;
      }
      const end = c === 34 ? stringAfter(text, i) : scalarAfter(text, i);
      if (end < 0) return c === 34 ? -1 - end : i;
      i = end;
      state = 'after';
    } else if (state === 'first value' && c === 93) {
      open.pop();
      i++;
      state = 'after';
    } else if (state === 'first value') {
      state = 'value';
    } else if (state === 'first key' && c === 125) {
      open.pop();
      i++;
      state = 'after';
    } else if (state === 'first key' || state === 'key') {
      const end = c === 34 ? stringAfter(text, i) : -1 - i;
      if (end < 0) return -1 - end;
      i = end;
      while (i < text.length && isSpace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 58) return i;
      i++;
      state = 'value';
    } else {
      const top = open[open.length - 1];
      if (c === 44) state = top === 123 ? 'key' : 'value';
      else if ((top === 123 && c === 125) || (top === 91 && c === 93)) open.pop();
      else return i;
      i++;
    }
  }
}

/** "not valid JSON at line 3, column 12" (1-based), saying so when the text ends too soon. */
function invalidJson(text: string): string {
  const at = syntaxErrorAt(text);
  if (at < 0) return 'not valid JSON';
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - (before.lastIndexOf('\n') + 1) + 1;
  return 'not valid JSON at line ' + line + ', column ' + column + (at >= text.length ? ' (it ends before it is complete)' : '');
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
    return structureProblem(text) || invalidJson(text);
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
