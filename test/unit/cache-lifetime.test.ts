import { cacheUntil } from '../../njs/core/cache-lifetime';

const NOW = 1_800_000_000;
const allowed = { allowed: true, exp: NOW + 3600, maxAge: 60, keyCoversDecision: true, now: NOW };

describe('cacheUntil (X-Accel-Expires of the verifier)', () => {
  it('an allowed token is kept for max age when exp is further away', () => {
    expect(cacheUntil(allowed)).toBe('@' + (NOW + 60));
  });

  it('never through exp: the last second kept is exp - 1', () => {
    expect(cacheUntil({ ...allowed, exp: NOW + 10 })).toBe('@' + (NOW + 9));
    expect(cacheUntil({ ...allowed, exp: NOW + 10.5 })).toBe('@' + (NOW + 9));
  });

  it('a token that expires within a second, or was accepted within the leeway after exp, is not kept', () => {
    expect(cacheUntil({ ...allowed, exp: NOW + 1 })).toBe('0');
    expect(cacheUntil({ ...allowed, exp: NOW - 5 })).toBe('0');
  });

  it('a token without exp is kept for max age', () => {
    expect(cacheUntil({ ...allowed, exp: undefined })).toBe('@' + (NOW + 60));
  });

  it('denials, uncovered decisions and max age 0 are never kept', () => {
    expect(cacheUntil({ ...allowed, allowed: false })).toBe('0');
    expect(cacheUntil({ ...allowed, keyCoversDecision: false })).toBe('0');
    expect(cacheUntil({ ...allowed, maxAge: 0 })).toBe('0');
  });
});
