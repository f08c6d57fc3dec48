/**
 * What the HTTP API's world tests share: a daemon over the world's upstream with the API on 127.0.0.1 (port 0)
 * and `http` merged into its http section, and a request that returns the status, the content type and the
 * body (JSON parsed, else `{ text }`).
 */
import { startTestDaemon, worldFlags, type TestDaemon } from '../support/daemon.js';
import type { WorldInfo } from '../world/index.js';

export function startApiDaemon(world: WorldInfo, http: object): Promise<TestDaemon> {
  return startTestDaemon({
    config: { http: { listen: [{ address: '127.0.0.1', port: 0 }], ...http }, server: { warmupQueries: 0 } },
    // The config's http section, not the default --http off.
    cli: { ...worldFlags(world), http: undefined },
  });
}

export async function get(d: TestDaemon, path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; type: string }> {
  const r = await fetch(`http://127.0.0.1:${d.daemon.httpAddresses[0]!.port}${path}`, init);
  const type = r.headers.get('content-type') ?? '';
  const text = await r.text();
  return { status: r.status, type, body: type.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}
