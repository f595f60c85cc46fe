/**
 * Identity providers' keys (njs/core/keys/remote.ts): which provider's keys a
 * token is tried with (its `iss` only chooses them, the signature decides),
 * how long fetched keys are kept, which fetched documents may replace good
 * keys, and how keys are stored between the refresher and the requests; and
 * the settings that name the providers (njs/nginx/settings.ts). The adapter
 * that fetches (njs/nginx/remote-keys.ts) is covered by
 * test/integration/remote-jwks.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { authenticate, AuthResult } from '../../njs/core/authenticate';
import { describeProblem, describeProblems, fail, isProblem, Problem } from '../../njs/core/errors';
import { jwksSource } from '../../njs/core/keys/jwks';
import {
  acceptedJwks,
  Answer,
  discoveredJwksUri,
  discoveryUrl,
  fetchedLine,
  fetchProviderKeys,
  Get,
  KeptKeys,
  keptKeys,
  MAX_DOCUMENT_BYTES,
  notRefreshedLine,
  Provider,
  ProviderKeys,
  providerName,
  providersSource,
  refreshAfter,
  RefreshPolicy,
  storedDocument,
  storedFetchTime,
  sourceId,
  storedKeys,
} from '../../njs/core/keys/remote';
import { KeySource } from '../../njs/core/keys/types';
import { JsonObject } from '../../njs/core/strict-json';
import { readSettings } from '../../njs/nginx/settings';
import { CAPS, CAPS_NO_ED25519, compact, expectFailure, expectOk, NOW, policy, publicJwk } from '../support/core';

const ISSUER_A = 'https://idp-a.example';
const ISSUER_B = 'https://idp-b.example/realms/b';
const JWKS_1 = 'https://keys-1.example/jwks.json';
const JWKS_2 = 'https://keys-2.example/.well-known/jwks.json?tenant=acme';

interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JsonObject;
}

/** An ES256 key pair made by jose, its public half as a JWK with this kid. */
async function makeKey(kid: string): Promise<TestKey> {
  const pair = await generateKeyPair('ES256');
  return { kid, privateKey: pair.privateKey, jwk: { ...((await exportJWK(pair.publicKey)) as JsonObject), kid, alg: 'ES256' } };
}

const keys: { [name: string]: TestKey } = {};

beforeAll(async () => {
  for (const name of ['a', 'b', 'j1', 'j2']) keys[name] = await makeKey(name);
});

/** A token signed by `key`, with `kid` in its header (the key's own unless given; none for null) and `iss` (none for undefined). */
function mint(key: TestKey, iss: string | undefined, kid: string | null = key.kid, claims: JsonObject = {}): Promise<string> {
  const header: { alg: string; kid?: string } = { alg: 'ES256' };
  if (kid !== null) header.kid = kid;
  const jwt = new SignJWT({ sub: 'alice', ...claims }).setProtectedHeader(header).setExpirationTime(NOW + 60);
  return (iss === undefined ? jwt : jwt.setIssuer(iss)).sign(key.privateKey);
}

/** A provider's keys as the adapter gives them: a JWK Set source named after the provider, or why there are none. */
function keysFor(provider: Provider, set: TestKey[] | Problem): ProviderKeys {
  if (isProblem(set)) return () => set;
  const source = jwksSource({ keys: set.map((key) => key.jwk) }, providerName(provider), CAPS);
  return () => source;
}

interface Setup {
  source: KeySource;
  /** Positions the unknown-kid callback heard, in order. */
  heard: number[];
}

function setup(providers: [Provider, TestKey[] | Problem][]): Setup {
  const heard: number[] = [];
  const source = providersSource(
    providers.map((entry) => entry[0]),
    providers.map((entry) => keysFor(entry[0], entry[1])),
    (position) => heard.push(position),
  );
  return { source, heard };
}

function run(token: string, source: KeySource): Promise<AuthResult> {
  return Promise.resolve(authenticate(token, source, policy(), NOW, CAPS));
}

/** A refusal as the client sees it (401, APISIX's message) and the log's detail. */
async function refused(token: string, source: KeySource, code: 'KEY_NOT_FOUND' | 'SIGNATURE_INVALID' | 'KEYS_UNAVAILABLE'): Promise<Problem> {
  const failure = expectFailure(await run(token, source), code);
  expect(failure.message).toBe('failed to verify jwt');
  return failure;
}

