/**
 * Identity providers' keys (njs/core/keys/remote.ts) inside the real engine:
 * the Cache-Control regexes of refreshAfter, keys stored as text and read back
 * (as the refresher and the requests share them), njs 0.7.9's kept keys, and providersSource
 * choosing a provider's keys by the token's iss, verified through
 * authenticate with this engine's capabilities. The tokens were signed with
 * node:crypto (test/support/tokens.ts signRaw, HS256, header {alg, typ, kid}),
 * never by the code under test, and are pasted here.
 */
import { authenticate, AuthResult } from '../../njs/core/authenticate';
import { fail as failure, isProblem, Problem } from '../../njs/core/errors';
import { jwksSource } from '../../njs/core/keys/jwks';
import {
  KeptKeys,
  keptKeys,
  Provider,
  ProviderKeys,
  providerName,
  providersSource,
  refreshAfter,
  storedDocument,
  storedFetchTime,
  storedKeys,
} from '../../njs/core/keys/remote';
import { Capabilities, KeySource } from '../../njs/core/keys/types';
import { isPromise } from '../../njs/core/maybe';
import { JsonObject } from '../../njs/core/strict-json';
import { engineCapabilities } from '../../njs/nginx/engine';
import { check, describeError, fail, Group, group, report } from './harness';

const ISSUER_A = 'https://idp-a.example';
const ISSUER_B = 'https://idp-b.example/realms/b';
const JWKS_URI = 'https://keys.example/jwks.json';
const NOW = 1729132271 + 3600;
const POLICY = { maxTokenBytes: 16384, leeway: 0, requiredClaims: [], keyClaim: 'key' };

/** The providers' HS256 keys: k is base64url of "issuer-a-hs256-secret-0123456789-abcdef" (b, and "jwks-uri-..." likewise). */
const KEYS_A: JsonObject[] = [{ kty: 'oct', kid: 'a1', alg: 'HS256', k: 'aXNzdWVyLWEtaHMyNTYtc2VjcmV0LTAxMjM0NTY3ODktYWJjZGVm' }];
const KEYS_B: JsonObject[] = [{ kty: 'oct', kid: 'b1', alg: 'HS256', k: 'aXNzdWVyLWItaHMyNTYtc2VjcmV0LTAxMjM0NTY3ODktYWJjZGVm' }];
const KEYS_J: JsonObject[] = [{ kty: 'oct', kid: 'j1', alg: 'HS256', k: 'andrcy11cmktaHMyNTYtc2VjcmV0LTAxMjM0NTY3ODktYWJjZGVm' }];

/** {"iss": ISSUER_A, "sub": "alice"}, kid a1, A's key. */
const OF_A =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImExIn0.eyJpc3MiOiJodHRwczovL2lkcC1hLmV4YW1wbGUiLCJzdWIiOiJhbGljZSJ9.FnGX7NwWRpzR-Hn-ITNqcwYxfl25J08A8kNa5oWROWQ';
/** {"iss": ISSUER_B, "sub": "bob"}, kid b1, B's key. */
const OF_B =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImIxIn0.eyJpc3MiOiJodHRwczovL2lkcC1iLmV4YW1wbGUvcmVhbG1zL2IiLCJzdWIiOiJib2IifQ.YY1HB1rvd3m2X-jj-oKVNAKZTAT_9HZ1xKGRNffhjYg';
/** {"iss": ISSUER_A, "sub": "mallory"}, kid b1, B's key. */
const B_AS_A_KID_B =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImIxIn0.eyJpc3MiOiJodHRwczovL2lkcC1hLmV4YW1wbGUiLCJzdWIiOiJtYWxsb3J5In0.InTDGE--y4Z7r1rB5LE6ecEIVMwYTzL9Dk11KEwvblA';
/** {"iss": ISSUER_A, "sub": "mallory"}, kid a1, B's key. */
const B_AS_A_KID_A =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImExIn0.eyJpc3MiOiJodHRwczovL2lkcC1hLmV4YW1wbGUiLCJzdWIiOiJtYWxsb3J5In0.rWafq7ZCABR8pFS3BN5HsMI4RaJlxS4B7SX3Ed-xvEM';
/** {"iss": "https://evil.example", "sub": "alice"}, kid a1, A's key. */
const UNKNOWN_ISS =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImExIn0.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZSIsInN1YiI6ImFsaWNlIn0.efV920hQ07bNbClGKFg3cYrs2fkRa6pnjwSiZfwl9A4';
/** {"iss": "https://tenant.example", "sub": "carol"}, kid j1, the JWK Set URL's key. */
const OF_J =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImoxIn0.eyJpc3MiOiJodHRwczovL3RlbmFudC5leGFtcGxlIiwic3ViIjoiY2Fyb2wifQ.ms9b6ErruKFQjHJVSn1ObEfaGGYpPDyEFsbi4exTl9s';
/** {"sub": "carol"}, no kid, the JWK Set URL's key. */
const OF_J_BARE = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYXJvbCJ9.wlTiR3zQtPyxKWeESg_kM9gb3PnkyPdwqPago_Son6I';
/** {"iss": ISSUER_A, "sub": "alice"}, kid a2 (a key A has not published yet), A's key. */
const A_ROTATED =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImEyIn0.eyJpc3MiOiJodHRwczovL2lkcC1hLmV4YW1wbGUiLCJzdWIiOiJhbGljZSJ9.OeuU7WlZTxJO3ldAAFiDUd9J8cJb4Gnk3_qvDaFZElY';

