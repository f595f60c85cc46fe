// The njs globals that the nginx adapter (njs/nginx/*) names, loosely typed,
// for unit tests that import it with a stand-in request object. The real
// declarations (njs-types) conflict with @types/node, and the adapter itself
// is type-checked strictly against them by the root tsconfig.json.
declare type NginxHTTPRequest = any;
declare type NginxPeriodicSession = any;
declare const njs: { version: string; engine?: string; [name: string]: any };
declare const ngx: { [name: string]: any };
