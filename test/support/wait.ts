/** Polling until a condition holds, for tests whose subject has no event to wait on. */

/**
 * Resolves with the milliseconds it took once `cond` holds; past `timeoutMs` it rejects naming `what` it
 * waited for.
 */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 25): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return Date.now() - t0;
}
