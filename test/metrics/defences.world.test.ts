/**
 * The metrics of the defences under stress (issue 14), moved by real traffic through a real daemon in the world
 * and read back from its GET /metrics, each against what the clients saw:
 *  - the REFUSED rate limit: a burst from outside `allow` gets a few REFUSED and silence for the rest
 *    (server_acl_refused_total, server_dropped_total{reason="ratelimited"});
 *  - admission of cache misses: a burst of new names past `maxResolutions` (scope global) and a burst of one new
 *    name past `maxResolutionsPerClient` (scope client), counted as the SERVFAIL answers with their EDE texts;
 *  - TCP: a connection past the cap evicts an idle one, silent ones close idle, a trickled query closes on the
 *    read deadline; the open-connections gauge and the cap;
 *  - the UDP receive buffer each listener was granted;
 *  - a clock a year ahead: clock_looks_wrong{direction="ahead"} 1 (0 and 0 with the right clock).
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { EdnsOptionCode, Name, RRType, makeQuery, parseMessage, serializeMessage } from '../../src/wire/index.js';
import { dig } from '../support/dig.js';
import { getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { startFailoverDaemon } from '../daemon/failover-support.js';
import { startTestDaemon, worldFlags, type TestDaemon } from '../support/daemon.js';
import { waitFor } from '../support/wait.js';
import { P, promtool, requiredValue, scrapeMetrics } from './exposition.js';
import { daemonAddr } from '../world/net.js';

/** A client outside the allow list (loopback, outside the world's block). */
const OUTSIDER = daemonAddr(23, 1);
/** Two clients in the allow list. */
const A = '127.0.0.1';
const B = daemonAddr(23, 2);
/** The admission bounds (the smallest the config takes): resolutions at once, and queries waiting per client. */
const BOUND = 16;
const IDLE_MS = 400;
const CAP = 2;

let world: WorldInfo;
let d: TestDaemon;
let base = '';
const run = Math.random().toString(36).slice(2, 8);

/**
 * One scrape, read by metric name (without the prefix) and labels. A series missing from it fails the test, naming
 * it: every series read here is always emitted by src/metrics/stats.ts with this daemon's configuration (the
 * listener's once it started, server_dropped_total for every reason and server_tcp_connections_total for both
 * results from the start; admission_* because both bounds are set, admission_refused_total for both scopes;
 * clock_looks_wrong for both directions), so a 0 or an unchanged value read here is the daemon's, never a metric
 * renamed or no longer exported. (A series that appears only once something was counted, such as
 * server_response_rcodes_total{rcode}, would need a read that takes absence as 0; none is read here.)
 */
async function scrape(url = base): Promise<(name: string, l?: Record<string, string>) => number> {
  const { x } = await scrapeMetrics(url);
  return (name, l = {}) => requiredValue(x, P + name, l);
}

interface Reply { rcode: number; ede: string[] }

/**
 * Send the queries of each group from its address, the groups in order, all within one turn of the loop (fewer
 * than the 32 datagrams the daemon reads per turn: it sees them in this order before any upstream answer); collect
 * each group's replies until `waitMs` passes with none new.
 */
async function burst(groups: readonly { from: string; names: readonly string[] }[], waitMs = 600): Promise<Reply[][]> {
  const socks: Socket[] = [];
  const replies: Reply[][] = groups.map(() => []);
  let last = performance.now();
  try {
    for (const [g, group] of groups.entries()) {
      const sock = createSocket('udp4');
      socks.push(sock);
      await new Promise<void>((r) => sock.bind(0, group.from, r));
      sock.on('message', (m) => {
        last = performance.now();
        const msg = parseMessage(m);
        const ede = (msg.edns?.options ?? []).filter((o) => o.code === EdnsOptionCode.EDE).map((o) => Buffer.from(o.data.subarray(2)).toString('utf8'));
        replies[g]!.push({ rcode: msg.rcode, ede });
      });
    }
    const edns = { udpSize: 1232, version: 0, dnssecOk: true, z: 0, options: [] };
    const sent: Promise<void>[] = [];
    for (const [g, group] of groups.entries()) {
      for (const [i, n] of group.names.entries()) {
        sent.push(new Promise<void>((res, rej) => {
          socks[g]!.send(serializeMessage(makeQuery(Name.fromText(n), RRType.A, { id: i + 1, edns })).bytes, d.port, '127.0.0.1', (e) => (e ? rej(e) : res()));
        }));
      }
    }
    await Promise.all(sent);
    last = performance.now();
    while (performance.now() - last < waitMs) await new Promise((r) => setTimeout(r, 50));
    return replies;
  } finally {
    for (const s of socks) s.close();
  }
}

