/**
 * Listen ports inside the kernel's range of source ports (net.ipv4.ip_local_port_range): any outgoing
 * connection on the host, the daemon's own upstream queries included, can take one between the start-up check
 * and the bind (a CI run lost a test daemon's port that way). The daemon warns at start, and a bind that fails on
 * such a port held by no server says so with what to do.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListenError, checkListenAddresses, ephemeralRange, portsAtRisk } from '../../src/daemon/index.js';
import { startTestDaemon } from '../support/daemon.js';
import { freePort } from '../support/daemon-process.js';

const la = (port: number): { address: string; port: number } => ({ address: '127.0.0.1', port });

describe('listen ports in the source-port range', () => {
  it('reads the range from procfs, and nothing from a file that is not one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stubd-range-'));
    const f = (text: string): string => {
      const p = join(dir, `r${Math.random()}`);
      writeFileSync(p, text);
      return p;
    };
    assert.deepEqual(ephemeralRange(f('32768\t60999\n')), [32768, 60999]);
    assert.deepEqual(ephemeralRange(f('1024 65535')), [1024, 65535]);
    for (const bad of ['', 'x y', '60999 32768', '-1 5']) assert.equal(ephemeralRange(f(bad)), undefined, bad);
    assert.equal(ephemeralRange(join(dir, 'missing')), undefined);
    assert.ok(ephemeralRange() !== undefined, 'this Linux host has one');
  });

  it('names the fixed DNS and HTTP ports inside the range, not port 0, not those outside, not reserved ones', () => {
    const range: [number, number] = [32768, 60999];
    const reserved = (p: number): boolean => p === 50000;
    assert.deepEqual(portsAtRisk([la(53), la(40000), la(0)], [la(8053), la(40000), la(50000), la(60999), la(61000)], range, reserved), [40000, 60999]);
    assert.deepEqual(portsAtRisk([la(53)], [la(8053)], range, reserved), []);
    assert.deepEqual(portsAtRisk([la(40000)], [], null, reserved), [], 'no range known: nothing said');
  });

  it('a port held by an outgoing connection: the error says it is a source port, and what to do', async () => {
    const srv: Server = createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const client: Socket = connect((srv.address() as { port: number }).port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
    try {
      const taken = client.localPort!;
      const range = ephemeralRange()!;
      assert.ok(taken >= range[0] && taken <= range[1], `${taken} is a source port`);
      await assert.rejects(checkListenAddresses([la(taken)], []), (e: unknown) => {
        assert.ok(e instanceof ListenError);
        assert.equal(e.code, 'EADDRINUSE');
        assert.match(e.message, new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${taken} \\(TCP\\): the address is already in use by another process .*; ` +
          `port ${taken} is in the kernel's range for source ports \\(net\\.ipv4\\.ip_local_port_range ${range[0]}-${range[1]}\\), where any outgoing ` +
          `connection can take it: pick a port outside it, or reserve it \\(net\\.ipv4\\.ip_local_reserved_ports=${taken}\\)$`));
        return true;
      });
    } finally {
      client.destroy();
      srv.close();
    }
  });

  it('a port held by a server gets no such hint, even inside the range: the server is named', async () => {
    const holder = spawn(process.execPath, ['-e', "const s = require('net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port))"]);
    try {
      const port = Number(await new Promise<string>((r) => holder.stdout.once('data', (b: Buffer) => r(b.toString().trim()))));
      const range = ephemeralRange()!;
      assert.ok(port >= range[0] && port <= range[1], `${port} (port 0's pick) is in the range`);
      await assert.rejects(checkListenAddresses([la(port)], []), (e: unknown) =>
        e instanceof ListenError && new RegExp(`already in use by process ${holder.pid} `).test(e.message) && !/source ports/.test(e.message));
    } finally {
      holder.kill();
    }
  });

  it('the daemon warns once at start for a listen port inside the range; none for one outside it', async () => {
    const range = ephemeralRange()!;
    let inside = 0;
    for (let i = 0; i < 50 && !inside; i++) {
      const p = range[0] + Math.floor(Math.random() * (range[1] - range[0]));
      const free = await new Promise<boolean>((r) => {
        const s = createServer();
        s.once('error', () => r(false));
        s.listen(p, '127.0.0.1', () => s.close(() => r(true)));
      });
      if (free) inside = p;
    }
    assert.ok(inside, 'found a free port in the range');
    const outside = await freePort('127.0.0.1');
    for (const [port, warned] of [[inside, true], [outside, false]] as const) {
      const d = await startTestDaemon({ cli: { listen: [`127.0.0.1:${port}`], upstream: ['127.0.0.1:9'], logLevel: 'warn' }, logs: 'warn' });
      await d.stop();
      const lines = d.logs;
      const w = lines.filter((l) => /in the kernel's range for source ports/.test(l.msg));
      assert.equal(w.length, warned ? 1 : 0, JSON.stringify(lines.map((l) => l.msg)));
      if (warned) {
        assert.deepEqual(w[0]!.ports, [port]);
        assert.match(w[0]!.msg, new RegExp(`^listen port ${port} is in the kernel's range for source ports .*pick a port below ${range[0]}, or reserve it \\(sysctl -w net\\.ipv4\\.ip_local_reserved_ports=${port}\\)$`));
      }
    }
  });
});
