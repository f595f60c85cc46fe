/**
 * The cached auth_request style keys its entries on this, so that nothing a
 * worker of an earlier start or reload stored is served: the worker's pid
 * and its start time (pids repeat across container restarts, start times do
 * not). Entries outlive nginx on disk, so the pid alone is not enough.
 */
import { readFile } from './files';

/** `pid.starttime`, or '' when /proc cannot tell, which switches the cache off (jwt-variables.conf). */
export function workerGeneration(): string {
  try {
    const stat = String(readFile('/proc/self/stat'));
    // After "pid (comm) ", field 3 (state) comes first: starttime, field 22, is the 20th.
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return started ? stat.slice(0, stat.indexOf(' ')) + '.' + started : '';
  } catch (e) {
    return '';
  }
}
