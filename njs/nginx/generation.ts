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
 * keys its entries on this: the master's pid and the start time (clock
 * ticks, 10 ms) of the first worker of this worker's start or reload. The
 * master forks a generation's workers in one go, but the forks can straddle
 * a tick, so a worker takes the earliest start among the master's children
 * that started at most SIBLING_TICKS before it: its siblings, not the
 * workers of an earlier start (a worker that starts later, after a crash,
 * just misses the others' entries). Read once per VM; on the classic engine,
 * where a VM lasts one request, the answer is kept in `memo` (the cache's
 * zone) under this worker's pid and start, so a request reads one small
 * /proc file and the zone, not every sibling's.
 */
let cycle = '';

/** Siblings start within this many ticks (50 ms) of each other; starts and reloads further apart never share a generation. */
const SIBLING_TICKS = 5;

interface GenerationMemo {
  get(key: string): unknown;
  set(key: string, value: string): unknown;
}

export function cycleGeneration(memo: GenerationMemo): string {
  if (cycle === '') cycle = readCycle(memo);
  return cycle;
}

/** Pid, ppid and start time of a process, from /proc/PID/stat; null where it cannot be read. */
function processStart(which: string): { pid: string; ppid: string; start: number } | null {
  try {
    const stat = String(readFile('/proc/' + which + '/stat'));
    // After "pid (comm) ": state, ppid (field 4, the master), ..., starttime (field 22).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return fields[1] && fields[19] && start === start ? { pid: stat.slice(0, stat.indexOf(' ')), ppid: fields[1], start } : null;
  } catch (e) {
    return null;
  }
}

function readCycle(memo: GenerationMemo): string {
  const own = processStart('self');
  if (own === null) return unrepeatable();
  const memoKey = 'g:' + own.pid + '.' + own.start;
  try {
    const kept = memo.get(memoKey);
    if (typeof kept === 'string' && kept !== '') return kept;
  } catch (e) {
    // An unreadable memo only costs the /proc reads below.
  }
  let first = own.start;
  try {
    const children = String(readFile('/proc/' + own.ppid + '/task/' + own.ppid + '/children')).split(' ');
    for (let i = 0; i < children.length; i++) {
      const sibling = children[i] ? processStart(children[i]) : null;
      if (sibling !== null && sibling.start < first && sibling.start >= own.start - SIBLING_TICKS) first = sibling.start;
    }
  } catch (e) {
    // Without the list of children, the worker's own start: siblings may then not share entries, never stale ones.
  }
  const found = own.ppid + '.' + first;
  try {
    memo.set(memoKey, found);
  } catch (e) {
    // A full zone: computed again next time.
  }
  return found;
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
