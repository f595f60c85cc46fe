// oidc-provider 9 ships no types; what test/support/identity-provider.ts uses of it.
declare module 'oidc-provider' {
  import { IncomingMessage, ServerResponse } from 'node:http';
  export default class Provider {
    constructor(issuer: string, configuration: object);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
