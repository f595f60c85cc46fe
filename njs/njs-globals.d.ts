// Declarations njs-types lacks: CommonJS `require` for built-in modules and
// r.setReturnValue (njs 0.7.0+), used by async js_set handlers.
declare function require(name: 'fs'): typeof import('fs').default;
declare function require(name: 'crypto'): typeof import('crypto').default;

interface NginxHTTPRequest {
  setReturnValue(value: NjsStringLike): void;
}

// njs has a Node-like `process` (argv, env, pid) in every version.
declare const process: { env: { [name: string]: string | undefined } };
