/**
 * The verification pipeline, in the order RFC 8725 and panva/jose use:
 * parse -> header checks (alg allow-list, crit) -> key lookup -> key/alg
 * binding -> signature -> claims. Claims are trusted only after the signature.
 */
import { Algorithm, findAlgorithm } from './algorithms';
import { checkClaims } from './claims';
import { fail, Failure, isFailure, quote } from './errors';
import { Identity, KeySource, VerificationKey } from './keys/types';
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
  /** Broken config entries met on the way; for the log. */
  skipped: string[];
}

export type AuthResult = Verified | Failure;

function checkHeader(header: JsonObject): Failure | null {
  if (header.crit !== undefined) {
    // No extension is understood, so any critical one means "do not accept" (RFC 7515 4.1.11).
    return fail('CRIT_UNSUPPORTED', 'crit names header parameters this gateway does not understand: ' + quote(header.crit));
  }
  return null;
}

function firstValid(algorithm: Algorithm, keys: VerificationKey[], index: number, token: ParsedToken): Promise<boolean> {
  if (index >= keys.length) return Promise.resolve(false);
  return verifySignature(algorithm, keys[index], token.signingInput, token.signature).then(
    (valid) => valid || firstValid(algorithm, keys, index + 1, token),
  );
}

export function authenticate(rawToken: string, source: KeySource, policy: AuthPolicy, now: number): Promise<AuthResult> {
  const token = parseToken(rawToken, policy.maxTokenBytes);
  if (isFailure(token)) return Promise.resolve(token);
  const algorithm = findAlgorithm(token.header.alg);
  if (!algorithm) return Promise.resolve(fail('ALG_NOT_ALLOWED', 'alg ' + quote(token.header.alg) + ' is not accepted'));
  const headerProblem = checkHeader(token.header);
  if (headerProblem) return Promise.resolve(headerProblem);
  const match = source.lookup(token, algorithm, { keyClaim: policy.keyClaim });
  if (isFailure(match)) return Promise.resolve(match);
  const keys: VerificationKey[] = [];
  for (let i = 0; i < match.keys.length; i++) if (match.keys[i].algorithms.indexOf(algorithm.name) >= 0) keys.push(match.keys[i]);
  if (keys.length === 0) {
    const failure = match.identity
      ? fail('ALG_NOT_ALLOWED', 'alg ' + algorithm.name + ' is not the algorithm of the credential of ' + quote(match.identity.consumer))
      : fail('KEY_NOT_FOUND', 'no usable key for alg ' + algorithm.name + ' in ' + source.origin);
    if (match.skipped.length) failure.configProblems = match.skipped;
    return Promise.resolve(failure);
  }
  return firstValid(algorithm, keys, 0, token).then((valid): AuthResult => {
    if (!valid) return fail('SIGNATURE_INVALID', 'signature does not verify with ' + algorithm.name);
    const claimPolicy = {
      leeway: policy.leeway + match.graceSeconds,
      required: policy.requiredClaims,
      issuers: policy.issuers,
      audiences: policy.audiences,
      maxLifetime: policy.maxLifetime,
    };
    const claimProblem = checkClaims(token.payload, claimPolicy, now);
    if (claimProblem) return claimProblem;
    return { ok: true, header: token.header, payload: token.payload, payloadText: token.payloadText, identity: match.identity, skipped: match.skipped };
  });
}
