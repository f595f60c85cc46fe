// Loaded with `node --import` ahead of the CLI: the process kills itself
// (SIGKILL, nothing runs after it) when it is about to rename a file onto
// $KILL_AT_RENAME_TO, as a crash or an OOM kill between the write and the
// rename would. For the interrupted-edit test of cli/edit.ts.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

const target = path.resolve(process.env.KILL_AT_RENAME_TO);
const rename = fs.renameSync;
fs.renameSync = (from, to) => {
  if (path.resolve(String(to)) === target) process.kill(process.pid, 'SIGKILL');
  return rename(from, to);
};
// The CLI imports renameSync by name; this makes that binding the one above.
syncBuiltinESMExports();
