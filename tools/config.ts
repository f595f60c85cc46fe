/**
 * What the soak and the fuzz configs share: the http block's start (the
 * gateway bundle, a consumer map and a JWK Set preloaded as NAME_consumers and
 * NAME_jwks, the variables, the cached auth_request style's verifier) and an
 * upstream NAME_upstream on ${UPSTREAM_PORT} with kept-alive connections.
 * Both are filled in by startNginx (test/support/nginx.ts).
 */
import { cachedStyleHttp, configHead } from '../test/support/nginx';

export function toolHttp(name: string, options: { errorLogLevel: string; keepalive: number; http?: string[] }): string {
  return (
    configHead({ errorLogLevel: options.errorLogLevel }) +
    [
      '    access_log off;',
      ...(options.http ?? []).map((line) => '    ' + line),
      '',
      '    js_import jwt from ${BUNDLE};',
      `    js_preload_object ${name}_consumers from \${PREFIX}/consumers.json;`,
      `    js_preload_object ${name}_jwks from \${PREFIX}/jwks.json;`,
      '    include ${ROOT}/nginx/jwt-variables.conf;',
      '',
      '    # The cached auth_request style: its verifier server on a unix socket.',
      cachedStyleHttp(),
      '',
      `    upstream ${name}_upstream {`,
      '        server 127.0.0.1:${UPSTREAM_PORT};',
      `        keepalive ${options.keepalive};`,
      '    }',
      '',
    ].join('\n')
  );
}
