/**
 * `dnssec-stubd ready [--config FILE] [--wait SECONDS]`: can the running daemon serve an MTA? Two questions:
 * its HTTP API's /readyz (listeners open, self-test passed, a DNSSEC-capable upstream, a trusted key per anchor
 * zone; with the upstreams' states and evidence from /upstreams when it is not), and ". DNSKEY" asked at its
 * first listen address as an MTA asks (AD expected). Prints what is wrong and what to do. Exit 0 ready, 1 running
 * but not ready, 2 configuration error, 3 no answer.
 */
import { addressCheckers } from '../config/fields.js';
import { loadConfig, readHttpToken, type CliOverrides } from '../config/load.js';
import { ConfigError, type Config, type ListenAddress } from '../config/schema.js';
import { validationNotices, type DaemonStats } from '../daemon/index.js';
import { dnsLookup } from '../dane/lookup.js';
import { Name, RRType } from '../wire/index.js';

type Readiness =
  | { readonly kind: 'ready'; readonly lines: readonly string[] }
  /** Running, not ready; `settled`: waiting longer will not help (every upstream probed, none DNSSEC-capable). */
  | { readonly kind: 'not-ready'; readonly lines: readonly string[]; readonly settled: boolean }
  | { readonly kind: 'no-answer'; readonly lines: readonly string[] };

const ReadyExit = { ready: 0, 'not-ready': 1, 'no-answer': 3 } as const;

/** A wildcard listen address is asked on loopback. */
function reachable(l: ListenAddress): ListenAddress {
  if (l.address === '0.0.0.0') return { address: '127.0.0.1', port: l.port };
  if (l.address === '::') return { address: '::1', port: l.port };
  return l;
}

const at = (l: ListenAddress): string => (l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`);

interface HttpView {
  readonly status: number;
  readonly body: unknown;
}

async function get(base: string, path: string, token: string | undefined, timeoutMs: number): Promise<HttpView> {
  const r = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: await r.json().catch(() => null) };
}

/** Ask the daemon once. */
async function checkReadiness(cfg: Config, timeoutMs = 3000): Promise<Readiness> {
  const lines: string[] = [];
  const problems: string[] = [];
  let settled = false;
  let httpAnswered = false;
  const http = cfg.http.listen[0] ? reachable(cfg.http.listen[0]) : undefined;
  if (http) {
    const base = `http://${at(http)}`;
    try {
      const token = readHttpToken(cfg.http);
      const r = await get(base, '/readyz', token, timeoutMs);
      httpAnswered = true;
      const body = r.body as { ready?: boolean; reasons?: string[] } | null;
      if (r.status === 200 && body?.ready) lines.push(`HTTP API ${at(http)}: /readyz says ready`);
      else if (r.status === 401 || r.status === 403) problems.push(`HTTP API ${at(http)} refused /readyz (${r.status}): check http.token/http.tokenFile and http.allow`);
      else {
        for (const reason of body?.reasons ?? [`/readyz answered ${r.status}`]) problems.push(advice(reason));
        if ((body?.reasons ?? []).some((x) => /DNSSEC-capable upstream/.test(x))) {
          const u = await get(base, '/upstreams', token, timeoutMs).catch(() => undefined);
          const routes = (u?.body as { routes?: DaemonStats['upstreams'] } | null)?.routes ?? [];
          const health = routes.flatMap((x) => x.health);
          settled = health.length > 0 && health.every((h) => h.state !== 'UNPROBED' && !h.probing);
          for (const n of validationNotices(routes, cfg)) problems.push(`    ${n.message}`);
          if (!settled) problems.push('    (the first probes are still running)');
        }
      }
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      problems.push(`HTTP API ${at(http)}: no answer (${describeFetchError(err)})`);
    }
  }
  const dns = reachable(cfg.listen[0]!);
  const r = await dnsLookup({ address: dns.address, port: dns.port }, timeoutMs).lookup(Name.root, RRType.DNSKEY);
  const dnsAnswered = r.rcode !== undefined;
  if (r.status === 'SECURE') lines.push(`DNS ${at(dns)}: . DNSKEY answered with AD (validated)`);
  else if (dnsAnswered) problems.push(`DNS ${at(dns)}: . DNSKEY answered ${r.status === 'INSECURE' ? 'without AD (not validated)' : r.rcode}${r.reason ? `: ${r.reason}` : ''}`);
  else lines.push(`DNS ${at(dns)}: ${r.reason ?? 'no answer'}`);
  if (!dnsAnswered && !httpAnswered) {
    return {
      kind: 'no-answer',
      lines: [...lines, ...problems, `the daemon does not answer: is it running? Its log says why it stopped (journalctl -u dnssec-stubd, or /var/log/dnssec-stubd.log in background mode)`],
    };
  }
  if (problems.length === 0 && dnsAnswered) return { kind: 'ready', lines };
  return { kind: 'not-ready', lines: [...lines, ...problems], settled };
}

/** What to do about a /readyz reason. */
function advice(reason: string): string {
  if (/self-test failed/.test(reason)) return `${reason}: validation in this process is broken (a crypto backend?); see the log's "self-test FAILED" line and try --crypto js or openssl`;
  if (/has no trusted key/.test(reason)) return `${reason}: see \`dnssec-stubd anchors\`; every answer under it is SERVFAIL until a key is trusted again`;
  if (/listeners are not open/.test(reason) || /self-test has not run/.test(reason)) return `${reason} (still starting?)`;
  return reason;
}

function describeFetchError(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string }; name?: string; message?: string };
  if (e.name === 'TimeoutError') return 'timeout';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Whether process `pid` still runs (signal 0; EPERM: it runs as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function ready(cli: CliOverrides & { wait?: string | undefined; pid?: string | undefined }): Promise<number> {
  let cfg: Config;
  const waitS = cli.wait === undefined ? 0 : Number(cli.wait);
  if (!Number.isFinite(waitS) || waitS < 0 || waitS > 3600) {
    process.stderr.write(`dnssec-stubd ready: --wait: expected seconds from 0 to 3600, got ${JSON.stringify(cli.wait)}\n`);
    return 2;
  }
  try {
    cfg = loadConfig(cli, addressCheckers);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`dnssec-stubd ready: ${cli.config ?? '(no config file)'}: ${err.message}\n`);
    return 2;
  }
  const pid = cli.pid === undefined ? undefined : Number(cli.pid);
  if (pid !== undefined && !(Number.isInteger(pid) && pid > 0)) {
    process.stderr.write(`dnssec-stubd ready: --pid: expected a process id, got ${JSON.stringify(cli.pid)}\n`);
    return 2;
  }
  const deadline = Date.now() + waitS * 1000;
  for (;;) {
    if (pid !== undefined && !alive(pid)) {
      process.stderr.write(`dnssec-stubd does not answer:\n  the daemon (process ${pid}) has exited: its log says why\n`);
      return ReadyExit['no-answer'];
    }
    let r: Readiness;
    try {
      r = await checkReadiness(cfg);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`dnssec-stubd ready: ${err.message}\n`);
      return 2;
    }
    const last = Date.now() >= deadline || r.kind === 'ready' || (r.kind === 'not-ready' && r.settled);
    if (last) {
      const head = r.kind === 'ready' ? 'dnssec-stubd is ready' : r.kind === 'not-ready' ? 'dnssec-stubd is running but NOT READY' : 'dnssec-stubd does not answer';
      (r.kind === 'ready' ? process.stdout : process.stderr).write(`${head}:\n${r.lines.map((l) => `  ${l}\n`).join('')}`);
      return ReadyExit[r.kind];
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
