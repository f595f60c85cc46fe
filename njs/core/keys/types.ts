/**
 * Every key source (JWK Set, consumer map, identity providers) answers one
 * question: which keys may verify this token, and who is it then?
 */
import { Algorithm, KeyType } from '../algorithms';
import { Problem } from '../errors';
import { Maybe } from '../maybe';
import { JsonObject } from '../strict-json';

export interface VerificationKey {
  kty: KeyType;
  crv?: string;
  /** The only algorithms this key may verify (binds the key to one family). */
  algorithms: string[];
  /** WebCrypto import format of `material`. */
  format: 'raw' | 'spki';
  material: Uint8Array;
  /** The same RSA key as a JWK, imported instead of `material` where the engine imports JWKs (Capabilities.jwkImport). */
  jwk?: { kty: 'RSA'; n: string; e: string };
  /** The JWK's `kid` (JWK Sets): revoking it revokes this key, whatever a token's header says. */
  kid?: string;
  /**
   * The engine's imported key, by algorithm, once imported (signature.ts). It lives as long as the
   * key source: on the classic engine one request, on QuickJS with a reused context many, so a
   * fresh token there costs one verify, not an import as well.
   */
  imported?: { [algorithm: string]: unknown };
}

/** The consumer a credential belongs to, as the upstream learns it. */
export interface Identity {
  consumer: string;
  credential?: string;
  customId?: string;
}

export interface KeyMatch {
  keys: VerificationKey[];
  identity?: Identity;
  /** Extra clock skew allowed for this credential (APISIX lifetime_grace_period). */
  graceSeconds: number;
  /** Config entries passed over because they are broken; for the log. */
  skipped: Problem[];
  /** The kid the source found the key by when the key has none of its own (a credential named by a `kid` claim). */
  kid?: string;
}

export interface DecodedToken {
  header: JsonObject;
  payload: JsonObject;
}

export interface LookupOptions {
  /** Payload claim naming the consumer's credential. */
  keyClaim: string;
}

export interface KeySource {
  /** Where the keys come from, for log lines and config errors. */
  origin: string;
  /** Keys that may verify this token with `algorithm` (already allow-listed); a source may answer later (a promise). */
  lookup(token: DecodedToken, algorithm: Algorithm, options: LookupOptions): Maybe<KeyMatch | Problem>;
  /** A consumer by username (consumer maps only), e.g. the anonymous consumer. */
  consumer?(username: string): Identity | null;
}

/** A source read from a document at hand, which answers at once. */
export interface LocalKeySource extends KeySource {
  lookup(token: DecodedToken, algorithm: Algorithm, options: LookupOptions): KeyMatch | Problem;
}

/** A parsed config document (JWK Set, consumer map, deny list) and where it came from, for messages. */
export interface ConfigDocument {
  document: unknown;
  origin: string;
}

/** A position in a stored index: a whole number >= 0 (anything else finds nothing). */
export function isPosition(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && Math.floor(value) === value;
}

/** A synchronous HMAC: the digest, or null when the engine lacks that hash (njs before 0.9.7 has only sha256). */
export type SyncHmac = (hash: 'sha256' | 'sha384' | 'sha512', key: Uint8Array, data: Uint8Array) => Uint8Array | null;

/** What the running engine can do that older ones cannot, and where `$env://NAME` references are looked up. */
export interface Capabilities {
  ed25519: boolean;
  /** WebCrypto imports JWKs (njs 0.7.10+): RSA keys are imported from `n` and `e`, six times faster than from an SPKI. */
  jwkImport?: boolean;
  env?: (name: string) => string | undefined;
  /** Lets HS* verify without a WebCrypto round trip (and its promises). */
  hmac?: SyncHmac;
}
