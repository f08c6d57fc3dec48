/**
 * A private Postfix instance for the world tests: Debian's Postfix (scripts/install-test-deps.sh), its own
 * config_directory, queue_directory and data_directory under a temporary directory, every service with
 * chroot = n (so its processes read the real /etc/resolv.conf path) and no smtpd listener. Its master runs in a
 * private mount namespace (private-etc.ts) whose /etc/resolv.conf is a bind mount of the instance's own file, so
 * its only resolver is whatever that file names; the machine's /etc/resolv.conf is never touched. It logs to a
 * file (`maillog_file`, written by postlogd), which the tests read. Messages go in with its sendmail (`-C`,
 * as root), each with a unique Message-ID by which its queue id is found in the log. Needs root.
 *
 *   const pf = await PostfixInstance.start({ nameservers: [daemonAddr(11, 1)] });
 *   try { const d = await pf.deliver('user@ok.dmx.test'); ... } finally { await pf.stop(); }
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolvConf, runWithPrivateEtc } from './private-etc.js';
import { daemonAddr } from '../world/net.js';

const execFileP = promisify(execFile);

export interface PostfixOptions {
  /** The `nameserver` lines of the instance's private /etc/resolv.conf (port 53: resolv.conf has no port). */
  nameservers: string[];
  /** The `options` line (default `trust-ad`; `[]` writes none). */
  resolverOptions?: string[];
  /** Source address of the SMTP client (default daemonAddr(11, 2): the world's servers see who connected). */
  bindAddress?: string;
  /** main.cf lines added after (and overriding) the harness's own. */
  mainCf?: Record<string, string>;
  /** A label for the temporary directory and error messages. */
  label?: string;
}

export type DeliveryStatus = 'sent' | 'deferred' | 'bounced';

export interface LogLine {
  /** e.g. `postfix/smtp` */
  program: string;
  pid: number;
  /** the text after `program[pid]: ` */
  text: string;
  raw: string;
}

/** A message handed to sendmail. */
export interface Sent {
  queueId: string;
  /** without the angle brackets */
  messageId: string;
  recipient: string;
}

export interface Delivery {
  queueId: string;
  /** the Message-ID send() gave it (empty for messages not sent by send(), e.g. bounces) */
  messageId: string;
  recipient: string;
  status: DeliveryStatus;
  dsn: string;
  relay: string;
  /** the parenthesized reason of the status line */
  reason: string;
  /** The delivery agent's lines for this attempt: the same process's lines since its previous attempt (TLS, warnings), the status line last. */
  lines: LogLine[];
}

export interface CommandResult {
  /** stdout then stderr (posttls-finger logs to stderr) */
  output: string;
  code: number;
}

const LINE = /^\S+ +\d+ [\d:]+ \S+ (postfix[\w/-]*)\[(\d+)\]: (.*)$/;
const STATUS = /^([0-9A-F]{6,}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}): to=<([^>]*)>,(?: orig_to=<[^>]*>,)? relay=([^,]+), .*dsn=([\d.]+), status=(sent|deferred|bounced) \((.*)\)$/;

/** The harness's main.cf; every path is the instance's own. */
function mainCf(dir: string, o: PostfixOptions): string {
  const p = {
    compatibility_level: '3.6',
    config_directory: join(dir, 'etc'),
    queue_directory: join(dir, 'spool'),
    data_directory: join(dir, 'data'),
    meta_directory: '/etc/postfix',
    maillog_file: join(dir, 'maillog'),
    maillog_file_prefixes: dir,
    myhostname: 'client.postfix.test',
    mydomain: 'postfix.test',
    myorigin: '$myhostname',
    mydestination: '',
    relayhost: '',
    // Postfix needs an interface it owns; loopback-only is 127.0.0.1, never a world address (no mail loop),
    // and nothing listens on it: master.cf has no smtpd.
    inet_interfaces: 'loopback-only',
    inet_protocols: 'ipv4',
    smtp_bind_address: o.bindAddress ?? daemonAddr(11, 2),
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    biff: 'no',
    // bounces go to the sender's domain: keep them here, discarded, rather than sent into the world
    transport_maps: 'inline:{ client.postfix.test=discard: }',
    smtp_dns_support_level: 'dnssec',
    smtp_tls_security_level: 'dane',
    smtp_tls_loglevel: '1',
    smtp_host_lookup: 'dns',
    smtp_connect_timeout: '10s',
    smtp_helo_timeout: '10s',
    ...o.mainCf,
  };
  return Object.entries(p).map(([k, v]) => `${k} = ${v}`.trimEnd()).join('\n') + '\n';
}

