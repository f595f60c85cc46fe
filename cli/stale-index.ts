/**
 * What `check` says about an "index" member (`jwt-gateway index`) that is
 * not what the command would write now: the gateway then finds less than
 * the file holds, or walks the whole file on every lookup.
 */
import { configProblem, Problem } from '../njs/core/errors';

/** "3 kids", "1 kid", or nothing for none: what an index misses. */
export function counted(count: number, noun: string): string[] {
  return count === 0 ? [] : [count + ' ' + noun + (count === 1 ? '' : 's')];
}

/** `missed` lists what cannot be found through the index (e.g. "3 credential keys"), null when it is not an index at all. */
export function indexProblem(origin: string, entry: string, what: string, missed: string[] | null): Problem {
  const again = ': run `jwt-gateway index` again';
  if (!missed)
    return configProblem(origin, entry, 'index', 'not an index written by this version of `jwt-gateway index` (every lookup walks the whole file)' + again);
  const lost = missed.length ? '; ' + missed.join(' and ') + ' not found through it, their tokens are refused' : '';
  return configProblem(origin, entry, 'index', 'does not match the ' + what + ' (stale or edited' + lost + ')' + again);
}
