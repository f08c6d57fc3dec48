/**
 * A throwaway Unbound on a loopback address, answering only from local-zone/local-data: it never
 * recurses (the root zone is a static local zone) and only ever talks on loopback. With `forwardAll`
 * it forwards everything to a loopback resolver instead (a DNSSEC-capable upstream tests can kill). With
 * `validate` it is also a validating resolver (the reference verdicts of test/daemon/tamper.test.ts).
 */
import { ChildServer } from '../support/child-server.js';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ephemeralRange } from '../../src/daemon/preflight.js';
import { Name, RRType, makeQuery, parseMessage, serializeMessage } from '../../src/wire/index.js';

const execFileP = promisify(execFile);
const UNBOUND = '/usr/sbin/unbound';
const UNBOUND_CONTROL = '/usr/sbin/unbound-control';

export interface UnboundOptions {
  /** A loopback address (127.0.0.0/8): the fixture refuses anything else. */
  readonly address: string;
  /** Defaults to a free port >= 10000. */
  readonly port?: number;
  /** `local-data` lines, e.g. `a.test. 300 IN A 192.0.2.1`. */
  readonly localData?: readonly string[];
  /** Extra local zones besides the static root; default `test.` static. */
  readonly localZones?: readonly (readonly [string, string])[];
  /** Answer REFUSED to everyone (access-control refuse). */
  readonly refuse?: boolean;
  /**
   * Zones forwarded to another loopback server (make the zone `transparent` in localZones so that
   * the static root does not answer it). Forwarding to a refusing server yields a quick SERVFAIL.
   */
  readonly forwardZones?: readonly { readonly name: string; readonly address: string; readonly port: number }[];
  /**
   * Forward everything to this loopback resolver (e.g. the test world's upstream) instead of answering
   * from local data: a real DNSSEC-capable recursive upstream that a test can kill and restart.
   */
  readonly forwardAll?: { readonly address: string; readonly port: number };
  /**
   * A validating resolver ("validator iterator") with this trust anchor file (zone-file DS/DNSKEY, e.g. the
   * world's `rootAnchorFile`), answering SERVFAIL (with EDE) for BOGUS data and AD for SECURE data: a reference
   * validator, normally with `forwardAll` (it then validates what that upstream returns). Aggressive NSEC
   * is off, so every question is asked upstream once its cache is flushed (`flushCaches`).
   */
  readonly validate?: { readonly anchorFile: string };
}

/**
 * A port free for TCP and UDP on `address`, for a server another process binds a moment later. Drawn at random
 * below the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range): a port from inside it can be taken
 * meanwhile as the source port of any outgoing connection on the machine (the daemon's own queries to its
 * upstreams included), which made a daemon's listen fail with EADDRINUSE in CI.
 */
export async function freePort(address: string): Promise<number> {
  const [low, high] = portPool();
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await portFree(address, port)) return port;
  }
  throw new Error(`no free port found on ${address} in ${low}-${high - 1}`);
}

/** [first, end) of the ports freePort draws from: 10000 up to the start of the ephemeral range. */
export function portPool(): [number, number] {
  // Not Linux: the IANA dynamic range starts at 49152, Linux's default at 32768; the lower one serves both.
  const first = ephemeralRange()?.[0];
  return [10000, first !== undefined && first > 12000 ? first : 32768];
}

