/**
 * The `jwt-gateway` command line as a user runs it: the built bundle
 * (build/dist/cli.mjs), run with node. `cliTestFiles` builds it before a
 * file's tests and gives them a scratch directory, removed after them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'build', 'dist', 'cli.mjs');

export function runCli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

/** Builds the CLI in beforeAll and makes a scratch directory; the function returns it. */
export function cliTestFiles(label: string): () => string {
  let dir = '';
  beforeAll(() => {
    execFileSync(process.execPath, [path.join(ROOT, 'build', 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    dir = mkdtempSync(path.join(os.tmpdir(), label + '-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}
