/**
 * The composition root (src/daemon): one Daemon built from the config, its statistics read in one call,
 * and the query-event seam (one event per answered query, only while someone listens).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import type { QueryEvent } from '../../src/server/types.js';
import { RRType } from '../../src/wire/index.js';
import { dig } from '../support/dig.js';
import { useWorldDaemon } from '../support/world-daemon.js';

const w = useWorldDaemon();

/** Collect the events of what `f` asks. */
async function eventsOf(f: () => Promise<unknown>): Promise<QueryEvent[]> {
  const seen: QueryEvent[] = [];
  const off = w.daemon.onQuery((e) => seen.push(e));
  try {
    await f();
    // Events are emitted after the reply is handed to the socket: let that tick pass.
    await new Promise((r) => setImmediate(r));
  } finally {
    off();
  }
  return seen;
}

describe('the daemon', () => {
  it('stats(): every component in one read', async () => {
    const s = w.daemon.stats();
    assert.ok(s.server && s.server.queries.udp >= 0);
    assert.deepEqual(s.anchors.map((a) => a.zone), ['.']);
    assert.ok(s.upstreams.length >= 1 && s.upstreams[0]!.upstreams.length === 1);
    assert.equal(s.crypto[13], 'openssl', 'ECDSA P-256 verified by OpenSSL (crypto auto)');
    assert.equal(s.cache.maxBytes, w.daemon.config.cache.maxBytes);
    assert.ok(s.selfTest, 'the start-up self-test ran (warmupQueries defaults on)');
    assert.deepEqual(s.selfTest!.failed, []);
    for (const k of ['secure', 'insecure', 'bogus', 'indeterminate', 'failure', 'unchecked'] as const) assert.equal(typeof s.resolver.statuses[k], 'number');
  });

  it('one event per query: path, status, rcode, upstreams, duration; the resolver counts statuses', async () => {
    w.daemon.flush();
    const before = w.daemon.stats().resolver.statuses;
    const miss = await eventsOf(() => dig(w.port, ['www.alg13.test.', 'A', '+dnssec']));
    assert.equal(miss.length, 1);
    const e = miss[0]!;
    assert.equal(e.qname, 'www.alg13.test.');
    assert.equal(e.qtype, RRType.A);
    assert.equal(e.transport, 'udp');
    assert.equal(e.client, '127.0.0.1');
    assert.equal(e.rcode, 0);
    assert.equal(e.status, 'secure');
    assert.equal(e.path, 'upstream');
    assert.deepEqual(e.upstreams, [`${w.world.upstream.host}:${w.world.upstream.port}`]);
    assert.ok(e.durationUs > 0);
    // A subscriber may log events as JSON: every field, the qname included.
    assert.deepEqual(JSON.parse(JSON.stringify(e)), {
      transport: 'udp', client: '127.0.0.1', qname: 'www.alg13.test.', qtype: RRType.A, rcode: 0, status: 'secure', ede: [], path: 'upstream',
      upstreams: e.upstreams, durationUs: e.durationUs,
    });
    assert.equal(w.daemon.stats().resolver.statuses.secure, before.secure + 1);

    const hit = await eventsOf(() => dig(w.port, ['www.alg13.test.', 'A', '+dnssec', '+tcp']));
    assert.deepEqual(hit.map((x) => [x.path, x.status, x.transport]), [['cache', 'secure', 'tcp']]);

    const bogus = await eventsOf(() => dig(w.port, ['www.bogus-expired.test.', 'A', '+dnssec']));
    assert.deepEqual(bogus.map((x) => [x.status, x.rcode, x.ede]), [['bogus', 2, [7]]], 'SERVFAIL with EDE 7 (signature expired)');
  });

  it('the listener answers some queries itself: path "server"', async () => {
    // A query with QDCOUNT 0: FORMERR from the listener.
    const packet = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
    const events = await eventsOf(() => new Promise<void>((resolve, reject) => {
      const s = createSocket('udp4');
      const t = setTimeout(() => { s.close(); reject(new Error('no reply')); }, 2000);
      s.on('message', () => { clearTimeout(t); s.close(); resolve(); });
      s.send(packet, w.port, '127.0.0.1');
    }));
    assert.equal(events.length, 1);
    assert.equal(events[0]!.path, 'server');
    assert.equal(events[0]!.rcode, 1);
  });

  it('no listener: no event is built, and detaching stops them', async () => {
    const seen: QueryEvent[] = [];
    const off = w.daemon.onQuery((e) => seen.push(e));
    off();
    await dig(w.port, ['mail.alg13.test.', 'A']);
    assert.equal(seen.length, 0);
  });
});
