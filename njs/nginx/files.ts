/** The bundle's one import of njs's fs module: config documents and /proc are read through it. */
import fs from 'fs';

export function readFile(path: string): Uint8Array {
  return fs.readFileSync(path);
}
