/**
 * Claims by dotted path (`realm_access.roles`, `org.id`), as NGINX Plus
 * `auth_jwt_claim_set` takes them. A claim whose own name contains a dot is
 * found too: the longest matching name wins at each level.
 */
import { JsonObject } from './strict-json';

export function claimAt(payload: JsonObject, path: string): unknown {
  if (Object.prototype.hasOwnProperty.call(payload, path)) return payload[path];
  const parts = path.split('.');
  let value: unknown = payload;
  for (let i = 0; i < parts.length; i++) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const object = value as JsonObject;
    let name = parts[i];
    let j = i;
    // Prefer a longer name that itself contains dots ("a.b" in {"a.b": 1}).
    for (let k = parts.length - 1; k > i; k--) {
      const joined = parts.slice(i, k + 1).join('.');
      if (Object.prototype.hasOwnProperty.call(object, joined)) {
        name = joined;
        j = k;
        break;
      }
    }
    if (!Object.prototype.hasOwnProperty.call(object, name)) return undefined;
    value = object[name];
    i = j;
  }
  return value;
}

/** A claim as an nginx variable value: arrays become comma lists (as NGINX Plus does), objects JSON; control characters never reach a header. */
export function claimText(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let i = 0; i < value.length; i++) parts.push(typeof value[i] === 'string' ? value[i] : JSON.stringify(value[i]));
    text = parts.join(',');
  } else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  return withoutControlCharacters(text);
}

/** Control characters become spaces (a character loop: a global regex can hang njs 0.7.9 on non-ASCII text). */
function withoutControlCharacters(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) {
      out += text.slice(from, i) + ' ';
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}
