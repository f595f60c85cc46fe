/**
 * Finding the token in the request and hiding it from the upstream
 * (njs/nginx/request-token.ts), with a stand-in for njs's request object:
 * every spelling of the token's cookie or query argument that nginx, njs or an
 * upstream could read counts (F5: two different ones are "Multiple tokens"),
 * and hide_credentials removes every one of them and nothing else (F6).
 */
import { jest } from '@jest/globals';
import fc from 'fast-check';
import {
  argsWithoutToken,
  cookiesWithoutToken,
  cookieTokens,
  findToken,
  hideValue,
  queryTokens,
  upstreamArgs,
  upstreamAuthorization,
  upstreamCookie,
  upstreamValue,
} from '../../njs/nginx/request-token';
import { readSettings, Settings } from '../../njs/nginx/settings';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20241017;
const A = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnLWE';
const B = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiIn0.c2lnLWI';

interface Sent {
  headers?: { [name: string]: string };
  /** $args of a main request. */
  args?: string;
  /** $request_uri (what a subrequest reads). */
  uri?: string;
  /** $http_cookie: nginx joins every Cookie header with "; ". */
  cookie?: string;
  settings?: { [name: string]: string };
  requestId?: string;
}

function request(sent: Sent): NginxHTTPRequest {
  const variables: { [name: string]: string | undefined } = { auth_jwt_consumers: 'consumers', request_id: sent.requestId ?? 'req-' + Math.random() };
  if (sent.args !== undefined) variables.args = sent.args;
  if (sent.uri !== undefined) variables.request_uri = sent.uri;
  if (sent.cookie !== undefined) variables.http_cookie = sent.cookie;
  for (const name of Object.keys(sent.settings ?? {})) variables['auth_jwt_' + name] = sent.settings![name];
  // njs looks request headers up by name in any case.
  const headers: { [name: string]: string } = {};
  for (const name of Object.keys(sent.headers ?? {})) headers[name.toLowerCase()] = sent.headers![name];
  const headersIn = new Proxy({}, { get: (_t, name) => (typeof name === 'string' ? headers[name.toLowerCase()] : undefined) });
  return { variables, headersIn, error: jest.fn() } as unknown as NginxHTTPRequest;
}

function settingsOf(r: NginxHTTPRequest): Settings {
  const read = readSettings(r);
  expect(read.problems).toEqual([]);
  return read.settings;
}

function found(sent: Sent, isSubrequest = false): { token: string; conflicting: boolean } {
  const r = request(sent);
  return findToken(r, settingsOf(r), isSubrequest);
}

