/**
 * The verification pipeline, in the order RFC 8725 and panva/jose use:
 * parse -> header checks (alg allow-list, crit) -> key lookup -> key/alg
 * binding -> signature -> claims. Claims are trusted only after the signature.
 */
import { Algorithm, findAlgorithm } from './algorithms';
import { checkClaims } from './claims';
import { fail, Problem, isProblem, quote } from './errors';
import { Capabilities, Identity, KeyMatch, KeySource, VerificationKey } from './keys/types';
import { andThen, Maybe } from './maybe';
import { verifySignature } from './signature';
import { JsonObject } from './strict-json';
import { parseToken, ParsedToken } from './token';

export interface AuthPolicy {
  maxTokenBytes: number;
  leeway: number;
  requiredClaims: string[];
  keyClaim: string;
  issuers?: string[];
  audiences?: string[];
  maxLifetime?: number;
}

export interface Verified {
  ok: true;
  header: JsonObject;
  payload: JsonObject;
  payloadText: string;
  identity?: Identity;
  /** The kid of the key that verified (its JWK's, or the one its credential was found by), whatever the header says: revocation by kid checks it. */
  kid?: string;
  /** Broken config entries met on the way; for the log. */
  skipped: Problem[];
}

export type AuthResult = Verified | Problem;

function checkHeader(header: JsonObject): Problem | null {
  if (header.crit !== undefined) {
    // No extension is understood, so any critical one means "do not accept" (RFC 7515 4.1.11).
    return fail('CRIT_UNSUPPORTED', 'crit names header parameters this gateway does not understand: ' + quote(header.crit));
  }
  return null;
}

/** The position of the first key the signature verifies with, or -1. */
function firstValid(
  algorithm: Algorithm,
  keys: VerificationKey[],
  index: number,
  token: ParsedToken,
  problems: Problem[],
  capabilities?: Capabilities,
): Maybe<number> {
  if (index >= keys.length) return -1;
  return andThen(verifySignature(algorithm, keys[index], token.signingInput, token.signature, capabilities, problems), (valid) =>
    valid ? index : firstValid(algorithm, keys, index + 1, token, problems, capabilities),
  );
}

/**
 * Verifies a compact JWS. Synchronous when it can be (failures, HMAC with a
 * synchronous primitive in `capabilities`), a Promise when WebCrypto is needed.
 */
export function authenticate(rawToken: string, source: KeySource, policy: AuthPolicy, now: number, capabilities?: Capabilities): Maybe<AuthResult> {
  const token = parseToken(rawToken, policy.maxTokenBytes);
  if (isProblem(token)) return token;
  const algorithm = findAlgorithm(token.header.alg);
  if (!algorithm) return fail('ALG_NOT_ALLOWED', 'alg ' + quote(token.header.alg) + ' is not accepted');
  const headerProblem = checkHeader(token.header);
  if (headerProblem) return headerProblem;
  return andThen(source.lookup(token, algorithm, policy), (match) =>
    isProblem(match) ? match : verifyWith(token, algorithm, match, source, policy, now, capabilities),
  );
}

/** The signature with the keys the source found, then the claims. */
function verifyWith(
  token: ParsedToken,
  algorithm: Algorithm,
  match: KeyMatch,
  source: KeySource,
  policy: AuthPolicy,
  now: number,
  capabilities?: Capabilities,
): Maybe<AuthResult> {
  const keys: VerificationKey[] = [];
  for (let i = 0; i < match.keys.length; i++) if (match.keys[i].algorithms.indexOf(algorithm.name) >= 0) keys.push(match.keys[i]);
  if (keys.length === 0) {
    const failure = match.identity
      ? fail('ALG_NOT_ALLOWED', 'alg ' + algorithm.name + ' is not the algorithm of the credential of ' + quote(match.identity.consumer))
      : fail('KEY_NOT_FOUND', 'no usable key for alg ' + algorithm.name + ' in ' + source.origin);
    if (match.skipped.length) failure.configProblems = match.skipped;
    return failure;
  }
  /** Keys the engine could not import: the log says so, as for entries skipped at load. */
  const unusable: Problem[] = [];
  return andThen(firstValid(algorithm, keys, 0, token, unusable, capabilities), (verifiedBy): AuthResult => {
    if (verifiedBy < 0) {
      const invalid =
        unusable.length === keys.length
          ? fail('KEY_NOT_FOUND', 'no key for alg ' + algorithm.name + ' this engine can use in ' + source.origin)
          : fail('SIGNATURE_INVALID', 'signature does not verify with ' + algorithm.name);
      // Entries passed over (a broken key, a duplicate kid) may be the key the token was meant for: the log says so.
      const problems = match.skipped.concat(unusable);
      if (problems.length) invalid.configProblems = problems;
      return invalid;
    }
    const claimPolicy = {
      leeway: policy.leeway + match.graceSeconds,
      required: policy.requiredClaims,
      issuers: policy.issuers,
      audiences: policy.audiences,
      maxLifetime: policy.maxLifetime,
    };
    const claimProblem = checkClaims(token.payload, claimPolicy, now);
    if (claimProblem) return claimProblem;
    const kid = keys[verifiedBy].kid !== undefined ? keys[verifiedBy].kid : match.kid;
    return { ok: true, header: token.header, payload: token.payload, payloadText: token.payloadText, identity: match.identity, kid, skipped: match.skipped };
  });
}
