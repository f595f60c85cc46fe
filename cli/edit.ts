/**
 * How the CLI changes a consumer map or JWK Set (`consumer add|remove|rotate`,
 * `jwks add|remove`): the change is made to the parsed document, the result
 * must pass `check` with no problem the file did not have already, an index
 * (`jwt-gateway index`) is written again, and the file is replaced
 * atomically: the new text goes to a new temporary file next to it and is
 * flushed, the old text is kept as FILE.bak (written the same way), then the
 * temporary file is renamed over FILE. A process killed at any step leaves
 * FILE whole, old or new, and nginx never reads half a file.
 *
 * Temporary files are created exclusively (O_EXCL, a random name) and
 * changed through their descriptor only, so a name planted in the directory
 * (a symbolic link to another file) is never written through. One edit of a
 * file runs at a time (lock()).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
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
  /** What the operator should know: the file's group could not be kept. */
  notes: string[];
}

export interface EditOptions {
  capabilities: Capabilities;
  /** The document a missing FILE starts as (`consumer add` and `jwks add` make the file); without it a missing FILE is a problem. */
  empty?: JsonObject;
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

/** The file a path names, through every symbolic link, dangling ones too (the link stays, what it names is written). */
function resolved(file: string): string {
  let target = path.resolve(file);
  for (let hops = 0; hops < 40; hops++) {
    let link: boolean;
    try {
      link = lstatSync(target).isSymbolicLink();
    } catch {
      return target;
    }
    if (!link) return target;
    target = path.resolve(path.dirname(target), readlinkSync(target));
  }
  return target;
}

/** `.FILE.PID.RANDOM.tmp`: this process's temporary file next to `target`, under a name nobody can have planted. */
function temporaryName(target: string, what: string): string {
  return path.join(path.dirname(target), '.' + path.basename(target) + what + '.' + process.pid + '.' + randomBytes(6).toString('hex') + '.tmp');
}

/**
 * Writes `text` to a new temporary file (exclusively created), flushed, with
 * the mode and owner given, and returns its name; removed again on failure.
 */
function writtenTemporary(
  target: string,
  what: string,
  text: string | Uint8Array,
  mode: number,
  owner: { uid: number; gid: number } | null,
  notes: string[],
): string {
  const name = temporaryName(target, what);
  const fd = openSync(name, 'wx', 0o600);
  try {
    // The mode exactly (open's is masked by the umask): the old file's, so nginx's workers read the new one as they did.
    fchmodSync(fd, mode);
    if (owner) keepOwner(fd, owner, target, notes);
    writeFileSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(name);
    throw e;
  }
  closeSync(fd);
  return name;
}

/** The old file's owner (as root) and group (as any member of it), so the workers that read it still can. */
function keepOwner(fd: number, owner: { uid: number; gid: number }, target: string, notes: string[]): void {
  const root = process.getuid?.() === 0;
  try {
    fchownSync(fd, root ? owner.uid : -1, owner.gid);
  } catch {
    notes.push(target + ' now belongs to group ' + process.getgid?.() + ', not ' + owner.gid + ' as before: check that nginx can still read it');
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Whether a process with this pid runs here (signal 0 tests without sending). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** How long an edit waits for another one to finish before it gives up. */
const LOCK_WAIT_MS = 5000;

/**
 * One edit of a file at a time: `.FILE.lock` holds "PID@HOST RANDOM" of the
 * editing process, made by a hard link from a file that already holds it (so
 * it never exists empty, and only one process can make it). An edit waits
 * for another to finish; a lock whose process is gone (killed mid-edit, same
 * host) is taken over, with the temporary files it left. A lock of another
 * host (a container sharing the volume) is never judged dead.
 */
function lock(target: string): (() => void) | Problem {
  const dir = path.dirname(target);
  const base = path.basename(target);
  const lockFile = path.join(dir, '.' + base + '.lock');
  const token = process.pid + '@' + os.hostname() + ' ' + randomBytes(8).toString('hex');
  let mine: string;
  try {
    mine = writtenTemporary(target, '.lock', token, 0o644, null, []);
  } catch (e) {
    return configProblem(target, undefined, undefined, 'cannot be locked for the edit: ' + (e as Error).message);
  }
  const deadline = Date.now() + LOCK_WAIT_MS;
  try {
    for (;;) {
      try {
        linkSync(mine, lockFile);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
          return configProblem(target, undefined, undefined, 'cannot be locked for the edit: ' + (e as Error).message);
      }
      let holder: string;
      try {
        holder = readFileSync(lockFile, 'utf8');
      } catch {
        continue; // released meanwhile
      }
      const [pid, host] = holder.split(' ')[0].split('@');
      if (host === os.hostname() && /^[0-9]+$/.test(pid) && !running(Number(pid))) {
        // Only one process can move the dead lock away; it then makes sure it moved the lock it judged dead.
        const moved = temporaryName(target, '.stale-lock');
        try {
          renameSync(lockFile, moved);
        } catch {
          continue;
        }
        if (readFileSync(moved, 'utf8') !== holder) {
          try {
            linkSync(moved, lockFile);
          } catch {
            // a third edit took the lock meanwhile: it stays its own
          }
        }
        unlinkSync(moved);
        continue;
      }
      if (Date.now() > deadline) {
        return configProblem(
          target,
          undefined,
          undefined,
          'another edit (' + holder.split(' ')[0] + ') is changing it: try again when it is done, or remove ' + lockFile + ' if no such process runs',
        );
      }
      sleepMs(50);
    }
  } finally {
    unlinkSync(mine);
  }
  removeLeftovers(dir, base);
  return () => {
    // Only our own lock: never one another edit took over.
    try {
      if (readFileSync(lockFile, 'utf8') === token) unlinkSync(lockFile);
    } catch {
      // already gone
    }
  };
}

/** The temporary files of edits of this host whose process is gone (`.FILE<what>.PID.RANDOM.tmp`). */
function removeLeftovers(dir: string, base: string): void {
  const prefix = '.' + base + '.';
  for (const name of readdirSync(dir)) {
    const left =
      name.startsWith(prefix) && name.endsWith('.tmp') ? /(?:^|\.)([0-9]+)\.[0-9a-f]{12}$/.exec(name.slice(prefix.length - 1, -'.tmp'.length)) : null;
    if (left && !running(Number(left[1]))) unlinkSync(path.join(dir, name));
  }
}

/**
 * Applies `change` to FILE and replaces it when the result passes `check`;
 * the Problems that stop it otherwise (FILE untouched). A FILE that is a
 * symbolic link (a Kubernetes ConfigMap's, a versioned deployment's) is
 * followed: the file it names is replaced, the link stays.
 */
export function editDocument(file: string, change: (document: JsonObject) => JsonObject | Problem, options: EditOptions): Edited | Problem[] {
  const target = resolved(file);
  const unlock = lock(target);
  if (isProblem(unlock)) return [unlock];
  try {
    return editLocked(file, target, change, options);
  } catch (e) {
    return [configProblem(file, undefined, undefined, 'cannot be edited: ' + (e as Error).message)];
  } finally {
    unlock();
  }
}

function editLocked(file: string, target: string, change: (document: JsonObject) => JsonObject | Problem, options: EditOptions): Edited | Problem[] {
  let bytes: Uint8Array | null = null;
  try {
    bytes = readFileSync(target);
  } catch (e) {
    if (!options.empty || (e as NodeJS.ErrnoException).code !== 'ENOENT')
      return [configProblem(file, undefined, undefined, 'cannot be read: ' + (e as Error).message)];
  }
  const document = bytes ? parsedDocument(file, bytes) : (options.empty as JsonObject);
  if (isProblem(document)) return [document];
  const changed = change(document);
  if (isProblem(changed)) return [configProblem(changed.file ?? file, changed.entry, changed.field, changed.message)];
  const text = textOf(changed);
  const before = bytes ? errorsOf(file, bytes, options.capabilities) : [];
  const after = errorsOf(file, Buffer.from(text), options.capabilities);
  const added = addedProblems(before, after);
  if (added.length) return added;
  const notes: string[] = [];
  const stat = bytes ? statSync(target) : null;
  // A new file: readable by all but as the umask says (nginx's workers, another user than the CLI's, read a file named by path).
  const mode = stat ? stat.mode & 0o777 : 0o644 & ~process.umask();
  const owner = stat ? { uid: stat.uid, gid: stat.gid } : null;
  let backup: string | undefined;
  if (bytes) {
    backup = target + '.bak';
    renameSync(writtenTemporary(backup, '', bytes, mode, owner, []), backup);
  }
  const written = writtenTemporary(target, '', text, mode, owner, notes);
  try {
    renameSync(written, target);
  } catch (e) {
    unlinkSync(written);
    throw e;
  }
  fsyncDirectory(path.dirname(target));
  return { file, backup, indexed: changed.index !== undefined, kept: after, notes };
}
