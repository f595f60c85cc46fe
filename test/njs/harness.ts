/**
 * A tiny result tally for tests that run inside the njs CLI, where there is
 * no test framework: results are gathered per group and printed as one line
 * per group, failures listed under it.
 */

/** Failure details printed per group; more are counted, not listed, so one broken primitive cannot flood the log. */
const MAX_LISTED_FAILURES = 10;

export interface Group {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  failures: string[];
  notes: string[];
}

const totals = { passed: 0, failed: 0, skipped: 0 };

export function group(name: string): Group {
  return { name, passed: 0, failed: 0, skipped: 0, failures: [], notes: [] };
}

export function pass(g: Group): void {
  g.passed++;
}

export function fail(g: Group, what: string): void {
  g.failed++;
  g.failures.push(what);
}

export function skip(g: Group, count: number, note: string): void {
  g.skipped += count;
  g.notes.push('skipped: ' + note);
}

export function note(g: Group, text: string): void {
  g.notes.push(text);
}

/** Records one assertion; `detail` explains a failure. */
export function check(g: Group, name: string, condition: boolean, detail?: string): void {
  if (condition) pass(g);
  else fail(g, name + (detail ? ': ' + detail : ''));
}

function counts(passed: number, failed: number, skipped: number): string {
  return passed + ' passed, ' + failed + ' failed' + (skipped ? ', ' + skipped + ' skipped' : '');
}

/** Prints the group's line (and its notes and failures) and adds it to the totals. */
export function report(g: Group): void {
  console.log((g.failed ? 'FAIL ' : 'ok   ') + g.name + ': ' + counts(g.passed, g.failed, g.skipped));
  for (let i = 0; i < g.notes.length; i++) console.log('       ' + g.notes[i]);
  for (let i = 0; i < g.failures.length && i < MAX_LISTED_FAILURES; i++) console.log('     x ' + g.failures[i]);
  if (g.failures.length > MAX_LISTED_FAILURES) console.log('     x ... and ' + (g.failures.length - MAX_LISTED_FAILURES) + ' more');
  totals.passed += g.passed;
  totals.failed += g.failed;
  totals.skipped += g.skipped;
}

export function failedCount(): number {
  return totals.failed;
}

/** The closing line CI greps for. */
export function summary(): string {
  return 'njs: ' + counts(totals.passed, totals.failed, totals.skipped);
}

/** Any thrown value as text (njs errors and plain values alike). */
export function describeError(e: unknown): string {
  if (e !== null && typeof e === 'object' && typeof (e as { message?: unknown }).message === 'string') {
    const name = (e as { name?: unknown }).name;
    return (typeof name === 'string' ? name + ': ' : '') + (e as { message: string }).message;
  }
  return String(e);
}
