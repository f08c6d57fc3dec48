/**
 * The logger every part of the daemon takes: the subset of a pino Logger it uses (a pino Logger fits;
 * tests pass recorders). Absent means silent.
 */
export interface LogFn {
  (obj: object, msg?: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** pino's: lets hot paths skip building log objects nobody will see. */
  isLevelEnabled?(level: string): boolean;
}
