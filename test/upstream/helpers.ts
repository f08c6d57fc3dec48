/** Small test helpers: a clock that only moves when told, and a logger that records. */
export { ManualClock } from '../../src/clock.js';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

export class RecordingLogger {
  readonly entries: LogEntry[] = [];
  debug(obj: object, msg?: string): void {
    this.entries.push({ level: 'debug', obj: obj as Record<string, unknown>, msg });
  }
  info(obj: object, msg?: string): void {
    this.entries.push({ level: 'info', obj: obj as Record<string, unknown>, msg });
  }
  warn(obj: object, msg?: string): void {
    this.entries.push({ level: 'warn', obj: obj as Record<string, unknown>, msg });
  }
  error(obj: object, msg?: string): void {
    this.entries.push({ level: 'error', obj: obj as Record<string, unknown>, msg });
  }
  messages(msg: string): Record<string, unknown>[] {
    return this.entries.filter((e) => e.msg === msg).map((e) => e.obj);
  }
}
