/**
 * The launcher's half of the heap limits (src/config/heap.ts): `serve` runs in a child node process started
 * with the V8 flags derived from the configuration file, because V8 reads its heap limits only when it starts
 * (`v8.setFlagsFromString` has no effect on them) and Node 20 cannot exec itself.
 *
 * The launcher stays as a small parent (about 50 MB RSS, 13 MB of it private: the rest is the node binary's pages,
 * which the child shares): it forwards SIGTERM, SIGINT and SIGHUP, and exits with the child's status. The child is the daemon:
 * its pid is the one `--pid-file` names, and it runs in a session of its own, so a terminal's ^C reaches it
 * once, through the launcher. Were the launcher killed outright, the child stops itself (SIGTERM) when the
 * IPC channel between the two closes.
 *
 * Nothing is relaunched when the operator set `--max-old-space-size` (node flags or NODE_OPTIONS: theirs
 * stands), with `DNSSEC_STUBD_HEAP=off`, for other commands, or when the configuration cannot be read: then
 * `serve` runs in this process and reports the problem itself.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { addressCheckers } from '../config/fields.js';
import { heapFlags, heapPlan } from '../config/heap.js';
import { loadConfig } from '../config/load.js';
import { COMMAND_FLAGS } from './help.js';

/** `off`: never relaunch. */
export const HEAP_ENV = 'DNSSEC_STUBD_HEAP';
/** Set in the child (to the launcher's pid): this process is the relaunched daemon. */
export const CHILD_ENV = 'DNSSEC_STUBD_LAUNCHER';

export type LaunchDecision =
  | { kind: 'here'; reason: 'not-serve' | 'relaunched' | 'off' | 'operator-limit' | 'unreadable-config' }
  | { kind: 'relaunch'; flags: string[] };

/** Whether node flags (execArgv or NODE_OPTIONS) already set `flag` (V8 takes `_` for `-` in its names). */
function hasFlag(flag: string, execArgv: readonly string[], nodeOptions: string): boolean {
  const set = (a: string): boolean => a.split('=')[0]!.replace(/_/g, '-') === flag;
  return execArgv.some(set) || nodeOptions.split(/\s+/).some(set);
}

/** What to do for `args` (the CLI's arguments), in an environment and with node flags. */
export function launchDecision(args: readonly string[], env: NodeJS.ProcessEnv, execArgv: readonly string[]): LaunchDecision {
  if (args[0] !== 'serve') return { kind: 'here', reason: 'not-serve' };
  if (env[CHILD_ENV] !== undefined) return { kind: 'here', reason: 'relaunched' };
  if (env[HEAP_ENV] === 'off') return { kind: 'here', reason: 'off' };
  const nodeOptions = env['NODE_OPTIONS'] ?? '';
  if (hasFlag('--max-old-space-size', execArgv, nodeOptions)) return { kind: 'here', reason: 'operator-limit' };
  let flags: string[];
  try {
    const { values } = parseArgs({ args: args.slice(1), options: COMMAND_FLAGS.serve, strict: true, allowPositionals: false });
    flags = heapFlags(heapPlan(loadConfig({ config: values.config }, addressCheckers)));
  } catch {
    // `serve` says what is wrong with its flags or its file, in this process.
    return { kind: 'here', reason: 'unreadable-config' };
  }
  // A semi-space size the operator chose stays.
  if (hasFlag('--max-semi-space-size', execArgv, nodeOptions)) flags = flags.filter((f) => !f.startsWith('--max-semi-space-size'));
  return { kind: 'relaunch', flags };
}

const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

/** Run `script args` in a child node with `flags`; resolves to the exit code to leave with. */
export function relaunch(script: string, args: readonly string[], flags: readonly string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...flags, script, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
    env: { ...process.env, [CHILD_ENV]: String(process.pid) },
  });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const s of FORWARDED) process.on(s, forward);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      for (const s of FORWARDED) process.off(s, forward);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      for (const s of FORWARDED) process.off(s, forward);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/** In the relaunched daemon: stop (as on SIGTERM) if the launcher goes away without passing a signal on. */
export function followLauncher(): void {
  if (process.env[CHILD_ENV] === undefined) return;
  delete process.env[CHILD_ENV];
  if (!process.channel) return;
  // The channel must not keep the daemon alive once it has stopped.
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