describe('F5: every spelling of the token counts, so two different tokens are refused', () => {
  const conflicts: [string, Sent][] = [
    ['two jwt cookies in one header', { cookie: 'jwt=' + A + '; jwt=' + B }],
    ['two Cookie headers (nginx joins them with "; ")', { cookie: 'jwt=' + A + '; jwt=' + B }],
    ['JWT and jwt', { cookie: 'JWT=' + A + '; jwt=' + B }],
    ['a comma as the separator', { cookie: 'a=1, jwt=' + A + '; jwt=' + B }],
    ['spaces around the name and the =', { cookie: 'x=1;  jwt = ' + A + ' ; jwt=' + B }],
    ['a percent-encoded cookie name', { cookie: 'j%77t=' + A + '; jwt=' + B }],
    ['two jwt arguments', { args: 'jwt=' + A + '&jwt=' + B }],
    ['JWT and jwt arguments', { args: 'JWT=' + A + '&jwt=' + B }],
    ['a percent-encoded argument name', { args: 'j%77t=' + A + '&jwt=' + B }],
    ['an upper-case percent-encoded name', { args: '%4A%57%54=' + A + '&jwt=' + B }],
    ['an argument and a case-variant cookie', { args: 'jwt=' + A, cookie: 'Jwt=' + B }],
    ['the header and a cookie after a comma', { headers: { Authorization: 'Bearer ' + A }, cookie: 'a=1, jwt=' + B }],
    ['the header and an encoded argument', { headers: { Authorization: A }, args: 'j%77t=' + B }],
  ];
  for (const [name, sent] of conflicts) {
    it(name + ': conflicting', () => {
      expect(found(sent)).toEqual({ token: expect.any(String), conflicting: true });
    });
  }

  it('the same token repeated in every spelling is one token', () => {
    expect(
      found({ headers: { Authorization: 'Bearer ' + A }, args: 'jwt=' + A + '&JWT=' + A + '&j%77t=' + A, cookie: 'jwt=' + A + '; JWT=' + A + ', Jwt=' + A }),
    ).toEqual({ token: A, conflicting: false });
    // A percent-encoded token in the query is the same token as in a cookie.
    expect(found({ args: 'jwt=' + A.split('.').join('%2E'), cookie: 'jwt=' + A })).toEqual({ token: A, conflicting: false });
  });

  it('each spelling alone is read as the token (and so is what hiding removes)', () => {
    for (const sent of [
      { cookie: 'JWT=' + A },
      { cookie: 'Jwt=' + A },
      { cookie: 'a=1, jwt=' + A },
      { cookie: 'a=1;jwt =' + A },
      { args: 'j%77t=' + A },
      { args: 'JwT=' + A },
      { args: 'x=1&jwt=' + A + '&y=2' },
    ]) {
      expect(found(sent)).toEqual({ token: A, conflicting: false });
    }
  });

  it('other names are not the token: prefixes, suffixes, a Kelvin sign, an encoded "=" or a value', () => {
    const r = request({ settings: { cookie: 'token', query: 'token' } });
    const settings = settingsOf(r);
    for (const sent of [
      { cookie: 'xjwt=' + A + '; jwtx=' + B + '; other=jwt' },
      { args: 'jwtx=' + A + '&xjwt=' + B + '&a=jwt&jwt%3D=' + B },
      { args: 'jwt%=' + A + '&j%77t%ZZ=' + B },
      { cookie: 'jwt', args: 'jwt' },
    ]) {
      expect(found(sent)).toEqual({ token: '', conflicting: false });
    }
    // toLowerCase() would turn the Kelvin sign into "k"; nginx compares ASCII case only.
    const kelvin = request({ settings: { cookie: 'token', query: 'token' }, cookie: 'to\u212Aen=' + A, args: 'to%E2%84%AAen=' + B });
    expect(findToken(kelvin, settings, false)).toEqual({ token: '', conflicting: false });
    expect(findToken(request({ settings: { cookie: 'token' }, cookie: 'ToKeN=' + A }), settings, false)).toEqual({ token: A, conflicting: false });
  });

  it('with $auth_jwt_reject_multiple_tokens off the first one wins: header, query, then cookies in order', () => {
    const lenient = { reject_multiple_tokens: 'off' };
    expect(found({ settings: lenient, headers: { Authorization: A }, args: 'jwt=' + B, cookie: 'jwt=' + B })).toEqual({ token: A, conflicting: false });
    expect(found({ settings: lenient, args: 'JWT=' + B + '&jwt=' + A, cookie: 'jwt=' + A })).toEqual({ token: B, conflicting: false });
    expect(found({ settings: lenient, cookie: 'a=1, JWT=' + B + '; jwt=' + A })).toEqual({ token: B, conflicting: false });
  });

  it('a main request reads $args; a subrequest (auth_request) reads the client query from $request_uri, with the same parser', () => {
    expect(found({ args: 'j%77t=' + A + '&JWT=' + B, uri: '/x' })).toMatchObject({ conflicting: true });
    expect(found({ args: '', uri: '/x?j%77t=' + A + '&JWT=' + B }, true)).toMatchObject({ conflicting: true });
    expect(found({ args: '', uri: '/x?a=1&Jwt=' + A }, true)).toEqual({ token: A, conflicting: false });
    expect(found({ args: 'jwt=' + A, uri: '/x' }, true)).toEqual({ token: '', conflicting: false });
  });

  it('empty values are no tokens', () => {
    expect(found({ args: 'jwt=&JWT=', cookie: 'jwt=; Jwt= ' })).toEqual({ token: '', conflicting: false });
    expect(found({ args: 'jwt=&JWT=' + A, cookie: 'jwt=' })).toEqual({ token: A, conflicting: false });
  });
});

