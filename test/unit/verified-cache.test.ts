/**
 * The direct style's verification cache (njs/core/verified-cache.ts): an
 * entry lives until exp or the max age, whichever comes first; anything
 * malformed is no hit (verified again, never passed); and the key covers
 * every deciding setting of the table (njs/nginx/settings.ts's fingerprint).
 */
import { SETTINGS } from '../../build/settings-table';
import { Verified } from '../../njs/core/authenticate';
import { cachedVerified, cacheEntry, cacheSubject } from '../../njs/core/verified-cache';
import { readSettings } from '../../njs/nginx/settings';

const NOW = 1_800_000_000;

function verified(payload: { [name: string]: unknown } = { sub: 'carol', exp: NOW + 3600 }): Verified {
  return {
    ok: true,
    header: { alg: 'HS256', kid: 'k1' },
    payload: payload as Verified['payload'],
    payloadText: JSON.stringify(payload),
    identity: { consumer: 'carol', customId: 'c-7' },
    kid: 'k1',
    skipped: [],
  };
}

describe('cacheEntry and cachedVerified', () => {
  it('a stored result comes back as it was, without the skipped entries', () => {
    const entry = cacheEntry(verified(), NOW, 60)!;
    const back = cachedVerified(entry, NOW + 1)!;
    expect(back).toEqual({ ...verified(), skipped: [] });
  });

  it('lives max age seconds when exp is further away', () => {
    const entry = cacheEntry(verified(), NOW, 60)!;
    expect(cachedVerified(entry, NOW + 59)).not.toBeNull();
    expect(cachedVerified(entry, NOW + 60)).toBeNull();
  });

  it('never at or past exp (and a fractional exp counts down)', () => {
    const entry = cacheEntry(verified({ exp: NOW + 10.5 }), NOW, 60)!;
    expect(cachedVerified(entry, NOW + 9)).not.toBeNull();
    expect(cachedVerified(entry, NOW + 10)).toBeNull();
    expect(cacheEntry(verified({ exp: NOW }), NOW, 60)).toBeNull();
    expect(cacheEntry(verified({ exp: NOW - 5 }), NOW, 60)).toBeNull();
  });

  it('a token without exp lives max age; max age 0 stores nothing', () => {
    expect(cachedVerified(cacheEntry(verified({ sub: 'x' }), NOW, 5)!, NOW + 4)).not.toBeNull();
    expect(cacheEntry(verified(), NOW, 0)).toBeNull();
  });

  it('an entry whose end says later than the payload exp is still refused at exp', () => {
    const forged = JSON.stringify({ u: NOW + 1000, h: {}, p: { exp: NOW + 5 }, t: '{}' });
    expect(cachedVerified(forged, NOW + 4)).not.toBeNull();
    expect(cachedVerified(forged, NOW + 5)).toBeNull();
  });

  const good = JSON.parse(cacheEntry(verified(), NOW, 60)!);
  it.each([
    ['not a string', 42],
    ['not JSON', '{"u":'],
    ['an array', '[]'],
    ['null', 'null'],
    ['no end', JSON.stringify({ ...good, u: undefined })],
    ['a text end', JSON.stringify({ ...good, u: String(NOW + 60) })],
    ['a NaN-like end', '{"u":null,"h":{},"p":{},"t":"{}"}'],
    ['no header', JSON.stringify({ ...good, h: undefined })],
    ['an array payload', JSON.stringify({ ...good, p: [] })],
    ['no payload text', JSON.stringify({ ...good, t: 1 })],
    ['a numeric kid', JSON.stringify({ ...good, k: 7 })],
    ['an identity without consumer', JSON.stringify({ ...good, i: { credential: 'x' } })],
    ['an identity with a numeric custom id', JSON.stringify({ ...good, i: { consumer: 'a', customId: 1 } })],
    ['an exp that is text', JSON.stringify({ ...good, p: { exp: String(NOW + 3600) } })],
  ])('malformed (%s): no hit', (_name, text) => {
    expect(cachedVerified(text, NOW + 1)).toBeNull();
  });

  it('the subject keeps generation, settings and token on lines of their own', () => {
    expect(cacheSubject('g', 's', 't')).toBe('g\ns\nt');
  });
});

describe('the key covers every deciding setting', () => {
  const request = (values: { [name: string]: string }) =>
    ({ variables: { auth_jwt_consumers: 'c', auth_jwt_cache_zone: 'z', ...values } }) as unknown as NginxHTTPRequest;
  const fingerprint = (values: { [name: string]: string }) => readSettings(request(values)).settings.fingerprint;
  /** A valid value for each setting, unlike its default. */
  const other: { [name: string]: string } = {
    leeway: '5',
    maximum_expiration: '60',
    cache_max_age: '30',
    max_token_size: '100',
    reject_multiple_tokens: 'off',
    hide_credentials: 'on',
    require_error: '403',
    claim_rules: 'sub eq x',
    claim_set: 'v=sub',
  };

  it.each(SETTINGS.filter((setting) => setting.decides).map((setting) => setting.name))('$auth_jwt_%s changes the key', (name) => {
    const base = fingerprint({});
    const changed = fingerprint({ ['auth_jwt_' + name]: other[name] ?? 'other-' + name });
    expect(changed).not.toBe(base);
  });

  it('nothing is built without a cache zone', () => {
    expect(readSettings({ variables: { auth_jwt_consumers: 'c' } } as unknown as NginxHTTPRequest).settings.fingerprint).toBe('');
  });

  it('a bad $auth_jwt_cache, and the revocation zone as cache zone, are config problems', () => {
    expect(readSettings(request({ auth_jwt_cache: 'yes' })).problems.map((problem) => problem.entry)).toEqual(['$auth_jwt_cache']);
    expect(readSettings(request({ auth_jwt_revocation_zone: 'z' })).problems.map((problem) => problem.entry)).toEqual(['$auth_jwt_cache_zone']);
  });
});
