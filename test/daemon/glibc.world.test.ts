/**
 * What an MTA's libc gets (issue 9): glibc's getaddrinfo, in a private mount namespace whose /etc/resolv.conf
 * names only the daemon (on daemonAddr(10, 1):53: glibc's stub talks to port 53 only) and whose nsswitch.conf
 * resolves hosts by DNS only. The daemon's only upstream is an on-path attacker (a proxy on loopback in
 * front of the world's real Unbound) that puts an unsigned CNAME to a forged address in front of the
 * genuine signed answer. glibc follows such a CNAME to the forged A whatever the AD bit says, so the
 * daemon must not pass the forged records on: it answers BOGUS (SERVFAIL) for these tamperings, and
 * getaddrinfo fails (EAI_AGAIN) instead of returning 6.6.6.6. A name the attacker leaves alone resolves
 * through the same set-up to the world's genuine address (the control: the namespace, resolv.conf and the
 * daemon on port 53 work). Needs root (unshare -m, port 53), cc and util-linux (scripts/install-test-deps.sh).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { dig } from '../support/dig.js';
import { resolvConf, runWithPrivateEtc } from '../support/private-etc.js';
import { TamperProxy, append, firstOf, onQuestion, prepend, rrs } from '../support/tamper-proxy.js';
import { DATA, getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { startFailoverDaemon } from './failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { daemonAddr } from '../world/net.js';

const execFileP = promisify(execFile);

/** The daemon's address: port 53, which glibc's resolv.conf cannot change. Not used elsewhere in test/. */
const DAEMON_ADDRESS = daemonAddr(10, 1);
const PROXY_ADDRESS = daemonAddr(10, 2);
const EVIL = '6.6.6.6';

const GETADDRINFO_C = `
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* getaddrinfo(argv[1]) for IPv4 (argv[2] = "4") or any family: one address per line, or "EAI <code> <text>" and exit 2. */
int main(int argc, char **argv) {
  struct addrinfo hints, *res, *p;
  char buf[INET6_ADDRSTRLEN];
  int rc;
  if (argc < 3) return 64;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = strcmp(argv[2], "4") == 0 ? AF_INET : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo(argv[1], NULL, &hints, &res);
  if (rc != 0) {
    printf("EAI %d %s\\n", rc, gai_strerror(rc));
    return 2;
  }
  for (p = res; p; p = p->ai_next) {
    const void *a = p->ai_family == AF_INET
      ? (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr
      : (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr;
    printf("%s\\n", inet_ntop(p->ai_family, a, buf, sizeof buf));
  }
  freeaddrinfo(res);
  return 0;
}
`;

/** The issue's rewrite, and the same CNAME trick appended after the genuine RRset of another zone. */
const ISSUE = rrs('www.alg13.test. 300 IN CNAME www.evil.insecure.test.', `www.evil.insecure.test. 300 IN A ${EVIL}`);
const APPENDED = rrs('www.alg8.test. 300 IN CNAME www.evil.alg8.test.', `www.evil.alg8.test. 300 IN A ${EVIL}`);

let world: WorldInfo;
let proxy: TamperProxy;
let d: TestDaemon;
let dir: string;
let bin: string;

before(async () => {
  world = await getWorld();
  dir = mkdtempSync(join(tmpdir(), 'stubd-glibc-'));
  bin = join(dir, 'gai');
  writeFileSync(join(dir, 'gai.c'), GETADDRINFO_C);
  await execFileP('cc', ['-O0', '-o', bin, join(dir, 'gai.c')], { timeout: 60_000 });
  writeFileSync(join(dir, 'resolv.conf'), resolvConf([DAEMON_ADDRESS], ['timeout:2', 'attempts:1', 'edns0', 'trust-ad']));
  writeFileSync(join(dir, 'nsswitch.conf'), 'hosts: dns\n');
  proxy = await TamperProxy.start({ address: PROXY_ADDRESS, backend: { address: world.upstream.host, port: world.upstream.port } });
  proxy.rewrite = firstOf(
    onQuestion('www.alg13.test.', 'A', prepend('answer', ISSUE)),
    onQuestion('www.alg8.test.', 'A', append('answer', APPENDED)),
  );
  d = await startFailoverDaemon(world, { upstreams: [{ address: proxy.address, port: proxy.port }], server: { warmupQueries: 0 } },
    { listen: [`${DAEMON_ADDRESS}:53`] });
  await d.probed();
});

