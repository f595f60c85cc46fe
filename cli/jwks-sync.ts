/**
 * `jwt-gateway jwks sync (URL | --issuer ISSUER) --out FILE [--reload]`: an
 * identity provider's JWK Set into the file the gateway reads
 * (`$auth_jwt_key_file`), for a timer or cron. The way to follow a
 * provider's key rotation where njs has no shared memory (0.7.9's direct
 * style), and a simple one everywhere.
 *
 * The file is replaced only by a JWK Set that is valid, has a key the
 * gateway can use and differs from the file: written next to it and renamed
 * over it, so nginx never reads half a file. Anything else (an unreachable
 * provider, an HTML error page, a cut or oversized answer, a discovery
 * document for another issuer) leaves the file as it is and exits 1, so the
 * last good keys keep working.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configProblem, isProblem, Problem } from '../njs/core/errors';
import { acceptedJwks, discoveredJwksUri, discoveryUrl, MAX_DOCUMENT_BYTES } from '../njs/core/keys/remote';
import { Capabilities } from '../njs/core/keys/types';
import { JsonObject, parseJsonObject } from '../njs/core/strict-json';
import { indexedText } from './index';

export const DEFAULT_TIMEOUT_MS = 10000;

export interface SyncOptions {
  /** The JWK Set's URL, or none with `issuer`. */
  url?: string;
  /** An OpenID Provider's issuer: its discovery document names the JWK Set (OpenID Connect Discovery 1.0). */
  issuer?: string;
  out: string;
  capabilities: Capabilities;
  timeoutMs?: number;
  maxBytes?: number;
}

export interface Synced {
  ok: true;
  /** Whether the file was replaced (false: it already held these keys). */
  written: boolean;
  jwksUri: string;
  /** Keys the gateway can use, of all the set lists. */
  usable: number;
  listed: number;
}

/** The body of a GET as bytes, at most `maxBytes` (refused beyond), within the timeout. */
async function download(url: string, maxBytes: number, timeoutMs: number): Promise<Uint8Array | Problem> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error', headers: { accept: 'application/json' } });
  } catch (e) {
    return configProblem(url, undefined, undefined, 'cannot be fetched: ' + ((e as Error).cause ? String((e as Error).cause) : (e as Error).message));
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    return configProblem(url, undefined, undefined, 'answered ' + response.status + ', not 200');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        return configProblem(url, undefined, undefined, 'is over the cap of ' + maxBytes + ' bytes');
      }
      chunks.push(chunk);
    }
  } catch (e) {
    return configProblem(url, undefined, undefined, 'answer cut short: ' + (e as Error).message);
  }
  return Buffer.concat(chunks);
}

async function fetchObject(url: string, options: SyncOptions): Promise<JsonObject | Problem> {
  const bytes = await download(url, options.maxBytes ?? MAX_DOCUMENT_BYTES, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (isProblem(bytes)) return bytes;
  const document = parseJsonObject(bytes);
  return typeof document === 'string' ? configProblem(url, undefined, undefined, document) : document;
}

/** The JWK Set URL of an issuer, from its discovery document. */
async function issuerJwksUri(issuer: string, options: SyncOptions): Promise<string | Problem> {
  const url = discoveryUrl(issuer);
  const document = await fetchObject(url, options);
  return isProblem(document) ? document : discoveredJwksUri(document, issuer, url);
}

function currentText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** Fetches the JWK Set and replaces `out` with it when it is good and new; a Problem (and `out` untouched) otherwise. */
export async function syncJwks(options: SyncOptions): Promise<Synced | Problem> {
  const jwksUri = options.issuer !== undefined ? await issuerJwksUri(options.issuer, options) : options.url;
  if (jwksUri === undefined) return configProblem(undefined, undefined, undefined, 'no JWK Set URL and no issuer');
  if (isProblem(jwksUri)) return jwksUri;
  const document = await fetchObject(jwksUri, options);
  if (isProblem(document)) return document;
  const accepted = acceptedJwks(document, jwksUri, options.capabilities);
  if (isProblem(accepted)) return accepted;
  const text = indexedText({ keys: accepted.keys });
  const synced: Synced = { ok: true, written: false, jwksUri, usable: accepted.keys.length, listed: accepted.listed };
  if (currentText(options.out) === text) return synced;
  const temporary = path.join(path.dirname(options.out), '.' + path.basename(options.out) + '.' + process.pid + '.tmp');
  writeFileSync(temporary, text);
  renameSync(temporary, options.out);
  synced.written = true;
  return synced;
}
