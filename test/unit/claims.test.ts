import { checkClaims, ClaimPolicy } from '../../njs/core/claims';
import { FailureCode } from '../../njs/core/errors';
import { JsonObject, parseJsonObject } from '../../njs/core/strict-json';
import { bytes, expectFailure, NOW } from '../support/core';

function claims(payload: JsonObject, overrides: Partial<ClaimPolicy> = {}, now = NOW) {
  return checkClaims(payload, { leeway: 0, required: [], ...overrides }, now);
}

function expectCode(payload: JsonObject, code: FailureCode, overrides: Partial<ClaimPolicy> = {}, now = NOW) {
  const failure = expectFailure(claims(payload, overrides, now), code);
  expect(failure.message).toBe('failed to verify jwt');
  return failure;
}

describe('exp', () => {
  test('a token before its exp is accepted', () => {
    expect(claims({ exp: NOW + 1 })).toBeNull();
    expect(claims({ exp: NOW + 86400 })).toBeNull();
  });

  test('now == exp is expired (exp is the first instant the token is not valid)', () => {
    expectCode({ exp: NOW }, 'TOKEN_EXPIRED');
  });

  test('a token after its exp is expired', () => {
    expectCode({ exp: NOW - 1 }, 'TOKEN_EXPIRED');
    expectCode({ exp: 0 }, 'TOKEN_EXPIRED');
  });

  test('fractional NumericDates are compared exactly', () => {
    expect(claims({ exp: NOW + 0.5 })).toBeNull();
    expectCode({ exp: NOW + 0.5 }, 'TOKEN_EXPIRED', {}, NOW + 0.5);
  });

  test('leeway: accepted until exp + leeway, expired at exp + leeway', () => {
    expect(claims({ exp: NOW - 29 }, { leeway: 30 })).toBeNull();
    expect(claims({ exp: NOW - 1 }, { leeway: 30 })).toBeNull();
    expectCode({ exp: NOW - 30 }, 'TOKEN_EXPIRED', { leeway: 30 });
    expectCode({ exp: NOW - 31 }, 'TOKEN_EXPIRED', { leeway: 30 });
  });

  test('the detail says which instant and leeway, for the log', () => {
    const failure = expectCode({ exp: NOW - 5 }, 'TOKEN_EXPIRED', { leeway: 2 });
    expect(failure.detail).toContain(String(NOW - 5));
    expect(failure.detail).toContain(String(NOW));
  });

  test('without exp there is no expiry check', () => {
    expect(claims({ sub: 'x' })).toBeNull();
  });
});

describe('nbf', () => {
  test('nbf == now is valid, nbf in the past is valid', () => {
    expect(claims({ nbf: NOW })).toBeNull();
    expect(claims({ nbf: NOW - 1000 })).toBeNull();
  });

  test('nbf one second ahead is not yet valid', () => {
    expectCode({ nbf: NOW + 1 }, 'TOKEN_NOT_YET_VALID');
  });

  test('leeway: nbf up to now + leeway is valid', () => {
    expect(claims({ nbf: NOW + 30 }, { leeway: 30 })).toBeNull();
    expectCode({ nbf: NOW + 31 }, 'TOKEN_NOT_YET_VALID', { leeway: 30 });
  });

  test('exp and nbf together: the valid window', () => {
    const window = { nbf: NOW, exp: NOW + 10 };
    expect(claims(window, {}, NOW)).toBeNull();
    expect(claims(window, {}, NOW + 9)).toBeNull();
    expectCode(window, 'TOKEN_NOT_YET_VALID', {}, NOW - 1);
    expectCode(window, 'TOKEN_EXPIRED', {}, NOW + 10);
  });
});

