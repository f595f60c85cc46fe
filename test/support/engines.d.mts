/** Features tests branch on (see engines.mjs). */
export interface EngineFeatures {
  preloadObject: boolean;
  sharedDict: boolean;
  periodic: boolean;
  ed25519: boolean;
  slowPreload: boolean;
  preloadFailureLogged: boolean;
  envDirectiveOnly: boolean;
}

export interface Engine {
  /** system, trixie, sid or sid-qjs. */
  id: string;
  /** As printed at run time, e.g. "nginx 1.30.6 / njs 1.0.2 (QuickJS)". */
  name: string;
  nginxVersion: string;
  njsVersion: string;
  qjs: boolean;
  /** The extracted Debian root (.engines/SUITE/root), null for the installed engine. */
  root: string | null;
  /** The nginx command and its leading arguments (the loader for a fetched engine). */
  nginx: string[];
  /** The njs CLI command and its leading arguments (`-n QuickJS` included for QuickJS). */
  njs: string[];
  modulePath: string;
  features: EngineFeatures;
}

export declare const ENGINE_VARIABLE: string;
export declare const ENGINE_IDS: string[];
export declare function engineRoot(suite: string): string;
export declare function versionNumber(version: string): number;
export declare function describeEngine(id: string): Engine;
export declare function selectedEngineId(env?: { [name: string]: string | undefined }): string;
