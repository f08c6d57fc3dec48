/**
 * The live fuzz, short (issue 14): 20,000 seeded malformed and mutated messages over UDP and 2,000 over TCP (one
 * connection in ten with broken framing) sent to a daemon running on the test world, the canary (a secure A
 * record: its address and AD) asked from another address every 2,000 cases. Every reply keeps the oracle of
 * bench/fuzz-live-core.ts (FORMERR/NOTIMP/BADVERS as the input deserves, a resolver's answer otherwise, ID and
 * question echoed, the UDP size kept, nothing for a response or a short message), the daemon neither crashes
 * (it runs in this process) nor logs a handler failure, and the canary is answered right throughout.
 * The long run is `node dist/bench/fuzz-live.js` (1,000,000 cases, the daemon in its own process).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UdpClient } from '../../bench/live-daemon.js';
import { runLiveFuzz } from '../../bench/fuzz-live-core.js';
import { Rcode } from '../../src/wire/index.js';
import { CANARY, canaryProblem, useHostileDaemon } from './hostile-support.js';

describe('the live fuzz', () => {
  const d = useHostileDaemon();

  it('20,000 UDP and 2,000 TCP cases, seed 14: FORMERR, drop or a proper answer; the canary answered right throughout', async (t) => {
    const client = new UdpClient('127.0.0.44');
    await client.open();
    try {
      const canary = async (): Promise<string | undefined> => canaryProblem((await client.ask(d.port, CANARY.name, 'A', { timeoutMs: 5000 })).message);
      const s = await runLiveFuzz({ port: d.port, seed: 14, cases: 20_000, canary, canaryEvery: 2000 });
      t.diagnostic(`${s.cases} cases in ${(s.elapsedMs / 1000).toFixed(1)} s (${Math.round(s.cases / (s.elapsedMs / 1000))}/s): ` +
        `${s.replies} replies ${JSON.stringify(s.byRcode)}, ${s.silentOk} rightly unanswered, ${s.silent} missing, ${s.canaries} canaries`);
      assert.deepEqual(s.findings, []);
      assert.deepEqual(s.canaryFailures, []);
      assert.ok(s.canaries >= 12);
      assert.ok(s.silent <= s.cases / 1000, `${s.silent} replies missing`);
      // The cases reached every part: the parser's errors, the screening, and the resolver.
      for (const rcode of [Rcode.NOERROR, Rcode.FORMERR, Rcode.SERVFAIL, Rcode.NXDOMAIN, Rcode.NOTIMP, 16]) {
        assert.ok((s.byRcode[rcode] ?? 0) > 50, `rcode ${rcode}: ${s.byRcode[rcode] ?? 0} replies`);
      }
      const server = d.daemon.stats().server!;
      assert.equal(server.handlerErrors, 0, 'no handler failure');
      assert.ok(server.dropped.short + server.dropped.response > 100, 'short messages and responses were dropped');
    } finally {
      client.close();
    }
  });
});