function tcpConnect(): Promise<TcpSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: d.port }, () => resolve(s));
    s.on('error', reject);
  });
}

before(async () => {
  world = await getWorld();
  d = await startFailoverDaemon(world, {
    allow: [`${A}/32`, `${B}/32`],
    server: { warmupQueries: 0, maxResolutions: BOUND, maxResolutionsPerClient: BOUND, tcpIdleTimeoutMs: IDLE_MS, tcpMaxConnections: CAP, refusedRatePerSource: 5, refusedRateTotal: 100 },
    // no RFC 8198 synthesis: every new name is a resolution
    cache: { aggressiveNsec: false },
  }, { http: ['127.0.0.1:0'], upstream: [`${world.upstream.host}:${world.upstream.port}`] });
  base = `http://127.0.0.1:${d.daemon.httpAddresses[0]!.port}`;
  await d.probed();
});

after(async () => {
  await d?.stop();
  await stopWorld();
});

describe('metrics of the defences, moved by real traffic', () => {
  it('the REFUSED rate limit: REFUSED sent and queries dropped, as the outsider saw them', async () => {
    const m0 = await scrape();
    const names = Array.from({ length: 40 }, (_, i) => `r${i}-${run}.alg13.test.`);
    const [replies] = await burst([{ from: OUTSIDER, names }]);
    const m1 = await scrape();
    assert.ok(replies!.length >= 1 && replies!.length <= 12, `${replies.length} REFUSED: a burst of 10, then 5/s`);
    assert.ok(replies!.every((r) => r.rcode === 5), 'REFUSED');
    assert.equal(m1('server_acl_refused_total') - m0('server_acl_refused_total'), replies!.length);
    assert.equal(m1('server_dropped_total', { reason: 'ratelimited' }) - m0('server_dropped_total', { reason: 'ratelimited' }), names.length - replies!.length);
  });

  it('admission: misses past maxResolutions (global) and past maxResolutionsPerClient (client), as the client saw them', async () => {
    const m0 = await scrape();
    assert.equal(m0('admission_max_resolutions'), BOUND);
    // A's new names take every resolution the global bound allows; B's new names come past it
    const names = (who: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${who}${i}-${run}.unsigned.test.`);
    const [fromA, fromB] = await burst([{ from: A, names: names('a', BOUND) }, { from: B, names: names('b', 8) }]);
    const m1 = await scrape();
    // one new name asked 24 times by A: one resolution, joined up to A's bound, the rest past it
    const [same] = await burst([{ from: A, names: Array.from({ length: BOUND + 8 }, () => `same-${run}.unsigned.test.`) }]);
    const m2 = await scrape();
    assert.equal(fromA!.length + fromB!.length + same!.length, 2 * BOUND + 16, 'every query answered');
    const refused = (rs: Reply[], text: RegExp): number => rs.filter((r) => r.rcode === 2 && r.ede.some((t) => text.test(t))).length;
    assert.equal(refused(fromA!, /too many/), 0, JSON.stringify(fromA));
    const global = refused(fromB!, /the resolver is at its limit/);
    const client = refused(same!, /for this client/);
    console.log(`# admission: ${global} of B's 8 new names past the global bound, ${client} of A's ${BOUND + 8} asks of one name past the client bound`);
    assert.ok(global >= 1, JSON.stringify(fromB));
    assert.ok(client >= 1, JSON.stringify(same));
    assert.equal(m1('admission_refused_total', { scope: 'global' }) - m0('admission_refused_total', { scope: 'global' }), global);
    assert.equal(m2('admission_refused_total', { scope: 'client' }) - m1('admission_refused_total', { scope: 'client' }), client);
    assert.equal(m2('admission_refused_total', { scope: 'global' }), m1('admission_refused_total', { scope: 'global' }), 'joining a resolution is never past the global bound');
    assert.equal(m2('admission_resolutions'), 0, 'every resolution ended');
    assert.equal(m2('admission_waiting_queries'), 0);
    assert.equal(m2('admission_queued_queries'), 0);
  });

  it('TCP: evicted at the cap, closed idle, closed on the read deadline (a trickled query); the cap and the open connections', async () => {
    const m0 = await scrape();
    assert.equal(m0('server_tcp_max_connections'), CAP);
    const socks: TcpSocket[] = [];
    try {
      // three silent connections: the third replaces the one idle the longest
      for (let i = 0; i <= CAP; i++) {
        socks.push(await tcpConnect());
        await waitFor('accepted', async () => (await scrape())('server_tcp_connections_total', { result: 'accepted' }) === m0('server_tcp_connections_total', { result: 'accepted' }) + i + 1, 2000);
      }
      const m1 = await scrape();
      assert.equal(m1('server_tcp_evicted_total') - m0('server_tcp_evicted_total'), 1);
      assert.equal(m1('server_tcp_open_connections'), CAP);
      // the other two close when idle
      await waitFor('idle closes', async () => (await scrape())('server_tcp_open_connections') === 0, 5 * IDLE_MS + 2000);
      const m2 = await scrape();
      assert.equal(m2('server_tcp_idle_closed_total') - m0('server_tcp_idle_closed_total'), CAP);
      // a query begun (the length prefix and 3 of its octets) and never finished
      const slow = await tcpConnect();
      socks.push(slow);
      slow.write(Buffer.from([0, 40, 0, 1, 1]));
      await waitFor('the read deadline', async () => (await scrape())('server_tcp_open_connections') === 0, 5 * IDLE_MS + 2000);
      const m3 = await scrape();
      assert.equal(m3('server_tcp_read_timeout_closed_total') - m2('server_tcp_read_timeout_closed_total'), 1);
      assert.equal(m3('server_tcp_idle_closed_total'), m2('server_tcp_idle_closed_total'), 'not counted idle');
    } finally {
      for (const s of socks) s.destroy();
    }
  });

  it('the UDP receive buffer each listener was granted, and what was asked; the clock looks right', async () => {
    const m = await scrape();
    const udp = d.daemon.addresses.find((a) => a.transport === 'udp')!;
    assert.ok(udp.receiveBuffer! > 0);
    assert.equal(m('server_udp_receive_buffer_bytes', { listen: `127.0.0.1:${udp.port}` }), udp.receiveBuffer);
    assert.equal(m('server_udp_receive_buffer_requested_bytes'), d.daemon.config.server.udpReceiveBuffer);
    assert.equal(m('clock_looks_wrong', { direction: 'ahead' }), 0);
    assert.equal(m('clock_looks_wrong', { direction: 'behind' }), 0);
    const text = await (await fetch(`${base}/metrics`)).text();
    const r = promtool(['check', 'metrics'], text);
    assert.equal(r.status, 0, r.out);
  });
});

describe('clock_looks_wrong with a clock a year ahead', () => {
  let wrong: TestDaemon | undefined;
  after(async () => {
    await wrong?.stop();
  });

  it('is 1 for ahead, 0 for behind, once the signatures of unrelated zones, the root\'s included, look expired', async () => {
    const offset = 365 * 86_400_000;
    wrong = await startTestDaemon({
      config: { server: { warmupQueries: 0 } }, cli: { ...worldFlags(world), http: ['127.0.0.1:0'] },
      clock: { now: () => Date.now() + offset, monotonic: () => performance.now() },
    });
    const url = `http://127.0.0.1:${wrong.daemon.httpAddresses[0]!.port}`;
    const port = wrong.port;
    const before = await scrape(url);
    assert.equal(before('clock_looks_wrong', { direction: 'ahead' }), 0);
    for (const name of ['www.alg8.test.', 'www.alg13.test.', 'mail.alg14.test.', 'www.nsec3-salt.test.', 'www.alg15.test.']) {
      assert.equal((await dig(port, [name, 'A', '+dnssec'])).status, 'SERVFAIL', name);
    }
    const m = await scrape(url);
    assert.equal(m('clock_looks_wrong', { direction: 'ahead' }), 1);
    assert.equal(m('clock_looks_wrong', { direction: 'behind' }), 0);
  });
});