async function portFree(address: string, port: number): Promise<boolean> {
  const tcpFree = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: address, exclusive: true }, () => srv.close(() => resolve(true)));
  });
  if (!tcpFree) return false;
  return new Promise<boolean>((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => { s.close(); resolve(false); });
    s.bind({ port, address, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function assertLoopback(address: string): void {
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) throw new Error(`test servers must use 127.0.0.0/8, not ${address}`);
}


export class UnboundFixture {
  readonly address: string;
  readonly port: number;
  readonly controlPort: number;
  readonly dir: string;
  readonly confPath: string;
  private readonly proc: ChildServer;

  private constructor(address: string, port: number, controlPort: number, dir: string) {
    this.proc = new ChildServer('unbound', `${address}:${port}`);
    this.address = address;
    this.port = port;
    this.controlPort = controlPort;
    this.dir = dir;
    this.confPath = join(dir, 'unbound.conf');
  }

  static async start(opts: UnboundOptions): Promise<UnboundFixture> {
    assertLoopback(opts.address);
    const port = opts.port ?? (await freePort(opts.address));
    let controlPort = await freePort(opts.address);
    while (controlPort === port) controlPort = await freePort(opts.address);
    const dir = mkdtempSync(join(tmpdir(), 'stubd-unbound-'));
    const f = new UnboundFixture(opts.address, port, controlPort, dir);
    writeFileSync(f.confPath, f.config(opts));
    await f.launch();
    return f;
  }

  private config(opts: UnboundOptions): string {
    const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    // Forwarding: "test." is an RFC 6761 name Unbound answers locally by default; the world needs it forwarded.
    const zones = opts.localZones ?? (opts.forwardAll ? [['test.', 'nodefault']] : [['test.', 'static']]);
    const forwards = [...(opts.forwardZones ?? []), ...(opts.forwardAll ? [{ name: '.', ...opts.forwardAll }] : [])];
    return [
      'server:',
      `  interface: ${this.address}@${this.port}`,
      `  port: ${this.port}`,
      '  do-ip4: yes',
      '  do-ip6: no',
      '  do-udp: yes',
      '  do-tcp: yes',
      `  access-control: 127.0.0.0/8 ${opts.refuse ? 'refuse' : 'allow'}`,
      '  username: ""',
      '  chroot: ""',
      '  use-syslog: no',
      '  logfile: ""',
      `  directory: ${q(this.dir)}`,
      `  pidfile: ${q(join(this.dir, 'unbound.pid'))}`,
      '  do-not-query-localhost: no',
      ...(opts.validate
        ? [
          // A reference validator: the trust anchor from a file (never fetched or updated), reasons logged.
          '  module-config: "validator iterator"',
          `  trust-anchor-file: ${q(opts.validate.anchorFile)}`,
          '  val-log-level: 2',
          '  val-permissive-mode: no',
          '  harden-dnssec-stripped: yes',
          '  aggressive-nsec: no',
          '  trust-anchor-signaling: no',
          '  prefetch: no',
          '  ede: yes',
          '  log-servfail: yes',
        ]
        // No validator (no trust anchor to fetch) and nothing to recurse to: every answer is local data.
        : ['  module-config: "iterator"']),
      `  outgoing-interface: ${this.address}`,
      '  num-threads: 1',
      '  so-reuseport: no',
      '  verbosity: 1',
      '  log-queries: yes',
      ...(opts.forwardAll ? [] : ['  local-zone: "." static']),
      ...zones.map(([z, t]) => `  local-zone: ${q(z)} ${t}`),
      // Single quotes keep the double quotes of TXT data intact (Unbound does not unescape \").
      ...(opts.localData ?? []).map((d) => `  local-data: ${d.includes("'") ? q(d) : `'${d}'`}`),
      ...forwards.flatMap((z) => {
        assertLoopback(z.address);
        return ['forward-zone:', `  name: ${q(z.name)}`, `  forward-addr: ${z.address}@${z.port}`];
      }),
      'remote-control:',
      '  control-enable: yes',
      `  control-interface: ${this.address}`,
      `  control-port: ${this.controlPort}`,
      '  control-use-cert: no',
      '',
    ].join('\n');
  }

  private async launch(): Promise<void> {
    await this.proc.start(UNBOUND, ['-d', '-c', this.confPath], () => this.answers());
  }


  /** Whether the server answers a query over UDP right now (any rcode). */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const s = createSocket('udp4');
      const id = 4242;
      const q = serializeMessage(makeQuery(Name.fromText('probe.invalid.'), RRType.A, { id })).bytes;
      const t = setTimeout(() => done(false), 200);
      const done = (ok: boolean): void => {
        clearTimeout(t);
        s.close();
        resolve(ok);
      };
      s.on('error', () => done(false));
      s.on('message', (m) => {
        try {
          done(parseMessage(m).id === id);
        } catch {
          done(false);
        }
      });
      s.send(q, this.port, this.address);
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** Everything Unbound printed (log-queries lines included). */
  get log(): string {
    return this.proc.output;
  }

  /** Kill the process (SIGKILL, as a crash would) and wait for it to be gone. Config stays for restart(). */
  async kill(): Promise<void> {
    await this.proc.kill();
  }

  /** Freeze the process: its sockets stay open but nothing is answered (for timeouts). */
  pause(): void {
    this.proc.signal('SIGSTOP');
  }

  resume(): void {
    this.proc.signal('SIGCONT');
  }

  /** Start again with the same address, port and configuration. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Counters from `unbound-control stats_noreset` (e.g. total.num.queries). */
  async stats(): Promise<Map<string, number>> {
    const { stdout } = await execFileP(UNBOUND_CONTROL, ['-c', this.confPath, 'stats_noreset'], { timeout: 5000 });
    const out = new Map<string, number>();
    for (const line of stdout.split('\n')) {
      const m = /^([^=]+)=([0-9.]+)$/.exec(line.trim());
      if (m) out.set(m[1]!, Number(m[2]));
    }
    return out;
  }

  /** Run one `unbound-control` command; its standard output. */
  async control(...args: string[]): Promise<string> {
    const { stdout } = await execFileP(UNBOUND_CONTROL, ['-c', this.confPath, ...args], { timeout: 5000 });
    return stdout;
  }

  /**
   * Forget everything learnt from upstream, so that the next question is asked again: the message, RRset
   * and key caches (flush_zone . marks them expired, and serve-expired is off), BOGUS and negative entries
   * (flush_bogus, flush_negative), the upstream's infrastructure state (flush_infra all: RTT, EDNS, lameness)
   * and the questions in progress (flush_requestlist).
   */
  async flushCaches(): Promise<void> {
    for (const cmd of [['flush_zone', '.'], ['flush_bogus'], ['flush_negative'], ['flush_infra', 'all'], ['flush_requestlist']]) {
      await this.control(...cmd);
    }
  }

  /** Queries received so far (the startup probes included); unbound-control always prints the count, so absent throws. */
  async queryCount(): Promise<number> {
    const v = (await this.stats()).get('total.num.queries');
    if (v === undefined) throw new Error('no total.num.queries in unbound-control stats_noreset');
    return v;
  }

  /** Stop for good: terminate, wait, remove the temporary directory. */
  async stop(): Promise<void> {
    await this.proc.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `count` TXT records of `size` octets each at `owner`: together larger than a 1232-octet UDP answer. */
export function bigTxt(owner: string, count: number, size: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const text = `${String(i).padStart(3, '0')}-${'x'.repeat(size - 4)}`;
    return `${owner} 300 IN TXT "${text}"`;
  });
}
