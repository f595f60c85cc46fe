/**
 * Test-only fault injection, to prove that an exception in any phase is a
 * 401: a request whose $jwt_test_fault names a phase throws there. Every call
 * is labelled `FAULT:`, and build/build.mjs drops those statements from the
 * shipped bundle; only the tests' jwt-gateway-faults.js keeps them.
 */
export function injectFault(r: NginxHTTPRequest, phase: string): void {
  if (r.variables.jwt_test_fault === phase) throw new Error('injected fault: ' + phase);
}