describe('providersSource: the iss chooses the keys, the signature decides', () => {
  const two = () =>
    setup([
      [{ issuer: ISSUER_A }, [keys.a]],
      [{ issuer: ISSUER_B }, [keys.b]],
    ]);

  test("a token of issuer A verifies with A's keys, and one of B with B's", async () => {
    const s = two();
    const a = expectOk(await run(await mint(keys.a, ISSUER_A), s.source));
    expect(a.payload.iss).toBe(ISSUER_A);
    expect(a.kid).toBe('a');
    expect(a.identity).toBeUndefined();
    expectOk(await run(await mint(keys.b, ISSUER_B), s.source));
    expect(s.heard).toEqual([]);
  });

  test("a token signed by B's key claiming iss A is refused, whatever kid it names", async () => {
    const s = two();
    // B's own kid: A's keys do not have it.
    const byKid = await refused(await mint(keys.b, ISSUER_A), s.source, 'KEY_NOT_FOUND');
    expect(byKid.detail).toBe('no key with kid "b" in issuer ' + ISSUER_A);
    // A's kid, or no kid: A's key is tried, and B's signature does not verify with it.
    const asA = await refused(await mint(keys.b, ISSUER_A, 'a'), s.source, 'SIGNATURE_INVALID');
    expect(asA.detail).toBe('signature does not verify with ES256');
    await refused(await mint(keys.b, ISSUER_A, null), s.source, 'SIGNATURE_INVALID');
    // The same key does verify a token that says it is B's.
    expectOk(await run(await mint(keys.b, ISSUER_B, null), s.source));
  });

  test('a token whose iss is a configured issuer is never tried with the JWK Set URLs', async () => {
    const s = setup([
      [{ jwksUri: JWKS_1 }, [keys.j1]],
      [{ issuer: ISSUER_A }, [keys.a]],
    ]);
    await refused(await mint(keys.j1, ISSUER_A), s.source, 'KEY_NOT_FOUND');
    await refused(await mint(keys.j1, ISSUER_A, null), s.source, 'SIGNATURE_INVALID');
    expect(s.heard).toEqual([1]);
  });

  test('an iss of no configured issuer, without a JWK Set URL, is KEY_NOT_FOUND before any key is tried', async () => {
    const s = two();
    const failure = await refused(await mint(keys.a, 'https://evil.example'), s.source, 'KEY_NOT_FOUND');
    expect(failure.detail).toBe('iss "https://evil.example" is none of the identity providers');
    // An issuer differing only by a trailing slash is another issuer.
    await refused(await mint(keys.a, ISSUER_A + '/'), s.source, 'KEY_NOT_FOUND');
    const none = await refused(await mint(keys.a, undefined), s.source, 'KEY_NOT_FOUND');
    expect(none.detail).toMatch(/is none of the identity providers$/);
    await refused(await mint(keys.a, undefined, 'a', { iss: 42 }), s.source, 'KEY_NOT_FOUND');
    expect(s.heard).toEqual([]);
  });

  test('with a JWK Set URL, tokens of any other iss (or none) are tried with its keys', async () => {
    const s = setup([
      [{ issuer: ISSUER_A }, [keys.a]],
      [{ jwksUri: JWKS_1 }, [keys.j1]],
    ]);
    const verified = expectOk(await run(await mint(keys.j1, 'https://tenant.example'), s.source));
    expect(verified.identity).toBeUndefined();
    expectOk(await run(await mint(keys.j1, undefined), s.source));
    // A's key under an iss that is not A's: only the JWK Set URL's keys are tried.
    await refused(await mint(keys.a, 'https://tenant.example'), s.source, 'KEY_NOT_FOUND');
    await refused(await mint(keys.a, 'https://tenant.example', 'j1'), s.source, 'SIGNATURE_INVALID');
    expect(s.heard).toEqual([1]);
  });

  test("name= makes the issuer's tokens run as that consumer ($jwt_consumer); unnamed issuers give none", async () => {
    const s = setup([
      [{ issuer: ISSUER_A, name: 'alpha' }, [keys.a]],
      [{ issuer: ISSUER_B }, [keys.b]],
    ]);
    expect(expectOk(await run(await mint(keys.a, ISSUER_A), s.source)).identity).toEqual({ consumer: 'alpha' });
    expect(expectOk(await run(await mint(keys.b, ISSUER_B), s.source)).identity).toBeUndefined();
    // A refused token of the named issuer is refused as any other: no consumer is named where no key was found.
    await refused(await mint(keys.b, ISSUER_A, 'a'), s.source, 'SIGNATURE_INVALID');
    await refused(await mint(keys.b, ISSUER_A, 'rotated'), s.source, 'KEY_NOT_FOUND');
    const noKey = await refused(compact({ alg: 'HS256' }, { iss: ISSUER_A }, 'AAAA'), s.source, 'KEY_NOT_FOUND');
    expect(noKey.detail).toBe('no usable key for alg HS256 in the identity providers');
  });

  test('origin: the one provider by name, several as "the identity providers"', async () => {
    const hs256 = compact({ alg: 'HS256' }, { iss: ISSUER_A }, 'AAAA');
    const one = setup([[{ issuer: ISSUER_A }, [keys.a]]]);
    expect(one.source.origin).toBe('issuer ' + ISSUER_A);
    expect((await refused(hs256, one.source, 'KEY_NOT_FOUND')).detail).toBe('no usable key for alg HS256 in issuer ' + ISSUER_A);
    const several = two();
    expect(several.source.origin).toBe('the identity providers');
    expect((await refused(hs256, several.source, 'KEY_NOT_FOUND')).detail).toBe('no usable key for alg HS256 in the identity providers');
    expect(providerName({ jwksUri: JWKS_1 })).toBe(JWKS_1);
    expect(providerName({ issuer: ISSUER_B, name: 'beta' })).toBe('issuer ' + ISSUER_B);
  });
});

