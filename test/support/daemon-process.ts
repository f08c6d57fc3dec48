/**
 * `bin/dnssec-stubd.js` as a child process, as an operator runs it: its JSON log lines (stdout) parsed as they
 * come, stderr kept, signals sent by pid, and its exit awaited. Tests stop what they start (`kill`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/dnssec-stubd.js', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

export class DaemonProcess {
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

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

  /** The first log line (from `from` on) that `pred` accepts; rejects after `timeoutMs` or when the process exits. */
  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 15_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find(pred);
      if (hit) return hit;
      if (!this.running) throw new Error(`the daemon exited before the log line came:\n${this.stdout}\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such log line within ${timeoutMs} ms:\n${this.stdout.slice(-4000)}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
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
 * Run `dnssec-stubd ARGS` to its exit (a command, or serve stopped by a signal `onSpawn`'s kill sends). Past
 * `timeoutMs` (default 10 s) it is killed and the promise rejects with what it printed.
 */
export function runCli(args: string[], opts: { timeoutMs?: number; onSpawn?: (kill: (s: NodeJS.Signals) => void) => void } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    opts.onSpawn?.((s) => child.kill(s));
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dnssec-stubd ${args.join(' ')} did not finish: ${stdout}${stderr}`));
    }, opts.timeoutMs ?? 10_000);
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A free loopback port for both UDP and TCP (bound once and let go). */
export { freePort } from '../upstream/unbound-fixture.js';
