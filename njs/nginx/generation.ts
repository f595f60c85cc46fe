/**
 * The cached auth_request style keys its entries on this (through
 * $jwt_generation, nginx/jwt-boot-id.conf), so that nothing a worker of an
 * earlier start or reload stored is served: the worker's pid
 * and its start time (pids repeat across container restarts, start times do
 * not). Entries outlive nginx on disk, so the pid alone is not enough.
 */
import { readFile } from './files';

/** A value that never repeats: per VM, so on the classic engine nothing is ever served from the cache. */
function unrepeatable(): string {
  return 'unknown.' + Date.now() + '.' + Math.random();
}

/** Read once per VM (on QuickJS, once per reused context). */
let generation = '';

/** `pid.starttime`; where /proc cannot tell, a value that never repeats. */
export function workerGeneration(): string {
  if (generation === '') generation = readGeneration();
  return generation;
}

/**
 * The direct style's cache (a js_shared_dict_zone, which outlives reloads)
 * keys its entries on this: the master's pid and the start time of this
 * worker, in clock ticks (10 ms). The master starts a generation's workers
 * in one go, so they share it (a worker that starts later, after a crash,
 * just misses the others' entries), and every start or reload starts new
 * workers later. Read once per VM: per request on the classic engine, a
 * small /proc read.
 */
let cycle = '';

export function cycleGeneration(): string {
  if (cycle === '') cycle = readCycle();
  return cycle;
}

function readCycle(): string {
  try {
    const stat = String(readFile('/proc/self/stat'));
    // After "pid (comm) ": state, ppid (field 4, the master), ..., starttime (field 22).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[1] && fields[19] ? fields[1] + '.' + fields[19] : unrepeatable();
  } catch (e) {
    return unrepeatable();
  }
}

function readGeneration(): string {
  try {
    const stat = String(readFile('/proc/self/stat'));
    // After "pid (comm) ", field 3 (state) comes first: starttime, field 22, is the 20th.
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return started ? stat.slice(0, stat.indexOf(' ')) + '.' + started : unrepeatable();
  } catch (e) {
    return unrepeatable();
  }
}