describe('providersSource: unknown kids (the refresher fetches again)', () => {
  const jwksUris = () =>
    setup([
      [{ jwksUri: JWKS_1 }, [keys.j1]],
      [{ jwksUri: JWKS_2 }, [keys.j2]],
    ]);

  test("a kid the chosen issuer's keys lack is heard with that issuer's position", async () => {
    const s = setup([
      [{ jwksUri: JWKS_1 }, [keys.j1]],
      [{ issuer: ISSUER_A }, [keys.a]],
      [{ issuer: ISSUER_B }, [keys.b]],
    ]);
    await refused(await mint(keys.b, ISSUER_B, 'rotated'), s.source, 'KEY_NOT_FOUND');
    expect(s.heard).toEqual([2]);
  });

  test('a found kid is not heard, nor a token without kid, nor a kid that is not a string', async () => {
    const s = jwksUris();
    expectOk(await run(await mint(keys.j1, undefined), s.source));
    expectOk(await run(await mint(keys.j1, undefined, null), s.source));
    const numeric = await refused(compact({ alg: 'ES256', kid: 7 }, { sub: 'x' }, 'AAAA'), s.source, 'KEY_NOT_FOUND');
    expect(numeric.detail).toBe('kid is not a string');
    expect(s.heard).toEqual([]);
  });

  test('several JWK Set URLs: a kid one of them has is heard by none; a kid none has, by each, in order', async () => {
    const s = jwksUris();
    const verified = expectOk(await run(await mint(keys.j2, undefined), s.source));
    expect(verified.kid).toBe('j2');
    expect(s.heard).toEqual([]);
    s.heard.length = 0;
    const failure = await refused(await mint(keys.j2, undefined, 'unknown'), s.source, 'KEY_NOT_FOUND');
    expect(failure.detail).toBe('no key with kid "unknown" in ' + JWKS_2);
    expect(s.heard).toEqual([0, 1]);
  });
});

describe("providersSource: a provider's keys unavailable", () => {
  const unavailable = (url: string) => fail('KEYS_UNAVAILABLE', 'keys of ' + url + ' not fetched yet');

  test('the only candidate: its problem is the answer (401, failed to verify jwt)', async () => {
    const s = setup([[{ jwksUri: JWKS_1 }, unavailable(JWKS_1)]]);
    const failure = await refused(await mint(keys.j1, undefined), s.source, 'KEYS_UNAVAILABLE');
    expect(failure.detail).toBe('keys of ' + JWKS_1 + ' not fetched yet');
    expect(s.heard).toEqual([]);
  });

  test("an issuer's keys unavailable: its tokens are refused, not tried with a JWK Set URL's keys", async () => {
    const s = setup([
      [{ jwksUri: JWKS_1 }, [keys.j1]],
      [{ issuer: ISSUER_A }, unavailable('issuer ' + ISSUER_A)],
    ]);
    await refused(await mint(keys.j1, ISSUER_A), s.source, 'KEYS_UNAVAILABLE');
    expectOk(await run(await mint(keys.j1, 'https://tenant.example'), s.source));
  });

  test('several JWK Set URLs: the next is tried; the last one unavailable gives its problem', async () => {
    const first = setup([
      [{ jwksUri: JWKS_1 }, unavailable(JWKS_1)],
      [{ jwksUri: JWKS_2 }, [keys.j2]],
    ]);
    expectOk(await run(await mint(keys.j2, undefined), first.source));
    expect(first.heard).toEqual([]);
    const last = setup([
      [{ jwksUri: JWKS_1 }, [keys.j1]],
      [{ jwksUri: JWKS_2 }, unavailable(JWKS_2)],
    ]);
    expectOk(await run(await mint(keys.j1, undefined), last.source));
    const failure = await refused(await mint(keys.j2, undefined), last.source, 'KEYS_UNAVAILABLE');
    expect(failure.detail).toBe('keys of ' + JWKS_2 + ' not fetched yet');
    expect(last.heard).toEqual([]);
    const neither = setup([
      [{ jwksUri: JWKS_1 }, unavailable(JWKS_1)],
      [{ jwksUri: JWKS_2 }, unavailable(JWKS_2)],
    ]);
    expect((await refused(await mint(keys.j1, undefined), neither.source, 'KEYS_UNAVAILABLE')).detail).toBe('keys of ' + JWKS_2 + ' not fetched yet');
  });

  test('a key source that answers later (a promise) is waited for', async () => {
    const later = jwksSource({ keys: [keys.j2.jwk] }, JWKS_2, CAPS);
    const deferred: KeySource = {
      origin: JWKS_2,
      lookup: (token, algorithm, options) => Promise.resolve(later.lookup(token, algorithm, options)),
    };
    const heard: number[] = [];
    const source = providersSource([{ jwksUri: JWKS_1 }, { jwksUri: JWKS_2 }], [keysFor({ jwksUri: JWKS_1 }, [keys.j1]), () => deferred], (position) =>
      heard.push(position),
    );
    expectOk(await run(await mint(keys.j2, undefined), source));
    await refused(await mint(keys.j2, undefined, 'gone'), source, 'KEY_NOT_FOUND');
    expect(heard).toEqual([0, 1]);
  });
});