describe('NumericDate types', () => {
  test.each([
    ['a numeric string', String(NOW + 3600)],
    ['an ISO date', '2030-01-01T00:00:00Z'],
    ['an empty string', ''],
    ['null', null],
    ['true', true],
    ['an array', [NOW + 3600]],
    ['an object', { value: NOW + 3600 }],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
  ])('%s is CLAIM_INVALID for exp, nbf and iat', (_name, value) => {
    for (const claim of ['exp', 'nbf', 'iat']) {
      const failure = expectCode({ [claim]: value }, 'CLAIM_INVALID');
      expect(failure.detail).toContain(claim);
    }
  });

  test('1e400 in the JSON (parsed as Infinity) is CLAIM_INVALID, not "never expires"', () => {
    const payload = parseJsonObject(bytes('{"exp":1e400}'));
    expect(typeof payload).toBe('object');
    expectCode(payload as JsonObject, 'CLAIM_INVALID');
  });

  test('an invalid iat is rejected even when exp is fine', () => {
    expectCode({ exp: NOW + 60, iat: 'yesterday' }, 'CLAIM_INVALID');
  });

  test('a valid iat alone is accepted (iat in the future is not checked)', () => {
    expect(claims({ iat: NOW - 60 })).toBeNull();
  });
});

describe('required claims', () => {
  test('a missing required claim is CLAIM_MISSING naming it', () => {
    const failure = expectCode({ sub: 'alice' }, 'CLAIM_MISSING', { required: ['sub', 'exp'] });
    expect(failure.detail).toContain('"exp"');
  });

  test('all required claims present is accepted', () => {
    expect(claims({ sub: 'alice', exp: NOW + 60 }, { required: ['sub', 'exp'] })).toBeNull();
  });

  test('required exp that is expired is TOKEN_EXPIRED', () => {
    expectCode({ exp: NOW - 1 }, 'TOKEN_EXPIRED', { required: ['exp'] });
  });

  test('required nbf missing is CLAIM_MISSING, not accepted', () => {
    expectCode({ exp: NOW + 60 }, 'CLAIM_MISSING', { required: ['nbf'] });
  });

  test('falsy values count as present', () => {
    expect(claims({ scope: '', admin: false, n: 0 }, { required: ['scope', 'admin', 'n'] })).toBeNull();
  });

  test('a required claim is present only as an own member of the payload (not inherited from Object.prototype)', () => {
    const payload = parseJsonObject(bytes('{"sub":"x"}')) as JsonObject;
    expectCode(payload, 'CLAIM_MISSING', { required: ['iss'] });
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expectCode(payload, 'CLAIM_MISSING', { required: [name] });
    }
  });
});

describe('issuers, audiences, maximum lifetime', () => {
  test('iss must be one of the allowed issuers when they are set', () => {
    const issuers = ['https://idp.example', 'https://other.example'];
    expect(claims({ iss: 'https://other.example' }, { issuers })).toBeNull();
    expectCode({ iss: 'https://evil.example' }, 'CLAIM_INVALID', { issuers });
    expectCode({}, 'CLAIM_INVALID', { issuers });
    expectCode({ iss: ['https://idp.example'] }, 'CLAIM_INVALID', { issuers });
    expect(claims({ iss: 'anything' }, { issuers: [] })).toBeNull();
  });

  test('aud (string or array) must name an accepted audience when they are set', () => {
    const audiences = ['api'];
    expect(claims({ aud: 'api' }, { audiences })).toBeNull();
    expect(claims({ aud: ['web', 'api'] }, { audiences })).toBeNull();
    expectCode({ aud: 'web' }, 'CLAIM_INVALID', { audiences });
    expectCode({ aud: ['web'] }, 'CLAIM_INVALID', { audiences });
    expectCode({}, 'CLAIM_INVALID', { audiences });
    expectCode({ aud: 'api,web' }, 'CLAIM_INVALID', { audiences });
  });

  test('maxLifetime requires exp and bounds it', () => {
    expect(claims({ exp: NOW + 300 }, { maxLifetime: 300 })).toBeNull();
    expectCode({ exp: NOW + 301 }, 'CLAIM_INVALID', { maxLifetime: 300 });
    expectCode({}, 'CLAIM_MISSING', { maxLifetime: 300 });
    expectCode({ exp: NOW + 100, iat: NOW - 1000 }, 'CLAIM_INVALID', { maxLifetime: 300 });
    expect(claims({ exp: NOW + 100 }, { maxLifetime: 0 })).toBeNull();
  });
});