// name type private unpriv chroot wakeup maxproc command: chroot = n everywhere, no smtpd
const MASTER_CF = `
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
`.trimStart();

function postfixUid(): number {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postfix:'));
  if (!line) throw new Error('no postfix user: install Postfix with scripts/install-test-deps.sh');
  return Number(line.split(':')[2]);
}

/** Instances still running, stopped synchronously if the process exits or is killed without stop() (a crashed test). */
const running = new Set<PostfixInstance>();
let handlersInstalled = false;
function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const stopAll = (): void => {
    for (const pf of running) pf.stopSync();
  };
  process.on('exit', stopAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      stopAll();
      process.kill(process.pid, sig);
    });
  }
}

export class PostfixInstance {
  readonly dir: string;
  readonly configDir: string;
  readonly logFile: string;
  readonly resolvConf: string;
  readonly label: string;
  private masterPid = 0;
  private stopped = false;
  private readonly messageIds = new Map<string, string>();

  private constructor(dir: string, label: string) {
    this.dir = dir;
    this.label = label;
    this.configDir = join(dir, 'etc');
    this.logFile = join(dir, 'maillog');
    this.resolvConf = join(dir, 'resolv.conf');
  }

  static async start(o: PostfixOptions): Promise<PostfixInstance> {
    if (o.nameservers.length === 0) throw new Error('PostfixInstance: at least one nameserver is needed');
    if (!existsSync('/usr/sbin/postfix')) throw new Error('Postfix is not installed: run scripts/install-test-deps.sh');
    const label = o.label ?? 'postfix';
    const dir = mkdtempSync(join(tmpdir(), `stubd-${label}-`));
    chmodSync(dir, 0o755);
    const pf = new PostfixInstance(dir, label);
    try {
      for (const d of ['etc', 'spool', 'data']) mkdirSync(join(dir, d), { mode: 0o755 });
      chownSync(join(dir, 'data'), postfixUid(), -1);
      writeFileSync(join(dir, 'etc', 'main.cf'), mainCf(dir, o));
      writeFileSync(join(dir, 'etc', 'master.cf'), MASTER_CF);
      writeFileSync(pf.resolvConf, resolvConf(o.nameservers, o.resolverOptions ?? ['trust-ad']));
      // `postfix start` waits for the master's initialization (master -w) and leaves it running in the namespace
      installExitHandlers();
      running.add(pf);
      const r = await runWithPrivateEtc({ '/etc/resolv.conf': pf.resolvConf }, 'postfix', ['-c', pf.configDir, 'start'], { timeoutMs: 60_000 });
      if (r.code !== 0) {
        const why = r.stderr || r.stdout || (r.killed ? 'timed out' : `exit ${r.code}`);
        throw new Error(`${label}: postfix start failed: ${why}\n${pf.logTail()}`);
      }
      pf.masterPid = Number(readFileSync(join(dir, 'spool', 'pid', 'master.pid'), 'utf8').trim());
      if (!(pf.masterPid > 0)) throw new Error(`${label}: no master pid after start\n${pf.logTail()}`);
      // the master's view of /etc/resolv.conf is ours
      const seen = (await pf.inNamespace('cat', ['/etc/resolv.conf'])).output;
      if (seen !== readFileSync(pf.resolvConf, 'utf8')) throw new Error(`${label}: the namespace's /etc/resolv.conf is not the instance's: ${seen}`);
      return pf;
    } catch (err) {
      await pf.stop();
      throw err;
    }
  }

  /** The master's pid (its mount namespace holds the private resolv.conf). */
  get pid(): number {
    return this.masterPid;
  }