describe('refreshAfter: how long fetched keys are kept', () => {
  const bounds: RefreshPolicy = { minRefresh: 60, maxRefresh: 600, refetchInterval: 30 };

  test.each([
    ['max-age=300', 300],
    ['public, max-age=300', 300],
    ['max-age=60', 60],
    ['max-age=600', 600],
    ['private,max-age=120', 120],
    [' max-age=120', 120],
  ])('%j within the bounds: %d', (header, seconds) => {
    expect(refreshAfter(header, bounds)).toBe(seconds);
  });

  test.each([
    ['max-age=5', 60],
    ['max-age=1', 60],
    ['max-age=601', 600],
    ['max-age=86400', 600],
    ['max-age=99999999999', 600],
  ])('%j is clamped to the bounds: %d', (header, seconds) => {
    expect(refreshAfter(header, bounds)).toBe(seconds);
  });

  test.each([[null], [undefined], ['']])('no Cache-Control (%j): the upper bound', (header) => {
    expect(refreshAfter(header, bounds)).toBe(600);
  });

  test.each(['no-cache', 'no-store', 'max-age=0', 'private, no-cache', 'no-store, max-age=300', 'max-age=300, no-cache', 'no-cache="Set-Cookie"'])(
    '%j: the lower bound',
    (header) => {
      expect(refreshAfter(header, bounds)).toBe(60);
    },
  );

  test.each(['garbage', 'max-age=', 'max-age=abc', 'max-age=-5', 'max-age', 'public', 'max-stale=100', 'x-max-age=100'])(
    '%j (no max-age): the upper bound',
    (header) => {
      expect(refreshAfter(header, bounds)).toBe(600);
    },
  );

  test('a quoted max-age is read', () => {
    expect(refreshAfter('max-age="300"', bounds)).toBe(300);
    expect(refreshAfter('public, max-age="90"', bounds)).toBe(90);
  });

  test('directive names are case-insensitive', () => {
    expect(refreshAfter('MAX-AGE=300', bounds)).toBe(300);
    expect(refreshAfter('Public, Max-Age=120', bounds)).toBe(120);
    expect(refreshAfter('NO-CACHE', bounds)).toBe(60);
    expect(refreshAfter('No-Store', bounds)).toBe(60);
  });

  test("s-maxage (shared caches' lifetime) is not max-age", () => {
    expect(refreshAfter('s-maxage=100', bounds)).toBe(600);
    expect(refreshAfter('public, s-maxage=100', bounds)).toBe(600);
    expect(refreshAfter('S-MAXAGE=100', bounds)).toBe(600);
    expect(refreshAfter('s-maxage=100, max-age=300', bounds)).toBe(300);
    expect(refreshAfter('max-age=300, s-maxage=100', bounds)).toBe(300);
  });

  test('other bounds are followed', () => {
    expect(refreshAfter('max-age=5', { minRefresh: 1, maxRefresh: 10, refetchInterval: 1 })).toBe(5);
    expect(refreshAfter(null, { minRefresh: 1, maxRefresh: 10, refetchInterval: 1 })).toBe(10);
    expect(refreshAfter('no-store', { minRefresh: 1, maxRefresh: 10, refetchInterval: 1 })).toBe(1);
  });
});

