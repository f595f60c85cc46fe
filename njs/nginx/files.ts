/** The bundle's one import of njs's fs module: config documents and /proc are read through it, and fetched keys kept (njs 0.7.9). */
import fs from 'fs';
import { configProblem } from '../core/errors';
import { FileAccess, ReadAt } from '../core/keys/layout';

export function readFile(path: string): Uint8Array {
  return fs.readFileSync(path);
}

/** Writes a file whole: next to it, then renamed over it, so a reader (another worker) never sees half of it. */
export function replaceFile(path: string, text: string): void {
  const written = path + '.' + Math.floor(Math.random() * 1e9) + '.tmp';
  fs.writeFileSync(written, text);
  try {
    fs.renameSync(written, path);
  } catch (e) {
    fs.unlinkSync(written);
    throw e;
  }
}

/** What changes when the file is replaced or written: a VM that outlives a request keys what it read from a file by it. */
export function fileIdentity(path: string): string {
  const stats = fs.statSync(path);
  return stats.ino + ':' + stats.size + ':' + stats.mtimeMs;
}

/** The file open in the FileAccess call being run: nested calls on the same path share it. */
let current: { path: string; read: ReadAt; size: number } | null = null;

/** Positioned reads of `path` (njs/core/keys/layout.ts): each call opens the file and closes it before it returns. */
export function fileAccess(path: string): FileAccess {
  return (use) => {
    if (current && current.path === path) return use(current.read, current.size);
    let fd = -1;
    const outer = current;
    try {
      fd = fs.openSync(path, 'r');
      const opened = fd;
      const read: ReadAt = (offset, length) => {
        const bytes = Buffer.alloc(length);
        return fs.readSync(opened, bytes, 0, length, offset) === length ? bytes : null;
      };
      current = { path, read, size: fs.fstatSync(fd).size };
      return use(read, current.size);
    } catch (e) {
      return configProblem(path, undefined, undefined, 'cannot be read: ' + (e as { message?: string }).message);
    } finally {
      current = outer;
      if (fd >= 0) fs.closeSync(fd);
    }
  };
}