after(async () => {
  await d?.stop();
  await proxy?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await stopWorld();
});

interface Gai {
  ok: boolean;
  addresses: string[];
  error: string | undefined;
}

/** getaddrinfo in a private mount namespace with our resolv.conf and nsswitch.conf bind-mounted over /etc's. */
async function getaddrinfo(name: string, family: '4' | 'any' = '4'): Promise<Gai> {
  const binds = { '/etc/resolv.conf': join(dir, 'resolv.conf'), '/etc/nsswitch.conf': join(dir, 'nsswitch.conf') };
  const r = await runWithPrivateEtc(binds, bin, [name, family], { timeoutMs: 20_000 });
  if (r.code === 0) return { ok: true, addresses: r.stdout.split('\n').filter(Boolean), error: undefined };
  if (r.code === 2 && r.stdout.startsWith('EAI ')) return { ok: false, addresses: [], error: r.stdout.trim() };
  throw new Error(`unshare/getaddrinfo failed (${r.killed ? 'timed out' : r.code}): ${r.stdout}${r.stderr}`);
}

describe('glibc getaddrinfo through the daemon, upstream tampered with', () => {
  it('control: an untouched name resolves to the world\'s address through the namespace\'s resolv.conf', async () => {
    const r = await getaddrinfo('mail.alg13.test');
    assert.deepEqual(r, { ok: true, addresses: [DATA.mail], error: undefined });
    const any = await getaddrinfo('mail.alg13.test', 'any');
    assert.ok(any.ok && any.addresses.includes(DATA.mail) && any.addresses.includes(DATA.mail6), JSON.stringify(any));
  });

  it('the daemon itself calls both tampered answers BOGUS (SERVFAIL), first and cached', async () => {
    for (const name of ['www.alg13.test.', 'www.alg8.test.']) {
      for (let i = 0; i < 2; i++) {
        const r = await dig(53, [name, 'A', '+dnssec'], DAEMON_ADDRESS);
        assert.equal(r.status, 'SERVFAIL', r.text);
        assert.ok(!r.text.includes(EVIL), r.text);
      }
    }
    assert.ok(proxy.count('www.alg13.test', 'A') >= 1 && proxy.count('www.alg8.test', 'A') >= 1, 'the tampered questions went through the proxy');
  });

  it('issue 9 (forged CNAME and A in front of the signed A): getaddrinfo fails, never 6.6.6.6', async () => {
    d.daemon.flush();
    const before = proxy.tampered;
    const r = await getaddrinfo('www.alg13.test');
    assert.ok(proxy.tampered > before, 'glibc\'s question reached the attacker');
    assert.ok(!r.addresses.includes(EVIL), JSON.stringify(r));
    assert.equal(r.ok, false, JSON.stringify(r));
    assert.match(r.error ?? '', /^EAI -3 /, 'EAI_AGAIN: the daemon answered SERVFAIL');
  });

  it('the same trick after the genuine signed A RRset: getaddrinfo fails, never 6.6.6.6 (nor the genuine address beside it)', async () => {
    d.daemon.flush();
    for (const family of ['4', 'any'] as const) {
      const r = await getaddrinfo('www.alg8.test', family);
      assert.ok(!r.addresses.includes(EVIL), JSON.stringify(r));
      if (family === '4') {
        assert.equal(r.ok, false, JSON.stringify(r));
        assert.match(r.error ?? '', /^EAI -3 /);
      } else {
        // A is BOGUS, AAAA genuine: glibc returns what it got, and only genuine data.
        assert.ok(r.addresses.every((a) => a === DATA.www6), JSON.stringify(r));
      }
    }
  });
});