describe('discovery (OpenID Connect Discovery 1.0)', () => {
  test('discoveryUrl: the well-known path after the issuer, one trailing slash of it dropped', () => {
    expect(discoveryUrl('https://idp.example')).toBe('https://idp.example/.well-known/openid-configuration');
    expect(discoveryUrl('https://idp.example/')).toBe('https://idp.example/.well-known/openid-configuration');
    expect(discoveryUrl('https://idp.example/realms/a')).toBe('https://idp.example/realms/a/.well-known/openid-configuration');
    expect(discoveryUrl('https://idp.example/realms/a/')).toBe('https://idp.example/realms/a/.well-known/openid-configuration');
  });

  const issuer = 'https://idp.example/realms/a';
  const url = discoveryUrl(issuer);

  test('a document for exactly this issuer gives its jwks_uri', () => {
    expect(discoveredJwksUri({ issuer, jwks_uri: issuer + '/protocol/openid-connect/certs' }, issuer, url)).toBe(issuer + '/protocol/openid-connect/certs');
    expect(discoveredJwksUri({ issuer: 'http://localhost:8080', jwks_uri: 'http://localhost:8080/jwks' }, 'http://localhost:8080', url)).toBe(
      'http://localhost:8080/jwks',
    );
    // An issuer configured with its trailing slash must be the document's, slash included.
    expect(discoveredJwksUri({ issuer: 'https://idp.example/', jwks_uri: 'https://idp.example/jwks' }, 'https://idp.example/', url)).toBe(
      'https://idp.example/jwks',
    );
  });

  test.each([
    ['another issuer', 'https://evil.example/realms/a'],
    ['the issuer with a trailing slash', issuer + '/'],
    ['the issuer in other case', 'https://IDP.example/realms/a'],
  ])('a document of %s is refused, saying why (Discovery 4.3)', (_what, documented) => {
    const problem = discoveredJwksUri({ issuer: documented, jwks_uri: 'https://evil.example/jwks' }, issuer, url) as Problem;
    expect(isProblem(problem)).toBe(true);
    expect(problem.code).toBe('CONFIG_INVALID');
    expect(describeProblem(problem)).toBe(
      url + ': discovery document: field "issuer": is ' + JSON.stringify(documented) + ', not "' + issuer + '" (OpenID Connect Discovery 4.3): refused',
    );
  });

  test("an https issuer's document naming a plain-http jwks_uri is refused: the keys would come without TLS (RFC 8414 2)", () => {
    const problem = discoveredJwksUri({ issuer, jwks_uri: 'http://idp.example/certs' }, issuer, url) as Problem;
    expect(describeProblem(problem)).toBe(url + ': discovery document: field "jwks_uri": is "http://idp.example/certs", not https like the issuer: refused');
  });

  test('a document without issuer is refused', () => {
    const problem = discoveredJwksUri({ jwks_uri: issuer + '/certs' }, issuer, url) as Problem;
    expect(isProblem(problem)).toBe(true);
    expect(problem.field).toBe('issuer');
    expect(problem.message).toMatch(/, not "https:\/\/idp\.example\/realms\/a" \(OpenID Connect Discovery 4\.3\): refused$/);
  });

  test.each([
    ['missing', undefined],
    ['a number', 5],
    ['an array', [issuer + '/certs']],
    ['relative', '/certs'],
    ['scheme-relative', '//idp.example/certs'],
    ['ftp', 'ftp://idp.example/certs'],
    ['file', 'file:///etc/passwd'],
    ['empty', ''],
  ])('a jwks_uri that is %s is refused', (_what, jwksUri) => {
    const document: JsonObject = jwksUri === undefined ? { issuer } : { issuer, jwks_uri: jwksUri as JsonObject['x'] };
    const problem = discoveredJwksUri(document, issuer, url) as Problem;
    expect(isProblem(problem)).toBe(true);
    expect(describeProblem(problem)).toBe(url + ': discovery document: field "jwks_uri": missing or not an http(s) URL');
  });
});

describe('acceptedJwks: which fetched JWK Sets may replace the keys in use', () => {
  const url = JWKS_1;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed25519 = generateKeyPairSync('ed25519');
  const rsaJwk = publicJwk(rsa.publicKey, { kid: 'r1' });
  const privateJwk = { ...(rsa.privateKey.export({ format: 'jwk' }) as JsonObject), kid: 'leaked' };

  test.each([
    ['no keys member', {}],
    ['keys null', { keys: null }],
    ['keys an object', { keys: { kid: 'r1' } }],
    ['keys a string', { keys: 'r1' }],
  ])('%s: refused, the keys in use are kept', (_what, document) => {
    const problem = acceptedJwks(document as JsonObject, url, CAPS) as Problem;
    expect(isProblem(problem)).toBe(true);
    expect(problem.code).toBe('CONFIG_INVALID');
    expect(describeProblem(problem)).toBe(url + ': JWK Set: field "keys": missing (expected {"keys": [...]})');
  });

  test.each([
    ['none at all', [], 0],
    ['entries that are no JWK', [null, 'r1', 7, [rsaJwk]], 4],
    ['broken or refused keys', [{ kty: 'oct' }, privateJwk, { ...rsaJwk, use: 'enc' }, { kty: 'RSA', n: 'AQAB', e: 'AQAB' }], 4],
  ])('only unusable keys (%s): refused, saying the last good keys are kept', (_what, list, count) => {
    const problem = acceptedJwks({ keys: list as JsonObject[] }, url, CAPS) as Problem;
    expect(isProblem(problem)).toBe(true);
    expect(describeProblem(problem)).toBe(url + ': JWK Set: field "keys": no key the gateway can use (of ' + count + '): the last good keys are kept');
  });

  test('keys this engine cannot use count as unusable (Ed25519 before njs 0.9.7)', () => {
    const list = [publicJwk(ed25519.publicKey, { kid: 'ed' })];
    expect(acceptedJwks({ keys: list }, url, CAPS)).toEqual({ keys: list, listed: 1 });
    const problem = acceptedJwks({ keys: list }, url, CAPS_NO_ED25519) as Problem;
    expect(problem.message).toBe('no key the gateway can use (of 1): the last good keys are kept');
  });

  test('usable and unusable keys mixed: only the usable ones are kept, with the count of those listed', async () => {
    const list = [null, keys.a.jwk, privateJwk, rsaJwk, { kty: 'oct', k: '' }, publicJwk(ed25519.publicKey)];
    const accepted = acceptedJwks({ keys: list as JsonObject[] }, url, CAPS_NO_ED25519);
    expect(isProblem(accepted)).toBe(false);
    expect(accepted).toEqual({ keys: [keys.a.jwk, rsaJwk], listed: 6 });
  });
});