function refreshChecks(g: Group): void {
  const bounds = { minRefresh: 60, maxRefresh: 600, refetchInterval: 30 };
  const cases: [string | null, number][] = [
    ['max-age=300', 300],
    ['public, max-age=120', 120],
    ['max-age="90"', 90],
    ['Public, MAX-AGE=240', 240],
    ['max-age=5', 60],
    ['max-age=86400', 600],
    [null, 600],
    ['', 600],
    ['garbage', 600],
    ['max-age=abc', 600],
    ['no-cache', 60],
    ['No-Store', 60],
    ['max-age=0', 60],
    ['private, no-cache, max-age=300', 60],
    ['s-maxage=100', 600],
    ['public, s-maxage=100', 600],
    ['s-maxage=100, max-age=300', 300],
    ['x-max-age=100', 600],
  ];
  for (let i = 0; i < cases.length; i++) {
    const got = refreshAfter(cases[i][0], bounds);
    check(g, 'refreshAfter(' + JSON.stringify(cases[i][0]) + ') is ' + cases[i][1], got === cases[i][1], 'got ' + got);
  }
}

function storedChecks(g: Group): void {
  const keys: JsonObject[] = [KEYS_A[0], { kty: 'oct', kid: 'z\u00f6\ud83d\udd11', k: 'c2VjcmV0' }];
  const text = storedKeys(1800000123, keys);
  check(g, 'stored keys keep their fetch time', storedFetchTime(text) === 1800000123, text.slice(0, 20));
  const back = storedDocument(text) as JsonObject;
  const list = back && (back.keys as JsonObject[]);
  check(
    g,
    'stored keys read back as the JWK Set (a kid outside ASCII and the BMP too)',
    Array.isArray(list) && list.length === 2 && list[0].k === KEYS_A[0].k && list[1].kid === 'z\u00f6\ud83d\udd11',
    JSON.stringify(back),
  );
  const junk = ['junk', '', '\n{"keys":[]}', 'yesterday\n{"keys":[]}'];
  for (let i = 0; i < junk.length; i++) {
    const time = storedFetchTime(junk[i]);
    check(g, 'storedFetchTime(' + JSON.stringify(junk[i]) + ') is NaN', isNaN(time), 'got ' + time);
  }
}

interface Setup {
  source: KeySource;
  heard: number[];
}

/** The providers, each's keys stored as text and read back as the adapter does (njs/nginx/remote-keys.ts), or a problem. */
function setup(providers: Provider[], sets: (JsonObject[] | Problem)[], capabilities: Capabilities): Setup {
  const keysOf: ProviderKeys[] = [];
  for (let i = 0; i < providers.length; i++) {
    const set = sets[i];
    if (isProblem(set)) keysOf.push(() => set);
    else {
      const source = jwksSource(storedDocument(storedKeys(NOW, set)), providerName(providers[i]), capabilities);
      keysOf.push(() => source);
    }
  }
  const heard: number[] = [];
  return { source: providersSource(providers, keysOf, (position) => heard.push(position)), heard };
}

async function verify(token: string, source: KeySource, capabilities: Capabilities): Promise<AuthResult> {
  const maybe = authenticate(token, source, POLICY, NOW, capabilities);
  return isPromise(maybe) ? await maybe : maybe;
}

function outcome(result: AuthResult): string {
  return result.ok ? 'ok ' + JSON.stringify(result.identity || null) : result.code + ': ' + result.detail;
}

async function expectVerified(g: Group, what: string, token: string, s: Setup, consumer: string | null, capabilities: Capabilities): Promise<void> {
  const result = await verify(token, s.source, capabilities);
  const identity = result.ok ? result.identity : undefined;
  check(
    g,
    what + ' verifies' + (consumer ? ' as ' + consumer : ''),
    result.ok && (consumer === null ? !identity : !!identity && identity.consumer === consumer),
    outcome(result),
  );
}

