/**
 * RFC 7515 Appendix A: the published example tokens and public JWKs,
 * verified the way a request is (JWK Set source + authenticate), and a
 * tampered copy of each rejected.
 */
import { engineCapabilities } from '../../njs/nginx/engine';
import { findAlgorithm } from '../../njs/core/algorithms';
import { AuthPolicy, AuthResult, authenticate } from '../../njs/core/authenticate';
import { decodeBase64url, encodeBase64url } from '../../njs/core/base64url';
import { isProblem } from '../../njs/core/errors';
import { jwksSource } from '../../njs/core/keys/jwks';
import { keyFromJwk } from '../../njs/core/keys/prepare';
import { Capabilities, LocalKeySource } from '../../njs/core/keys/types';
import { verifySignature } from '../../njs/core/signature';
import { JsonObject } from '../../njs/core/strict-json';
import { flipChar, utf8 } from './bytes';
import { check, describeError, fail, Group, group, report } from './harness';

const POLICY: AuthPolicy = { maxTokenBytes: 16384, leeway: 0, requiredClaims: [], keyClaim: 'key' };
const CAPABILITIES: Capabilities = { ed25519: false };
/** The example tokens carry exp 1300819380 (2011-03-22); check them just before. */
const EXP = 1300819380;
const BEFORE_EXP = EXP - 10;

/** The JWT payload of A.1-A.3: {"iss":"joe",CRLF "exp":1300819380,CRLF "http://example.com/is_root":true} */
const JWT_PAYLOAD = 'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ';

interface Example {
  name: string;
  alg: string;
  jwk: JsonObject;
  token: string;
}

/** An example of A.1-A.3: the RFC's header segment, JWT_PAYLOAD and the RFC's signature. */
function jwtExample(name: string, jwk: JsonObject, header: string, signature: string): Example {
  return { name, alg: name.slice(name.indexOf(' ') + 1), jwk, token: header + '.' + JWT_PAYLOAD + '.' + signature };
}

const A1 = jwtExample(
  'A.1 HS256',
  { kty: 'oct', k: 'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow' },
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9',
  'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
);

const A2 = jwtExample(
  'A.2 RS256',
  {
    kty: 'RSA',
    n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
    e: 'AQAB',
  },
  'eyJhbGciOiJSUzI1NiJ9',
  'cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw',
);