describe('stored keys (between the refresher and the requests)', () => {
  test('storedKeys, storedFetchTime and storedDocument round trip', () => {
    const list = [keys.a.jwk, { kty: 'oct', kid: 'z\u00f6\ud83d\udd11', k: 'c2VjcmV0' }];
    const text = storedKeys(1_800_000_123, list);
    expect(text.split('\n')[0]).toBe('1800000123');
    expect(storedFetchTime(text)).toBe(1_800_000_123);
    expect(storedDocument(text)).toEqual({ keys: list });
    expect(storedFetchTime(storedKeys(0, []))).toBe(0);
    expect(storedDocument(storedKeys(0, []))).toEqual({ keys: [] });
  });

  test('the stored document is a JWK Set the gateway verifies with', async () => {
    const text = storedKeys(NOW, [keys.j1.jwk]);
    const source = jwksSource(storedDocument(text), JWKS_1, CAPS);
    expectOk(await run(await mint(keys.j1, undefined), source));
  });

  test.each([
    ['junk', 'junk'],
    ['empty', ''],
    ['no fetch time', '\n{"keys":[]}'],
    ['a fetch time that is no number', 'yesterday\n{"keys":[]}'],
    ['JSON alone', '{"keys":[]}'],
  ])('storedFetchTime of %s is NaN', (_what, text) => {
    expect(storedFetchTime(text)).toBeNaN();
  });
});

describe('fetchProviderKeys: the JWK Set a fetch may bring, however it is fetched', () => {
  const answer = (body: unknown, more: Partial<Answer> = {}): Answer => ({
    status: 200,
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    cacheControl: 'max-age=300',
    ...more,
  });
  /** A Get that answers by URL, and the URLs it was asked for. */
  function server(answers: { [url: string]: Answer | Problem }): { get: Get; asked: string[] } {
    const asked: string[] = [];
    return { asked, get: (url) => (asked.push(url), Promise.resolve(answers[url] ?? answer('', { status: 404 }))) };
  }
  const ISSUER = 'https://idp.example/realms/a';
  const DISCOVERY = ISSUER + '/.well-known/openid-configuration';

  test("an issuer's keys come from its discovery document's jwks_uri, with the JWK Set answer's Cache-Control", async () => {
    const { get, asked } = server({
      [DISCOVERY]: answer({ issuer: ISSUER, jwks_uri: ISSUER + '/certs' }),
      [ISSUER + '/certs']: answer({ keys: [keys.j1.jwk] }),
    });
    expect(await fetchProviderKeys({ issuer: ISSUER }, get, CAPS)).toEqual({
      keys: [keys.j1.jwk],
      listed: 1,
      cacheControl: 'max-age=300',
    });
    expect(asked).toEqual([DISCOVERY, ISSUER + '/certs']);
  });

  test.each([
    ['not 200', answer({ keys: [] }, { status: 503 }), /answered 503, not 200/],
    ['over the cap', answer('{"keys":[],"pad":"' + 'x'.repeat(MAX_DOCUMENT_BYTES) + '"}'), /over the cap of 1048576 bytes/],
    ['HTML', answer('<html></html>'), /not valid JSON/],
    ['without a usable key', answer({ keys: [{ kty: 'RSA' }] }), /no key the gateway can use/],
    ['unreachable', fail('CONFIG_INVALID', 'unreachable'), /unreachable/],
  ])('a JWK Set answer %s gives a problem, never keys', async (_what, reply, message) => {
    const found = await fetchProviderKeys({ jwksUri: JWKS_1 }, server({ [JWKS_1]: reply }).get, CAPS);
    expect(isProblem(found) && (describeProblem(found) + found.detail).match(message)).toBeTruthy();
  });

  test('a discovery document for another issuer stops before the JWK Set is asked for', async () => {
    const { get, asked } = server({ [DISCOVERY]: answer({ issuer: 'https://evil.example', jwks_uri: ISSUER + '/certs' }) });
    const found = await fetchProviderKeys({ issuer: ISSUER }, get, CAPS);
    expect(isProblem(found) && describeProblem(found)).toMatch(/OpenID Connect Discovery 4\.3/);
    expect(asked).toEqual([DISCOVERY]);
  });

  test('the log lines say what was fetched, and what stays in use when nothing was', () => {
    const fetched = { keys: [keys.j1.jwk], listed: 2, cacheControl: null };
    expect(fetchedLine({ jwksUri: JWKS_1 }, fetched, 60)).toBe('keys of ' + JWKS_1 + ' fetched: 1 usable of 2, next fetch in 60 s');
    expect(notRefreshedLine({ issuer: ISSUER }, 'down', 12, 30)).toBe(
      'keys of issuer ' + ISSUER + ' not refreshed: down; the keys fetched 12 s ago stay in use, up to $auth_jwt_jwks_max_stale; next try in 30 s',
    );
    expect(notRefreshedLine({ issuer: ISSUER }, 'down', null, 30)).toContain('there are no keys yet, so its tokens are refused');
  });
});