async function expectRefused(g: Group, what: string, token: string, s: Setup, code: string, capabilities: Capabilities): Promise<void> {
  const result = await verify(token, s.source, capabilities);
  check(
    g,
    what + ' is ' + code + ' (401, failed to verify jwt)',
    !result.ok && result.code === code && result.status === 401 && result.message === 'failed to verify jwt',
    outcome(result),
  );
}

async function providerChecks(g: Group, capabilities: Capabilities): Promise<void> {
  const issuers = setup([{ issuer: ISSUER_A, name: 'alpha' }, { issuer: ISSUER_B }], [KEYS_A, KEYS_B], capabilities);
  await expectVerified(g, "A's token", OF_A, issuers, 'alpha', capabilities);
  await expectVerified(g, "B's token (no name=)", OF_B, issuers, null, capabilities);
  await expectRefused(g, "B's key claiming iss A with B's kid", B_AS_A_KID_B, issuers, 'KEY_NOT_FOUND', capabilities);
  await expectRefused(g, "B's key claiming iss A with A's kid", B_AS_A_KID_A, issuers, 'SIGNATURE_INVALID', capabilities);
  await expectRefused(g, 'an iss of no configured issuer, without a JWK Set URL', UNKNOWN_ISS, issuers, 'KEY_NOT_FOUND', capabilities);
  await expectRefused(g, 'a JWK Set URL key without a JWK Set URL provider', OF_J, issuers, 'KEY_NOT_FOUND', capabilities);
  check(g, 'only the kid A lacks was heard, at A', issuers.heard.join() === '0', JSON.stringify(issuers.heard));

  const mixed = setup([{ jwksUri: JWKS_URI }, { issuer: ISSUER_A, name: 'alpha' }, { issuer: ISSUER_B }], [KEYS_J, KEYS_A, KEYS_B], capabilities);
  await expectVerified(g, "the JWK Set URL's token of another iss", OF_J, mixed, null, capabilities);
  await expectVerified(g, "the JWK Set URL's token without iss or kid", OF_J_BARE, mixed, null, capabilities);
  await expectVerified(g, "A's token beside a JWK Set URL", OF_A, mixed, 'alpha', capabilities);
  await expectRefused(g, "A's key under an iss of no issuer (tried with the JWK Set URL's keys)", UNKNOWN_ISS, mixed, 'KEY_NOT_FOUND', capabilities);
  check(g, "A's kid, missing from the JWK Set URL's keys, was heard at the JWK Set URL", mixed.heard.join() === '0', JSON.stringify(mixed.heard));
  mixed.heard.length = 0;
  await expectRefused(g, "A's token with a kid A has not published", A_ROTATED, mixed, 'KEY_NOT_FOUND', capabilities);
  check(g, 'that kid was heard at A only', mixed.heard.join() === '1', JSON.stringify(mixed.heard));

  const unavailable = failure('KEYS_UNAVAILABLE', 'keys of ' + ISSUER_A + ' not fetched yet');
  const waiting = setup([{ jwksUri: JWKS_URI }, { issuer: ISSUER_A }], [KEYS_J, unavailable], capabilities);
  await expectRefused(g, "A's token while A's keys are unavailable", OF_A, waiting, 'KEYS_UNAVAILABLE', capabilities);
  const second = setup([{ jwksUri: 'https://down.example/jwks' }, { jwksUri: JWKS_URI }], [unavailable, KEYS_J], capabilities);
  await expectVerified(g, 'a token of the second JWK Set URL while the first is unavailable', OF_J, second, null, capabilities);
}

/** njs 0.7.9's files of kept keys, read back for their provider only. */
function keptChecks(g: Group): void {
  const kept: KeptKeys = { id: 'jwks ' + JWKS_URI + ' 60 600 30', fetchedAt: 1796157510, checkedAt: 1796157520, next: 1796157580, keys: KEYS_J };
  const back = keptKeys(JSON.parse(JSON.stringify(kept)), kept.id);
  check(g, 'kept keys read back for their provider', back !== null && back.fetchedAt === kept.fetchedAt && back.keys.length === 1, JSON.stringify(back));
  check(g, "kept keys are not another provider's", keptKeys(JSON.parse(JSON.stringify(kept)), 'jwks https://other.example/jwks 60 600 30') === null);
  check(g, 'a record without its times is no kept keys', keptKeys({ id: kept.id, keys: [] }, kept.id) === null);
}

export async function remoteKeysInEngine(): Promise<void> {
  const g = group("identity providers' keys (remote)");
  try {
    refreshChecks(g);
    storedChecks(g);
    keptChecks(g);
    await providerChecks(g, engineCapabilities());
  } catch (e) {
    fail(g, 'exception: ' + describeError(e));
  }
  report(g);
}
