/**
 * How the CLI changes a consumer map or JWK Set (`consumer add|remove|rotate`,
 * `jwks add|remove`): the change is made to the parsed document, the result
 * must pass `check` with no problem the file did not have already, an index
 * (`jwt-gateway index`) is written again, and the file is replaced
 * atomically: the new text goes to a temporary file next to it and is
 * flushed, the old file is kept as FILE.bak, then the temporary file is
 * renamed over FILE. A process killed at any step leaves FILE whole, old or
 * new, and nginx never reads half a file.
 */
import {
  chownSync,
  closeSync,
  copyFileSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { checkDocument } from './check';
import { indexedText } from './index';
import { configProblem, describeProblem, isProblem, Problem } from '../njs/core/errors';
import { Capabilities } from '../njs/core/keys/types';
import { JsonObject, parseJsonObject } from '../njs/core/strict-json';

export interface Edited {
  file: string;
  /** The old file's copy; none when the file was made by this edit. */
  backup?: string;
  indexed: boolean;
  /** Problems the file had before the edit and still has (the edit did not add them). */
  kept: Problem[];
}

/** The parsed file, or a Problem naming it. */
export function readDocument(file: string): JsonObject | Problem {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    return configProblem(file, undefined, undefined, 'cannot be read: ' + (e as Error).message);
  }
  return parsedDocument(file, bytes);
}

function parsedDocument(file: string, bytes: Uint8Array): JsonObject | Problem {
  const document = parseJsonObject(bytes);
  return typeof document === 'string' ? configProblem(file, undefined, undefined, document) : document;
}

/** The text the edited document is written as: `jwt-gateway index`'s when the file had an index, else indented JSON. */
function textOf(document: JsonObject): string {
  return document.index !== undefined ? indexedText(document) : JSON.stringify(document, null, 2) + '\n';
}

/** A problem's text without entry positions, which an edit shifts (`consumers[3]` is `consumers[2]` once an entry before it goes). */
function comparable(problem: Problem): string {
  return describeProblem(problem).replace(/\[[0-9]+\]/g, '[]');
}

/** Problems of `after` that `before` did not have, counting repeats. */
function addedProblems(before: Problem[], after: Problem[]): Problem[] {
  const seen: { [text: string]: number } = {};
  for (const problem of before) seen[comparable(problem)] = (seen[comparable(problem)] || 0) + 1;
  return after.filter((problem) => !(seen[comparable(problem)]-- > 0));
}

function errorsOf(file: string, bytes: Uint8Array, capabilities: Capabilities): Problem[] {
  return checkDocument(file, bytes, capabilities).filter((problem) => problem.severity !== 'warning');
}

/** Writes `text` to a new file at `target` by way of a flushed temporary file and a rename. */
function replaceWith(target: string, text: string | Buffer, mode: number, owner?: { uid: number; gid: number }): void {
  const temporary = path.join(path.dirname(target), '.' + path.basename(target) + '.' + process.pid + '.tmp');
  const fd = openSync(temporary, 'w', mode);
  try {
    // The mode exactly (open's is masked by the umask): the old file's, so nginx's workers read the new one as they did.
    fchmodSync(fd, mode);
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  // Root editing a file nginx's user owns: the new file keeps the owner, or the workers could not read it.
  if (owner && process.getuid?.() === 0) chownSync(temporary, owner.uid, owner.gid);
  renameSync(temporary, target);
}

/** Whether a process with this pid runs (signal 0 tests without sending). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One edit of a file at a time: `.FILE.lock` holds the editing process's
 * pid; a lock whose process is gone (killed mid-edit) is taken over, and so
 * are the temporary files such a process left.
 */
function lock(target: string): (() => void) | Problem {
  const dir = path.dirname(target);
  const base = path.basename(target);
  const lockFile = path.join(dir, '.' + base + '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      // `.FILE.PID.tmp` and `.FILE.bak.PID.tmp` of an edit that did not finish.
      const prefix = '.' + base + '.';
      for (const name of readdirSync(dir)) {
        const left = name.startsWith(prefix) && name.endsWith('.tmp') ? /^(?:bak\.)?([0-9]+)$/.exec(name.slice(prefix.length, -'.tmp'.length)) : null;
        if (left && !running(Number(left[1]))) unlinkSync(path.join(dir, name));
      }
      return () => unlinkSync(lockFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        return configProblem(target, undefined, undefined, 'cannot be locked for the edit: ' + (e as Error).message);
      const holder = Number(readFileSync(lockFile, 'utf8'));
      if (holder > 0 && running(holder)) {
        return configProblem(
          target,
          undefined,
          undefined,
          'another edit (pid ' + holder + ') is changing it: try again when it is done, or remove ' + lockFile + ' if no such process runs',
        );
      }
      unlinkSync(lockFile);
    }
  }
  return configProblem(target, undefined, undefined, 'cannot be locked for the edit: ' + lockFile + ' keeps coming back');
}

/**
 * Applies `change` to FILE and replaces it when the result passes `check`;
 * the Problems that stop it otherwise (FILE untouched). `empty` is the
 * document a missing FILE starts as (`consumer add` and `jwks add` make the
 * file). A FILE that is a symbolic link (a Kubernetes ConfigMap's, a
 * versioned deployment's) is followed: the file it names is replaced, the link stays.
 */
export function editDocument(
  file: string,
  change: (document: JsonObject) => JsonObject | Problem,
  /** newFileMode: a file this edit makes. Readable by all: nginx's workers (another user than the CLI's) read a file named by path. */
  options: { capabilities: Capabilities; empty?: JsonObject; newFileMode: number },
): Edited | Problem[] {
  const target = existsSync(file) ? realpathSync(file) : file;
  const unlock = lock(target);
  if (isProblem(unlock)) return [unlock];
  try {
    return editLocked(file, target, change, options);
  } finally {
    unlock();
  }
}

function editLocked(
  file: string,
  target: string,
  change: (document: JsonObject) => JsonObject | Problem,
  options: { capabilities: Capabilities; empty?: JsonObject; newFileMode: number },
): Edited | Problem[] {
  const exists = existsSync(target);
  const bytes = exists ? readFileSync(target) : null;
  const document = bytes ? parsedDocument(file, bytes) : (options.empty as JsonObject);
  if (isProblem(document)) return [document];
  const changed = change(document);
  if (isProblem(changed)) return [configProblem(changed.file ?? file, changed.entry, changed.field, changed.message)];
  const text = textOf(changed);
  const before = bytes ? errorsOf(file, bytes, options.capabilities) : [];
  const after = errorsOf(file, Buffer.from(text), options.capabilities);
  const added = addedProblems(before, after);
  if (added.length) return added;
  const stat = exists ? statSync(target) : null;
  const mode = stat ? stat.mode & 0o777 : options.newFileMode;
  let backup: string | undefined;
  if (exists) {
    backup = target + '.bak';
    // The copy is itself renamed into place, so a kill during it leaves the last backup whole.
    const copying = path.join(path.dirname(target), '.' + path.basename(backup) + '.' + process.pid + '.tmp');
    copyFileSync(target, copying);
    renameSync(copying, backup);
  }
  replaceWith(target, text, mode, stat ? { uid: stat.uid, gid: stat.gid } : undefined);
  const dir = openSync(path.dirname(path.resolve(target)), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return { file, backup, indexed: changed.index !== undefined, kept: after };
}