describe("kept keys (njs 0.7.9's files)", () => {
  const kept: KeptKeys = {
    id: sourceId({ jwksUri: JWKS_1 }, { minRefresh: 60, maxRefresh: 600, refetchInterval: 30 }),
    fetchedAt: 100,
    checkedAt: 110,
    next: 160,
    keys: [],
  };

  test('a file gives back the keys of its provider and refresh policy only', () => {
    expect(kept.id).toBe('jwks ' + JWKS_1 + ' 60 600 30');
    expect(keptKeys(JSON.parse(JSON.stringify(kept)), kept.id)).toEqual(kept);
    expect(keptKeys(JSON.parse(JSON.stringify(kept)), sourceId({ jwksUri: JWKS_1 }, { minRefresh: 1, maxRefresh: 600, refetchInterval: 30 }))).toBeNull();
  });

  test.each([
    ['no keys list', { ...kept, keys: 'none' }],
    ['no fetch time', { ...kept, fetchedAt: undefined }],
    ['a next time that is text', { ...kept, next: '160' }],
  ])('a record with %s is none', (_what, record) => {
    expect(keptKeys(JSON.parse(JSON.stringify(record)), kept.id)).toBeNull();
  });
});

describe('readSettings: identity providers', () => {
  const settingsOf = (values: { [name: string]: string }) => readSettings({ variables: values } as unknown as NginxHTTPRequest);
  const problemsOf = (values: { [name: string]: string }) => describeProblems(settingsOf(values).problems);

  test('both settings: the JWK Set URLs first, then the issuers, each with its name=', () => {
    const read = settingsOf({
      auth_jwt_oidc_issuer: 'alpha=https://idp-a.example https://idp-b.example/realms/b',
      auth_jwt_jwks_uri: 'https://keys-1.example/jwks.json,https://keys-2.example/jwks.json',
    });
    expect(read.problems).toEqual([]);
    expect(read.settings.providers).toStrictEqual([
      { jwksUri: 'https://keys-1.example/jwks.json' },
      { jwksUri: 'https://keys-2.example/jwks.json' },
      { issuer: 'https://idp-a.example', name: 'alpha' },
      { issuer: 'https://idp-b.example/realms/b' },
    ]);
  });

  test('lists may be separated by spaces, commas or both', () => {
    const read = settingsOf({ auth_jwt_oidc_issuer: ' a=https://a.example , b=https://b.example,,https://c.example ' });
    expect(read.problems).toEqual([]);
    expect(read.settings.providers).toStrictEqual([
      { issuer: 'https://a.example', name: 'a' },
      { issuer: 'https://b.example', name: 'b' },
      { issuer: 'https://c.example' },
    ]);
  });

  test('names may have letters, digits and . _ @ -', () => {
    expect(settingsOf({ auth_jwt_oidc_issuer: 'team.a_1@corp-x=https://idp.example' }).settings.providers).toStrictEqual([
      { issuer: 'https://idp.example', name: 'team.a_1@corp-x' },
    ]);
  });

  test("a URL's own = stays in it", () => {
    const read = settingsOf({
      auth_jwt_jwks_uri: 'https://keys.example/jwks?tenant=acme&v=2',
      auth_jwt_oidc_issuer: 'https://idp.example/realm?x=1 acme=https://idp.example/?tenant=acme',
    });
    expect(read.problems).toEqual([]);
    expect(read.settings.providers).toStrictEqual([
      { jwksUri: 'https://keys.example/jwks?tenant=acme&v=2' },
      { issuer: 'https://idp.example/realm?x=1' },
      { issuer: 'https://idp.example/?tenant=acme', name: 'acme' },
    ]);
  });

  test.each([
    'keys.example/jwks.json',
    'ftp://keys.example/jwks.json',
    'https:/keys.example',
    'https://',
    'name=https://keys.example/jwks.json',
    '"https://keys.example"',
  ])('$auth_jwt_jwks_uri %j is refused, the good URLs kept', (entry) => {
    const read = settingsOf({ auth_jwt_jwks_uri: 'https://good.example/jwks ' + entry });
    expect(describeProblems(read.problems)).toEqual(['$auth_jwt_jwks_uri: expected http(s) URLs, got ' + JSON.stringify(entry)]);
    expect(read.settings.providers).toStrictEqual([{ jwksUri: 'https://good.example/jwks' }]);
  });

  test.each(['idp.example', 'alpha=', 'alpha=idp.example', 'alpha=ftp://idp.example', 'bad name=https://idp.example', 'a:b=https://idp.example'])(
    '$auth_jwt_oidc_issuer %j is refused',
    (value) => {
      const read = settingsOf({ auth_jwt_oidc_issuer: value });
      expect(read.problems.length).toBeGreaterThan(0);
      for (const problem of read.problems) {
        expect(problem.entry).toBe('$auth_jwt_oidc_issuer');
        expect(problem.message).toMatch(/^expected \[name=\]issuer with an http\(s\) issuer URL, got "/);
      }
    },
  );

  test('an issuer entry that is not a URL is named in the message', () => {
    expect(problemsOf({ auth_jwt_oidc_issuer: 'alpha=idp.example' })).toEqual([
      '$auth_jwt_oidc_issuer: expected [name=]issuer with an http(s) issuer URL, got "alpha=idp.example"',
    ]);
  });

  test('defaults: refresh between 60 and 600 s, unknown kids at most every 30 s, a day of staleness, zone jwt_jwks', () => {
    const read = settingsOf({ auth_jwt_jwks_uri: JWKS_1 });
    expect(read.problems).toEqual([]);
    expect(read.settings.jwksRefresh).toEqual({ minRefresh: 60, maxRefresh: 600, refetchInterval: 30 });
    expect(read.settings.jwksMaxStale).toBe(86400);
    expect(read.settings.jwksZone).toBe('jwt_jwks');
  });

  test('the refresh settings as set', () => {
    const read = settingsOf({
      auth_jwt_oidc_issuer: ISSUER_A,
      auth_jwt_jwks_min_refresh: '30',
      auth_jwt_jwks_max_refresh: '3600',
      auth_jwt_jwks_refetch_interval: '10',
      auth_jwt_jwks_max_stale: '7200',
      auth_jwt_jwks_zone: 'idp_keys',
    });
    expect(read.problems).toEqual([]);
    expect(read.settings.jwksRefresh).toEqual({ minRefresh: 30, maxRefresh: 3600, refetchInterval: 10 });
    expect(read.settings.jwksMaxStale).toBe(7200);
    expect(read.settings.jwksZone).toBe('idp_keys');
    // Equal bounds are allowed: a fixed refresh.
    expect(settingsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_jwks_min_refresh: '300', auth_jwt_jwks_max_refresh: '300' }).problems).toEqual([]);
  });

  test('a lower bound above the upper bound is a problem', () => {
    expect(problemsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_jwks_min_refresh: '700' })).toEqual([
      '$auth_jwt_jwks_max_refresh: must not be less than $auth_jwt_jwks_min_refresh',
    ]);
    expect(problemsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_jwks_min_refresh: '120', auth_jwt_jwks_max_refresh: '90' })).toEqual([
      '$auth_jwt_jwks_max_refresh: must not be less than $auth_jwt_jwks_min_refresh',
    ]);
  });

  test('0 for a bound or the refetch interval is a problem', () => {
    expect(problemsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_jwks_min_refresh: '0' })).toEqual(['$auth_jwt_jwks_min_refresh: must be at least 1 second']);
    expect(problemsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_jwks_max_refresh: '0' })).toEqual([
      '$auth_jwt_jwks_max_refresh: must not be less than $auth_jwt_jwks_min_refresh',
    ]);
    expect(problemsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_jwks_refetch_interval: '0' })).toEqual([
      '$auth_jwt_jwks_refetch_interval: must be at least 1 second',
    ]);
  });

  test('a maximum stale age below the upper refresh bound and the refetch interval is a problem: the keys would be refused before their next fetch', () => {
    expect(problemsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_jwks_max_stale: '629' })).toEqual([
      '$auth_jwt_jwks_max_stale: must be at least $auth_jwt_jwks_max_refresh + $auth_jwt_jwks_refetch_interval: the keys would be refused before their next fetch',
    ]);
    expect(problemsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_jwks_max_stale: '630' })).toEqual([]);
  });

  test.each(['jwks_min_refresh', 'jwks_max_refresh', 'jwks_refetch_interval', 'jwks_max_stale'])(
    '$auth_jwt_%s that is not a whole number is a problem',
    (name) => {
      expect(problemsOf({ auth_jwt_jwks_uri: JWKS_1, ['auth_jwt_' + name]: '10s' })).toContain('$auth_jwt_' + name + ': must be a whole number, got "10s"');
    },
  );

  test('a location without providers reads none of their settings', () => {
    const read = settingsOf({ auth_jwt_key_file: 'keys.json', auth_jwt_jwks_min_refresh: 'soon', auth_jwt_jwks_max_stale: '-1' });
    expect(read.problems).toEqual([]);
    expect(read.settings.providers).toEqual([]);
  });

  test.each([
    ['$auth_jwt_key_file and $auth_jwt_oidc_issuer', { auth_jwt_key_file: 'keys.json', auth_jwt_oidc_issuer: ISSUER_A }],
    ['$auth_jwt_consumers and $auth_jwt_jwks_uri', { auth_jwt_consumers: 'consumers.json', auth_jwt_jwks_uri: JWKS_1 }],
  ])('%s in one location is a problem', (_what, values) => {
    expect(problemsOf(values)).toEqual([
      '$auth_jwt_key_file: set one key source in a location: $auth_jwt_key_file, $auth_jwt_consumers, or identity providers ($auth_jwt_jwks_uri, $auth_jwt_oidc_issuer)',
    ]);
  });

  test('$auth_jwt_jwks_uri and $auth_jwt_oidc_issuer together are one key source', () => {
    expect(settingsOf({ auth_jwt_jwks_uri: JWKS_1, auth_jwt_oidc_issuer: ISSUER_A }).problems).toEqual([]);
  });

  test('a location with no key source at all is a problem naming every source', () => {
    const problems = settingsOf({}).problems;
    expect(problems.map((problem) => problem.entry)).toEqual(['$auth_jwt_key_file']);
    expect(problems[0].message).toMatch(/^no key source: set \$auth_jwt_key_file \(JWK Set\), \$auth_jwt_consumers \(consumer map\) or identity providers/);
    expect(problems[0].message).toContain('$auth_jwt_jwks_uri, $auth_jwt_oidc_issuer');
  });
});