/** ECDSA signatures are randomized: this is the RFC's one, which verifies with the RFC's public key. */
const A3 = jwtExample(
  'A.3 ES256',
  { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0' },
  'eyJhbGciOiJFUzI1NiJ9',
  'DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q',
);

/** A.4 signs the bytes "Payload": a JWS but not a JWT (see checkEs512). */
const A4: Example = {
  name: 'A.4 ES512',
  alg: 'ES512',
  jwk: {
    kty: 'EC',
    crv: 'P-521',
    x: 'AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk',
    y: 'ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2',
  },
  token:
    'eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn',
};

function sourceFor(example: Example): LocalKeySource {
  return jwksSource({ keys: [example.jwk] }, 'RFC 7515 ' + example.name, CAPABILITIES);
}

function outcome(result: AuthResult): string {
  return isProblem(result) ? result.code + ' (' + result.detail + ')' : 'accepted';
}

/** Same token with one signature character changed (never the last, which could make it non-canonical). */
function tamperSignature(token: string): string {
  const parts = token.split('.');
  return parts[0] + '.' + parts[1] + '.' + flipChar(parts[2], 10);
}

/** Same token claiming another issuer, signature unchanged. */
function tamperPayload(token: string): string {
  const parts = token.split('.');
  const text = Buffer.from(parts[1], 'base64url').toString().replace('"joe"', '"eve"');
  return parts[0] + '.' + encodeBase64url(utf8(text)) + '.' + parts[2];
}

function expectRejected(g: Group, what: string, result: AuthResult, code: string): void {
  check(g, what + ' is rejected with ' + code, isProblem(result) && result.code === code, 'got ' + outcome(result));
}

/** A.1-A.3 are JWTs: the whole request path must accept them, and only them. */
async function checkJwt(example: Example): Promise<void> {
  const g = group('rfc7515 ' + example.name);
  const source = sourceFor(example);
  const prepared = keyFromJwk(example.jwk, CAPABILITIES);
  check(g, 'JWK is usable', !isProblem(prepared), JSON.stringify(prepared));

  const accepted = await authenticate(example.token, source, POLICY, BEFORE_EXP);
  check(g, 'RFC token is accepted', !isProblem(accepted), 'got ' + outcome(accepted));
  if (!isProblem(accepted)) {
    check(g, 'header alg is ' + example.alg, accepted.header.alg === example.alg, JSON.stringify(accepted.header));
    check(g, 'payload iss is "joe"', accepted.payload.iss === 'joe', accepted.payloadText);
  }

  // With the engine's capabilities, as the gateway runs it (HS256 through the synchronous HMAC).
  const viaEngine = await authenticate(example.token, source, POLICY, BEFORE_EXP, engineCapabilities());
  check(g, 'RFC token is accepted with the engine capabilities', !isProblem(viaEngine), 'got ' + outcome(viaEngine));
  const badViaEngine = await authenticate(tamperSignature(example.token), source, POLICY, BEFORE_EXP, engineCapabilities());
  expectRejected(g, 'token with a changed signature, engine capabilities', badViaEngine, 'SIGNATURE_INVALID');

  const badSignature = await authenticate(tamperSignature(example.token), source, POLICY, BEFORE_EXP);
  expectRejected(g, 'token with a changed signature', badSignature, 'SIGNATURE_INVALID');
  const badPayload = await authenticate(tamperPayload(example.token), source, POLICY, BEFORE_EXP);
  expectRejected(g, 'token with a changed payload', badPayload, 'SIGNATURE_INVALID');
  // Claims are checked only after the signature holds: at exp the genuine token is expired.
  const expired = await authenticate(example.token, source, POLICY, EXP);
  expectRejected(g, 'RFC token at its exp', expired, 'TOKEN_EXPIRED');
  report(g);
}

function signatureOf(example: Example, token: string): Promise<boolean> {
  const source = sourceFor(example);
  const algorithm = findAlgorithm(example.alg)!;
  const parts = token.split('.');
  const match = source.lookup({ header: { alg: example.alg }, payload: {} }, algorithm, { keyClaim: POLICY.keyClaim });
  if (isProblem(match) || match.keys.length !== 1) return Promise.reject(new Error('key lookup failed: ' + JSON.stringify(match)));
  const signature = decodeBase64url(parts[2]);
  if (!signature) return Promise.reject(new Error('signature is not canonical base64url'));
  return Promise.resolve(verifySignature(algorithm, match.keys[0], utf8(parts[0] + '.' + parts[1]), signature));
}

/**
 * A.4's payload is the text "Payload", not a JSON object: the gateway (a JWT
 * verifier) must refuse the token as malformed before any crypto. Its
 * signature is still checked with the key the same JWK Set yields.
 */
async function checkEs512(example: Example): Promise<void> {
  const g = group('rfc7515 ' + example.name);
  const result = await authenticate(example.token, sourceFor(example), POLICY, BEFORE_EXP);
  expectRejected(g, 'non-JSON payload', result, 'TOKEN_MALFORMED');

  const genuine = await signatureOf(example, example.token);
  check(g, 'RFC signature verifies over the signing input', genuine === true, 'got ' + genuine);
  const badSignature = await signatureOf(example, tamperSignature(example.token));
  check(g, 'changed signature does not verify', badSignature === false, 'got ' + badSignature);
  const parts = example.token.split('.');
  const badPayload = await signatureOf(example, parts[0] + '.' + encodeBase64url(utf8('Payloae')) + '.' + parts[2]);
  check(g, 'changed payload does not verify', badPayload === false, 'got ' + badPayload);
  report(g);
}

/** Runs one example; an exception is a failure of that example, not of the run. */
async function guarded(name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (e) {
    const g = group('rfc7515 ' + name);
    fail(g, 'exception: ' + describeError(e));
    report(g);
  }
}

export async function rfc7515Examples(): Promise<void> {
  const jwts = [A1, A2, A3];
  for (let i = 0; i < jwts.length; i++) {
    const example = jwts[i];
    await guarded(example.name, () => checkJwt(example));
  }
  await guarded(A4.name, () => checkEs512(A4));
}
