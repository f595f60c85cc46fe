/**
 * `--reload` of the commands that change a file the gateway reads: `nginx -t`
 * first, and only when it passes, the reload: `nginx -s reload`, or a SIGHUP
 * to the master whose pid file `--pid` names (for an nginx the CLI cannot
 * reach with `-s`, e.g. another prefix). The binary, its `-c` and `-p` are
 * options, for a fetched nginx or a non-default layout.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { configProblem, Problem } from '../njs/core/errors';

export interface ReloadOptions {
  /** The nginx binary (default `nginx` on PATH). */
  nginx?: string;
  /** nginx's `-c`: its configuration file. */
  conf?: string;
  /** nginx's `-p`: its prefix. */
  prefix?: string;
  /** A pid file: SIGHUP to that process instead of `nginx -s reload`. */
  pidFile?: string;
}

/** The command line options every reloading command takes, for parseCommandLine. */
export const RELOAD_OPTIONS = {
  reload: { type: 'boolean' },
  nginx: { type: 'string' },
  'nginx-conf': { type: 'string' },
  'nginx-prefix': { type: 'string' },
  pid: { type: 'string' },
} as const;

/** The values of RELOAD_OPTIONS, as parseCommandLine gives them. */
export interface ReloadValues {
  reload?: boolean;
  nginx?: string;
  'nginx-conf'?: string;
  'nginx-prefix'?: string;
  pid?: string;
}

export function reloadOptionsOf(values: ReloadValues): ReloadOptions {
  return { nginx: values.nginx, conf: values['nginx-conf'], prefix: values['nginx-prefix'], pidFile: values.pid };
}

/** Tests the configuration, then reloads; a Problem saying which step failed, and nothing reloaded, otherwise. */
export function reloadNginx(options: ReloadOptions): Problem | null {
  const nginx = options.nginx || 'nginx';
  const target = [...(options.prefix ? ['-p', options.prefix] : []), ...(options.conf ? ['-c', options.conf] : [])];
  const steps = options.pidFile ? [['-t']] : [['-t'], ['-s', 'reload']];
  for (const step of steps) {
    const run = spawnSync(nginx, [...target, ...step], { encoding: 'utf8' });
    if (run.status !== 0)
      return configProblem(
        undefined,
        undefined,
        undefined,
        [nginx, ...target, ...step].join(' ') + ' failed: ' + (run.stderr || run.error?.message || '').trim(),
      );
  }
  if (!options.pidFile) return null;
  let pid: number;
  try {
    const text = readFileSync(options.pidFile, 'utf8').trim();
    pid = /^[0-9]{1,10}$/.test(text) ? Number(text) : 0;
    if (pid <= 1) return configProblem(options.pidFile, undefined, undefined, 'does not hold a process id (decimal digits, not 0 or 1)');
    process.kill(pid, 'SIGHUP');
  } catch (e) {
    return configProblem(options.pidFile, undefined, undefined, 'cannot signal its process: ' + (e as Error).message);
  }
  return null;
}
