/**
 * `dnssec-stubd serve`: start the daemon (src/daemon) and run it until SIGTERM/SIGINT.
 *
 * - SIGHUP reloads the configuration (Daemon.reload): one reload at a time, a signal during one runs another
 *   after it; a SIGHUP during startup is applied once the daemon runs (it never kills the process).
 * - SIGTERM/SIGINT stop cleanly (Daemon.shutdown: in-flight queries answered, state saved); a second one during
 *   that stops at once. During startup they stop the daemon as soon as it is up.
 * - `--pid-file FILE` is written (atomically) once the daemon answers, and removed when the process exits, by
 *   a signal or not, if it still holds this process's id.
 */
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { CliOverrides } from '../config/load.js';
import { startDaemon, type Daemon } from '../daemon/index.js';

export interface ServeOptions extends CliOverrides {
  pidFile?: string | undefined;
}

/** Run until SIGTERM/SIGINT; resolves to the exit code. */
export async function serve(cli: ServeOptions): Promise<number> {
  let daemon: Daemon | undefined;
  let reloadWanted = false;
  let reloading = false;
  let stopping: NodeJS.Signals | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));

  const reload = async (): Promise<void> => {
    reloadWanted = true;
    if (!daemon || reloading || stopping) return;
    reloading = true;
    try {
      while (reloadWanted && !stopping) {
        reloadWanted = false;
        daemon.log.info({ signal: 'SIGHUP' }, `reloading the configuration${cli.config ? ` from ${cli.config}` : ''}`);
        await daemon.reload(cli).catch((err: unknown) => daemon!.log.error({ err }, 'configuration reload failed unexpectedly; the running configuration stays'));
      }
    } finally {
      reloading = false;
    }
  };
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      daemon?.log.warn({ signal }, 'second stop signal: exiting without waiting for queries in flight');
      removePidFile(cli.pidFile);
      process.exit(1);
    }
    stopping = signal;
    if (daemon) daemon.log.info({ signal }, 'stop signal: answering the queries in flight, then stopping');
    if (daemon) stopped();
  };
  const onHup = (): void => void reload();
  const onTerm = (): void => stop('SIGTERM');
  const onInt = (): void => stop('SIGINT');
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  const onExit = (): void => removePidFile(cli.pidFile);
  process.on('exit', onExit);
  try {
    daemon = await startDaemon(cli);
    if (cli.pidFile) {
      try {
        writePidFile(cli.pidFile);
      } catch (err) {
        await daemon.close();
        throw new Error(`cannot write the pid file ${cli.pidFile}: ${(err as Error).message}`);
      }
    }
    if (stopping) stopped();
    else if (reloadWanted) void reload();
    await done;
    await daemon.shutdown();
    // Stopped: nothing of the daemon should keep the process alive; if something does, it must not outlive the stop.
    const d = daemon;
    setTimeout(() => {
      d.log.warn({}, 'still running 3 s after stopping: exiting anyway');
      process.exit(0);
    }, 3000).unref();
    return 0;
  } finally {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('exit', onExit);
    removePidFile(cli.pidFile);
  }
}

function writePidFile(path: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
  renameSync(tmp, path);
}

/** Remove the pid file if it names this process (another instance may have written its own since). */
function removePidFile(path: string | undefined): void {
  if (!path) return;
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // gone already, or never written
  }
}
