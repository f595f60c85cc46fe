/**
 * `jwt-gateway verify TOKEN (--consumers FILE | --jwks FILE) [--set
 * name=value ...]`: what the gateway would decide for this token with these
 * settings, and why: the same core (njs/core/pipeline.ts) and settings parser
 * (njs/nginx/settings.ts), so the same reason code and message, and who it
 * runs as. `--set` takes the settings' names without `$auth_jwt_`
 * (`--set audience=api --set leeway=30`); requirements ($auth_jwt_require),
 * run-time revocation zones and identity providers are nginx's alone.
 */
import { readFileSync } from 'node:fs';
import { configProblem, describeProblem, fail, isProblem, Problem } from '../njs/core/errors';
import { consumersSource } from '../njs/core/keys/consumers';
import { jwksSource } from '../njs/core/keys/jwks';
import { Capabilities, ConfigDocument, KeySource } from '../njs/core/keys/types';
import { decision, evaluate, RequestFacts } from '../njs/core/pipeline';
import { parseJsonObject } from '../njs/core/strict-json';
import { readSettings, Settings } from '../njs/nginx/settings';

export interface VerifyOptions {
  token: string;
  consumers?: string;
  jwks?: string;
  sets: string[];
  capabilities: Capabilities;
  now: number;
}

export interface VerifyAnswer {
  allow: boolean;
  status: number;
  /** The log code of the denial (or of the anonymous fallback); '' when allowed. */
  code: string;
  message: string;
  detail: string;
  consumer: string;
  credential: string;
  anonymous: boolean;
}

function openDocument(path: string): ConfigDocument | Problem {
  try {
    const document = parseJsonObject(readFileSync(path));
    return typeof document === 'string' ? configProblem(path, undefined, undefined, document) : { document, origin: path };
  } catch (e) {
    return configProblem(path, undefined, undefined, 'cannot be read: ' + (e as Error).message);
  }
}

/** The settings as nginx variables: `audience=api` is `$auth_jwt_audience api`. */
function variablesOf(options: VerifyOptions): { [name: string]: string } | Problem {
  const variables: { [name: string]: string } = {};
  for (const text of options.sets) {
    const at = text.indexOf('=');
    if (at <= 0) return configProblem(undefined, '--set', undefined, 'expected name=value, got ' + JSON.stringify(text));
    variables['auth_jwt_' + text.slice(0, at).replace(/^\$?auth_jwt_/, '')] = text.slice(at + 1);
  }
  if (options.consumers) variables.auth_jwt_consumers = options.consumers;
  if (options.jwks) variables.auth_jwt_key_file = options.jwks;
  return variables;
}

function keySource(settings: Settings, capabilities: Capabilities): KeySource | Problem {
  const path = settings.keyFile || settings.consumers;
  const found = openDocument(path);
  if (isProblem(found)) return found;
  return settings.keyFile ? jwksSource(found.document, path, capabilities) : consumersSource(found.document, path, capabilities);
}

/** The gateway's decision for the token, or why there is none (the command line, the settings, the file). */
export async function verifyToken(options: VerifyOptions): Promise<VerifyAnswer | Problem> {
  if (!options.consumers === !options.jwks) return configProblem(undefined, 'verify', undefined, 'give one of --consumers FILE and --jwks FILE');
  const variables = variablesOf(options);
  if (isProblem(variables)) return variables;
  const read = readSettings({ variables } as unknown as NginxHTTPRequest);
  // A setting nginx would refuse: the gateway denies every request with CONFIG_INVALID, and logs why.
  if (read.problems.length) return denied(fail('CONFIG_INVALID', describeProblem(read.problems[0])));
  const settings = read.settings;
  if (settings.require.length || settings.revocationZone || settings.providers.length) {
    return configProblem(undefined, '--set', undefined, 'require, revocation_zone, jwks_uri and oidc_issuer need nginx; verify leaves them out');
  }
  const keys = keySource(settings, options.capabilities);
  if (isProblem(keys)) return denied(fail('CONFIG_INVALID', describeProblem(keys)));
  const facts: RequestFacts = {
    policy: settings,
    settingsProblems: [],
    keys,
    token: options.token.trim(),
    conflicting: false,
    revocationList: settings.revocationList,
    revocationZone: '',
    openDocument,
    openStore: () => null,
    capabilities: options.capabilities,
    now: options.now,
  };
  const verdict = await evaluate(facts);
  const decided = decision(verdict, settings, []);
  const failure = decided.failure;
  const logged = verdict.configErrors.map(describeProblem).join('; ');
  return {
    allow: decided.allow,
    status: decided.allow ? 200 : failure!.status,
    code: failure ? failure.code : '',
    message: failure ? failure.message : '',
    detail: failure ? failure.detail + (logged ? ' (' + logged + ')' : '') : '',
    consumer: (verdict.identity && verdict.identity.consumer) || '',
    credential: (verdict.identity && verdict.identity.credential) || '',
    anonymous: verdict.anonymous,
  };
}

function denied(failure: Problem): VerifyAnswer {
  return {
    allow: false,
    status: failure.status,
    code: failure.code,
    message: failure.message,
    detail: failure.detail,
    consumer: '',
    credential: '',
    anonymous: false,
  };
}

/** What `verify` prints without --json. */
export function verifyText(answer: VerifyAnswer): string {
  const who = answer.consumer ? ' as ' + answer.consumer + (answer.credential ? ' (credential ' + answer.credential + ')' : '') : '';
  if (answer.allow && !answer.anonymous) return 'allowed' + who + '\n';
  if (answer.allow) return 'allowed as the anonymous consumer' + who + ': ' + answer.code + ': ' + answer.detail + '\n';
  return 'denied ' + answer.status + ' ' + answer.code + ': ' + answer.detail + ' (the client is told: ' + JSON.stringify(answer.message) + ')\n';
}
