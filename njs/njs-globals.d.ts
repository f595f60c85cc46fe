// Declarations njs-types lacks: r.setReturnValue (njs 0.7.0+), used by
// async js_set handlers, and njs's Node-like `process`.

interface NginxHTTPRequest {
  setReturnValue(value: NjsStringLike): void;
}
declare const process: { env: { [name: string]: string | undefined } };
