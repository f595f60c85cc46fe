// The floor of a JWT check in njs, for the benchmark (tools/bench/bench.ts,
// /floor in nginx/bench/nginx.conf): what a minimal hand-written js_set
// costs, so every run shows the gap between it and the gateway's direct
// style. HS256 only, one fixed secret ($floor_secret, base64), a Bearer
// header, the signature and exp checked; none of the gateway's care (no
// consumer map, strict JSON, alg allow-lists, claim rules, messages). Not
// for production.
import crypto from 'crypto';

function decoded(segment) {
  return JSON.parse(Buffer.from(segment, 'base64url').toString());
}

// The token's `key` claim when it verifies, else ''.
function verified(r) {
  var authorization = r.headersIn.Authorization || '';
  if (authorization.slice(0, 7) !== 'Bearer ') return '';
  var token = authorization.slice(7);
  var first = token.indexOf('.');
  var second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0) return '';
  try {
    if (decoded(token.slice(0, first)).alg !== 'HS256') return '';
    var signature = crypto.createHmac('sha256', Buffer.from(r.variables.floor_secret, 'base64')).update(token.slice(0, second)).digest('base64url');
    if (signature !== token.slice(second + 1)) return '';
    var payload = decoded(token.slice(first + 1, second));
    if (typeof payload.exp !== 'number' || payload.exp <= Date.now() / 1000) return '';
    return typeof payload.key === 'string' ? payload.key : '';
  } catch (e) {
    return '';
  }
}

export default { verified };
