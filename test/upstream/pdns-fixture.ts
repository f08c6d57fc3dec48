/**
 * A throwaway PowerDNS Recursor (Debian's pdns-recursor 4.8) with `dnssec=off`: the real non-DNSSEC
 * resolver of the failover tests. With dnssec=off it ignores the DO bit of queries, never sets it
 * upstream and returns no RRSIG/NSEC/NSEC3 records (checked by test/upstream/health-probe.test.ts
 * with dig +dnssec). It forwards everything to a loopback resolver (`forward-zones-recurse=.=...`),
 * its root hints name only the test world's root, and the security poll is off: nothing ever leaves
 * loopback.
 */
import { ChildServer } from '../support/child-server.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './unbound-fixture.js';
import { probe } from '../world/dnsprobe.js';

export const PDNS_RECURSOR = '/usr/sbin/pdns_recursor';

export interface PdnsOptions {
  /** A loopback address (127.0.0.0/8). */
  readonly address: string;
  readonly port?: number;
  /** Where every query is forwarded (a loopback resolver, e.g. the world's upstream). */
  readonly forwardTo: { readonly address: string; readonly port: number };
  /** Root hints (the world's, naming only its fake root); without it priming would use the built-in hints. */
  readonly hintFile: string;
}

const LOOPBACK = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export class PdnsRecursorFixture {
  private readonly proc: ChildServer;

  private constructor(readonly address: string, readonly port: number, readonly dir: string) {
    this.proc = new ChildServer('pdns_recursor', `${address}:${port}`);
  }

  static async start(opts: PdnsOptions): Promise<PdnsRecursorFixture> {
    for (const a of [opts.address, opts.forwardTo.address]) if (!LOOPBACK.test(a)) throw new Error(`test servers must use 127.0.0.0/8, not ${a}`);
    const port = opts.port ?? (await freePort(opts.address));
    const dir = mkdtempSync(join(tmpdir(), 'stubd-pdns-'));
    const f = new PdnsRecursorFixture(opts.address, port, dir);
    writeFileSync(join(dir, 'recursor.conf'), [
      `local-address=${opts.address}`,
      `local-port=${port}`,
      `query-local-address=${opts.address}`,
      'dnssec=off',
      `forward-zones-recurse=.=${opts.forwardTo.address}:${opts.forwardTo.port}`,
      `hint-file=${opts.hintFile}`,
      'security-poll-suffix=',
      `socket-dir=${dir}`,
      'daemon=no',
      'write-pid=no',
      'allow-from=127.0.0.0/8',
      'threads=1',
      'quiet=no',
      'loglevel=4',
      // Forget answers quickly: tests restart what it forwards to.
      'max-cache-ttl=5',
      'max-negative-ttl=5',
      'packetcache-ttl=1',
      '',
    ].join('\n'));
    await f.launch();
    return f;
  }

  get label(): string {
    return `${this.address}:${this.port}`;
  }

  get log(): string {
    return this.proc.output;
  }

  get running(): boolean {
    return this.proc.running;
  }

  private async launch(): Promise<void> {
    await this.proc.start(PDNS_RECURSOR, [`--config-dir=${this.dir}`],
      async () => (await probe(this.address, this.port, '.', 'SOA', { rd: true, timeoutMs: 300 })) !== null);
  }

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    await this.proc.kill();
  }

  async stop(): Promise<void> {
    await this.proc.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
