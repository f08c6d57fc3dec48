/**
 * What the HTTP API's world tests share: a daemon over the world's upstream with the API on 127.0.0.1 (port 0)
 * and `http` merged into its http section, and a request that returns the status, the content type and the
 * body (JSON parsed, else `{ text }`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/daemon/index.js';
import { tempStateDir } from '../support/state-dir.js';
import type { WorldInfo } from '../world/index.js';

export async function startApiDaemon(world: WorldInfo, http: object): Promise<Daemon> {
  const config = join(mkdtempSync(join(tmpdir(), 'stubd-http-')), 'config.json');
  writeFileSync(config, JSON.stringify({ http: { listen: [{ address: '127.0.0.1', port: 0 }], ...http }, server: { warmupQueries: 0 } }));
  return startDaemon({
    config, stateDir: tempStateDir(), listen: ['127.0.0.1:0'], upstream: [`${world.upstream.host}:${world.upstream.port}`],
    trustAnchor: [world.rootAnchorFile], logLevel: 'silent',
  });
}

export async function get(d: Daemon, path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; type: string }> {
  const r = await fetch(`http://127.0.0.1:${d.httpAddresses[0]!.port}${path}`, init);
  const type = r.headers.get('content-type') ?? '';
  const text = await r.text();
  return { status: r.status, type, body: type.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}