describe('F6: hiding removes every spelling and keeps everything else byte for byte', () => {
  const cookies: [string, string][] = [
    ['jwt=T', ''],
    ['JWT=T', ''],
    ['Jwt=T', ''],
    ['a=1, jwt=T', 'a=1'],
    ['a=1, jwt=T; b=2', 'a=1, b=2'],
    ['a=1; jwt=T; b=2', 'a=1; b=2'],
    ['jwt=T; a=1', 'a=1'],
    ['a=1;jwt=T;b=2', 'a=1;b=2'],
    ['a=1; JWT=T; b=2; jwt=U; c="x, y"', 'a=1; b=2; c="x, y"'],
    ['a=1; j%77t=T; b=2', 'a=1; b=2'],
    ['a=1; jwt = T ; b=2', 'a=1; b=2'],
    ['a=1; jwt; b=2', 'a=1; b=2'],
    ['a=1; b=2', 'a=1; b=2'],
    ['a=1;  b=2 ;c', 'a=1;  b=2 ;c'],
    ['xjwt=1; jwtx=2; other=jwt', 'xjwt=1; jwtx=2; other=jwt'],
  ];

  const queries: [string, string][] = [
    ['jwt=T', ''],
    ['a=1&jwt=T&b=2', 'a=1&b=2'],
    ['a=1&JWT=T&b=2&Jwt=U', 'a=1&b=2'],
    ['j%77t=T&a=%20x+y', 'a=%20x+y'],
    ['%4A%57%54=T&a=1', 'a=1'],
    ['a=1&&jwt=T&', 'a=1&&'],
    ['a=1&jwt&b=2', 'a=1&b=2'],
    ['a=jwt&jwtx=1&b=%ZZ', 'a=jwt&jwtx=1&b=%ZZ'],
  ];
  // What is kept, and no token is left in it.
  const removals: [string, [string, string][], (text: string, name: string) => string, (text: string, name: string) => unknown[]][] = [
    ['Cookie', cookies, cookiesWithoutToken, cookieTokens],
    ['query', queries, argsWithoutToken, queryTokens],
  ];
  for (const [label, table, without, tokens] of removals) {
    for (const [text, kept] of table) {
      it(label + ' ' + JSON.stringify(text) + ' -> ' + JSON.stringify(kept), () => {
        expect(without(text, 'jwt')).toBe(kept);
        expect(tokens(without(text, 'jwt'), 'jwt')).toEqual([]);
      });
    }
  }

  it('the setting names the cookie and the argument in any case', () => {
    expect(cookiesWithoutToken('a=1; My_Token=T', 'my_token')).toBe('a=1');
    expect(argsWithoutToken('a=1&my_token=T', 'My_Token')).toBe('a=1');
  });

  /** Random cookie headers: names among every spelling of jwt and others, any separator, spaces anywhere. */
  const cookieName = fc.constantFrom('jwt', 'JWT', 'Jwt', 'j%77t', '%6A%77%74', ' jwt', 'jwt ', 'a', 'b', 'xjwt', 'jwtx', 'j', '');
  const cookieValue = fc.constantFrom('T', 'U', '', '1', 'jwt', '"q"', 'a=b');
  const separator = fc.constantFrom(';', '; ', ',', ', ', ';  ', ' ;');
  const cookieHeader = fc
    .array(fc.tuple(cookieName, fc.boolean(), cookieValue, separator), { minLength: 1, maxLength: 8 })
    .map((pairs) => pairs.map(([name, eq, value, sep], i) => (eq ? name + '=' + value : name) + (i < pairs.length - 1 ? sep : '')).join(''));

  it('property: what hiding leaves holds no token, and every other cookie is still there in order, as sent', () => {
    fc.assert(
      fc.property(cookieHeader, (header) => {
        const hidden = cookiesWithoutToken(header, 'jwt');
        expect(cookieTokens(hidden, 'jwt')).toEqual([]);
        const others = (text: string) =>
          text
            .split(/[;,]/)
            .map((piece) => piece.trim())
            .filter((piece) => piece !== '' && !/^(jwt|j%77t|%6A%77%74)\s*(=|$)/i.test(piece));
        expect(others(hidden)).toEqual(others(header));
        // Kept text is a copy of the sent text, not a re-spelling.
        for (const piece of hidden.split(/[;,]/)) expect(header).toContain(piece.trim());
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  const argName = fc.constantFrom('jwt', 'JWT', 'jWt', 'j%77t', 'J%57T', '%6a%77%74', 'a', 'b', 'xjwt', 'jwt%', 'jw+t', '');
  const query = fc
    .array(fc.tuple(argName, fc.boolean(), fc.constantFrom('T', '', '1', '%20', 'jwt')), { minLength: 1, maxLength: 8 })
    .map((pairs) => pairs.map(([name, eq, value]) => (eq ? name + '=' + value : name)).join('&'));

  it('property: what hiding leaves of a query holds no token, and every other argument is still there in order, as sent', () => {
    fc.assert(
      fc.property(query, (q) => {
        const hidden = argsWithoutToken(q, 'jwt');
        expect(queryTokens(hidden, 'jwt')).toEqual([]);
        // The reference: a name is the token's when it decodes (+ as a space) to jwt in any case.
        const isToken = (pair: string) => {
          let name = pair.split('=')[0].split('+').join(' ');
          try {
            name = decodeURIComponent(name);
          } catch {
            // not valid percent-encoding: as sent
          }
          return name.toLowerCase() === 'jwt';
        };
        const pairs = q.split('&');
        const kept = pairs.filter((pair) => !isToken(pair));
        expect(hidden).toBe(kept.length === pairs.length ? q : kept.join('&'));
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('the upstream variables come from the settings and the request alone', () => {
  const hiding = { hide_credentials: 'on' };

  it('hiding on: no Authorization, no token argument, no token cookie; the rest as sent', () => {
    const r = request({
      settings: hiding,
      headers: { Authorization: 'Bearer ' + A },
      args: 'a=1&j%77t=' + A + '&b=2',
      cookie: 'a=1, JWT=' + A + '; b=2; Jwt=' + A,
    });
    expect(upstreamValue(r, hideValue, '1')).toBe('1');
    expect(upstreamValue(r, upstreamAuthorization, '')).toBe('');
    expect(upstreamValue(r, upstreamArgs, '')).toBe('a=1&b=2');
    expect(upstreamValue(r, upstreamCookie, '')).toBe('a=1, b=2');
  });

  it('hiding off: everything as sent', () => {
    const r = request({ headers: { Authorization: 'Bearer ' + A }, args: 'a=1&jwt=' + A, cookie: 'jwt=' + A + '; b=2' });
    expect(upstreamValue(r, hideValue, '1')).toBe('');
    expect(upstreamValue(r, upstreamAuthorization, '')).toBe('Bearer ' + A);
    expect(upstreamValue(r, upstreamArgs, '')).toBe('a=1&jwt=' + A);
    expect(upstreamValue(r, upstreamCookie, '')).toBe('jwt=' + A + '; b=2');
  });

  it('with a custom token header, hiding keeps Authorization (the README says to clear that header yourself)', () => {
    const r = request({ settings: { ...hiding, header: 'X-Token' }, headers: { Authorization: 'Basic eDp5', 'X-Token': A } });
    expect(upstreamValue(r, upstreamAuthorization, '')).toBe('Basic eDp5');
    const auth = request({ settings: { ...hiding, header: 'AUTHORIZATION' }, headers: { Authorization: A } });
    expect(upstreamValue(auth, upstreamAuthorization, '')).toBe('');
  });

  it('the settings are read at most once per request; an exception hides rather than leaks, and is logged', () => {
    const r = request({ settings: hiding, args: 'jwt=' + A, cookie: 'jwt=' + A, requestId: 'same-request' });
    const variables = r.variables as { [name: string]: string | undefined };
    let reads = 0;
    const watched = new Proxy(variables, {
      get: (target, name) => {
        if (name === 'auth_jwt_hide_credentials') reads++;
        return target[name as string];
      },
    });
    const counted = { ...r, variables: watched } as unknown as NginxHTTPRequest;
    expect(upstreamValue(counted, upstreamArgs, '')).toBe('');
    expect(upstreamValue(counted, upstreamCookie, '')).toBe('');
    expect(upstreamValue(counted, hideValue, '1')).toBe('1');
    expect(reads).toBe(1);
    const broken = request({ settings: hiding, requestId: 'broken' });
    expect(
      upstreamValue(
        broken,
        () => {
          throw new Error('boom');
        },
        '',
      ),
    ).toBe('');
    expect(broken.error).toHaveBeenCalledWith(expect.stringContaining('jwt-gateway: unexpected error'));
  });
});