  /** Runs a command in the master's mount namespace (its resolv.conf), MAIL_CONFIG = this instance. */
  async inNamespace(cmd: string, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
    if (this.stopped || !this.masterPid) throw new Error(`${this.label}: not running`);
    try {
      const { stdout, stderr } = await execFileP('nsenter', ['-t', String(this.masterPid), '-m', '--', cmd, ...args],
        { timeout: timeoutMs, env: { ...process.env, MAIL_CONFIG: this.configDir } });
      return { output: stdout + stderr, code: 0 };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string; message: string };
      if (typeof e.code !== 'number') throw new Error(`${this.label}: ${cmd} failed: ${e.message}`);
      return { output: (e.stdout ?? '') + (e.stderr ?? ''), code: e.code };
    }
  }

  /** `posttls-finger -t 30 -c -l dane <domain>` with this instance's resolver and main.cf. */
  posttlsFinger(domain: string, args: string[] = ['-t', '30', '-c', '-l', 'dane']): Promise<CommandResult> {
    return this.inNamespace('posttls-finger', [...args, domain], 120_000);
  }

  /** Hands one message to sendmail; resolves with its queue id once cleanup has logged it. */
  async send(recipient: string, opts: { from?: string; subject?: string; timeoutMs?: number } = {}): Promise<Sent> {
    if (this.stopped) throw new Error(`${this.label}: not running`);
    const from = opts.from ?? 'sender@client.postfix.test';
    const messageId = `${randomBytes(8).toString('hex')}@client.postfix.test`;
    const message = `From: <${from}>\nTo: <${recipient}>\nSubject: ${opts.subject ?? `DANE test to ${recipient}`}\n` +
      `Message-ID: <${messageId}>\n\nA test message through dnssec-stubd.\n`;
    await new Promise<void>((resolve, reject) => {
      const child = execFile('sendmail', ['-C', this.configDir, '-f', from, '--', recipient], { timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${this.label}: sendmail ${recipient} failed: ${stderr || stdout || err.message}`));
        else resolve();
      });
      child.stdin!.end(message);
    });
    let queueId = '';
    await this.poll(`the queue id of the message to ${recipient}`, opts.timeoutMs ?? 30_000, () => {
      const l = this.lines().find((x) => x.program === 'postfix/cleanup' && x.text.endsWith(`: message-id=<${messageId}>`));
      if (l) queueId = l.text.slice(0, l.text.indexOf(':'));
      return queueId !== '';
    });
    this.messageIds.set(queueId, messageId);
    return { queueId, messageId, recipient };
  }

  /** Waits for the first delivery attempt of a message (sent, deferred or bounced). */
  async waitFor(sent: Sent, timeoutMs = 60_000): Promise<Delivery> {
    let found: Delivery | undefined;
    await this.poll(`status=sent|deferred|bounced of ${sent.queueId} to ${sent.recipient}`, timeoutMs, () => {
      found = this.deliveries().find((d) => d.queueId === sent.queueId && d.recipient === sent.recipient);
      return found !== undefined;
    });
    return found!;
  }

  /** send() then waitFor(). */
  async deliver(recipient: string, timeoutMs = 60_000): Promise<Delivery> {
    return this.waitFor(await this.send(recipient, { timeoutMs }), timeoutMs);
  }

  /** Every delivery attempt logged so far, with the agent's lines that belong to it. */
  deliveries(): Delivery[] {
    const out: Delivery[] = [];
    const since = new Map<string, LogLine[]>(); // program[pid] -> its lines since its last status line
    for (const l of this.lines()) {
      const key = `${l.program}[${l.pid}]`;
      const mine = since.get(key) ?? [];
      mine.push(l);
      const m = STATUS.exec(l.text);
      if (!m) {
        since.set(key, mine);
        continue;
      }
      since.delete(key);
      out.push({ queueId: m[1]!, messageId: this.messageIds.get(m[1]!) ?? '', recipient: m[2]!, relay: m[3]!, dsn: m[4]!, status: m[5] as DeliveryStatus, reason: m[6]!, lines: mine });
    }
    return out;
  }

  /** The log file's lines, parsed (lines of other shapes are skipped). */
  lines(): LogLine[] {
    const out: LogLine[] = [];
    for (const raw of this.log().split('\n')) {
      const m = LINE.exec(raw);
      if (m) out.push({ program: m[1]!, pid: Number(m[2]), text: m[3]!, raw });
    }
    return out;
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  private logTail(n = 30): string {
    return this.log().split('\n').slice(-n).join('\n');
  }

  private async poll(what: string, timeoutMs: number, done: () => boolean): Promise<void> {
    const t0 = Date.now();
    while (!done()) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private masterAlive(): boolean {
    if (!this.masterPid) {
      // a start that failed half-way: the master may have written its pid all the same
      const file = join(this.dir, 'spool', 'pid', 'master.pid');
      this.masterPid = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || 0 : 0;
      if (!this.masterPid) return false;
    }
    try {
      process.kill(this.masterPid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops the master (postfix stop: SIGTERM, its children follow), waits for it, removes the directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      if (this.masterAlive()) {
        await execFileP('postfix', ['-c', this.configDir, 'stop'], { timeout: 30_000 }).catch(() => undefined);
        const t0 = Date.now();
        while (this.masterAlive() && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
        if (this.masterAlive()) process.kill(this.masterPid, 'SIGKILL');
      }
    } finally {
      running.delete(this);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** stop() for process exit: synchronous, best effort. */
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    running.delete(this);
    try {
      if (this.masterAlive()) execFileSync('postfix', ['-c', this.configDir, 'stop'], { timeout: 10_000, stdio: 'ignore' });
    } catch {
      if (this.masterAlive()) process.kill(this.masterPid, 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
