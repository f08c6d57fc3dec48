/**
 * `bin/dnssec-stubd.js` as a child process, as an operator runs it, the one way the tests run it: `serve` as a
 * `DaemonProcess` (its JSON log lines (stdout) parsed as they come, stderr kept, signals sent by pid, its exit
 * awaited; tests stop what they start, `kill`), any command to its exit with `runCli`. The daemon in this
 * process is daemon.ts's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnchorZoneReport } from '../../src/daemon/index.js';

export const BIN = fileURLToPath(new URL('../../../bin/dnssec-stubd.js', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export class DaemonProcess {
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  /** `env`: the child's whole environment (e.g. process.env with libfaketime preloaded). */
  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let partial = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString('utf8');
      partial += d.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const p of parts) {
        try {
          this.lines.push(JSON.parse(p) as LogLine);
        } catch {
          this.lines.push({ msg: p });
        }
      }
      this.wake();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
      this.wake();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      this.wake();
      resolve({ code, signal });
    }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /**
   * The daemon's pid: `serve` runs as the launcher's child when it applies the heap limits (src/cli/relaunch.ts),
   * else the spawned process is the daemon.
   */
  get daemonPid(): number {
    try {
      const kids = readFileSync(`/proc/${this.pid}/task/${this.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return kids.length === 1 ? Number(kids[0]) : this.pid;
    } catch {
      return this.pid;
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  signal(s: NodeJS.Signals): void {
    process.kill(this.pid, s);
  }

  /**
   * The first log line (from `from` on) that `pred` accepts; rejects after `timeoutMs` or when the process exits,
   * naming the predicate and with what the process printed.
   */
  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 15_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find(pred);
      if (hit) return hit;
      if (!this.running) throw new Error(`the daemon exited before a log line such that ${String(pred)}:\n${this.stdout}\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no log line such that ${String(pred)} within ${timeoutMs} ms:\n${this.stdout.slice(-4000)}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The line `dnssec-stubd started` (the listeners are open). */
  started(timeoutMs = 15_000): Promise<LogLine> {
    return this.waitForLog((l) => l.msg === 'dnssec-stubd started', timeoutMs);
  }

  /** Once it has started: the pid `--pid-file` names (written once the daemon answers), within `timeoutMs`. */
  async pidFromFile(path: string, timeoutMs = 5_000): Promise<number> {
    await this.started();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let text: string | undefined;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        // not written yet
      }
      if (text !== undefined && /^\d+\n$/.test(text)) return Number(text);
      if (Date.now() >= deadline) throw new Error(`no pid in ${path} within ${timeoutMs} ms of the start (${text === undefined ? 'no file' : JSON.stringify(text)}):\n${this.stdout.slice(-4000)}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Its exit (after a signal the test sent); past `timeoutMs` it is killed (SIGKILL) and the promise rejects with what it printed. */
  async exitWithin(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (this.running) this.signal('SIGKILL');
        reject(new Error(`the daemon did not exit within ${timeoutMs} ms:\n${this.stdout.slice(-4000)}\n${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop it (SIGTERM, then SIGKILL after `graceMs`) if it still runs. */
  async kill(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const t = setTimeout(() => this.running && this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit. */
  ms: number;
}

/**
 * Run `dnssec-stubd ARGS` to its exit. Past `timeoutMs` (default 10 s) it is killed and the promise rejects with
 * what it printed.
 */
export function runCli(args: string[], opts: { timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dnssec-stubd ${args.join(' ')} did not finish within ${opts.timeoutMs ?? 10_000} ms: ${stdout}${stderr}`));
    }, opts.timeoutMs ?? 10_000);
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** `dnssec-stubd anchors FLAGS --json` (read only, usable while a daemon runs): its exit code and the zones it reports. */
export async function anchorsJson(flags: string[], timeoutMs = 30_000): Promise<{ code: number | null; zones: AnchorZoneReport[]; stdout: string }> {
  const r = await runCli(['anchors', ...flags, '--json'], { timeoutMs });
  let report: { zones: AnchorZoneReport[] };
  try {
    report = JSON.parse(r.stdout) as { zones: AnchorZoneReport[] };
  } catch {
    throw new Error(`dnssec-stubd anchors ${flags.join(' ')} --json printed no JSON (exit ${r.code}): ${r.stdout}${r.stderr}`);
  }
  return { code: r.code, zones: report.zones, stdout: r.stdout };
}

/** A free loopback port for both UDP and TCP (bound once and let go). */
export { freePort } from '../upstream/unbound-fixture.js';
