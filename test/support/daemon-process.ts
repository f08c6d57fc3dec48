/**
 * `bin/dnssec-stubd.js` as a child process, as an operator runs it: its JSON log lines (stdout) parsed as they
 * come, stderr kept, signals sent by pid, and its exit awaited. Tests stop what they start (`kill`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

/** A free loopback port for both UDP and TCP (bound once and let go). */
export { freePort } from '../upstream/unbound-fixture.js';
