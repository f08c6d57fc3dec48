/** A server program run by a test fixture: started until it answers, signalled, killed, stopped. */
import { spawn, type ChildProcess } from 'node:child_process';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ChildServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** Everything the program printed on stdout and stderr. */
  output = '';

  /** `name` and `label` only make error messages readable (e.g. "unbound", "127.0.0.1:53"). */
  constructor(private readonly name: string, private readonly label: string) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawn and wait until `ready()` says it answers (10 s at most); a program that exits first is an error. */
  async start(cmd: string, args: string[], ready: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { this.output += d; });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.output += d; });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void this.exited.then(() => { gone = true; });
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (gone) throw new Error(`${this.name} exited during startup:\n${this.output}`);
      if (await ready()) return;
      await sleep(50);
    }
    await this.terminate();
    throw new Error(`${this.name} on ${this.label} did not answer within ${timeoutMs / 1000} s:\n${this.output}`);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child!.kill(sig);
  }

  /** SIGKILL, as a crash would, and wait for the process to be gone. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGCONT (in case it was paused), SIGTERM, SIGKILL after 3 s; wait for the process to be gone. */
  async terminate(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}
