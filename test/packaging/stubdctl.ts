/**
 * scripts/dnssec-stubdctl as the service tests run it: background mode, this checkout as the installed package,
 * the user `nobody`, and every path (config, state, run directory, log) in one temporary directory.
 *
 *   const c = backgroundCtl({ waitSeconds: 30 });
 *   writeFileSync(c.config, '...');
 *   const r = await c.run('start');      // { code, stdout, stderr }
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface CtlRun { code: number; stdout: string; stderr: string }

export interface BackgroundCtl {
  /** the temporary directory holding every path */
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  /** the config file (not written here) */
  readonly config: string;
  readonly pidFile: string;
  readonly log: string;
  /** `dnssec-stubdctl ARGS` with this environment; never rejects (the exit status is `code`) */
  run(...args: string[]): Promise<CtlRun>;
  /** removes the directory (stop the daemon first) */
  remove(): void;
}

export function backgroundCtl(opts: { waitSeconds: number }): BackgroundCtl {
  const dir = mkdtempSync(path.join(tmpdir(), 'stubd-svc-'));
  // The service user must reach the state and run directories inside it.
  chmodSync(dir, 0o755);
  const config = path.join(dir, 'config.yaml');
  const log = path.join(dir, 'dnssec-stubd.log');
  const runDir = path.join(dir, 'run');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DNSSEC_STUBD_PREFIX: REPO, DNSSEC_STUBD_CONFIG: config, DNSSEC_STUBD_STATE_DIR: path.join(dir, 'state'),
    DNSSEC_STUBD_RUN_DIR: runDir, DNSSEC_STUBD_LOG: log,
    DNSSEC_STUBD_USER: 'nobody', DNSSEC_STUBD_MODE: 'background', DNSSEC_STUBD_WAIT: String(opts.waitSeconds),
  };
  const run = (...args: string[]): Promise<CtlRun> => new Promise((resolve) => {
    execFile('bash', [path.join(REPO, 'scripts/dnssec-stubdctl'), ...args], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
  return {
    dir, env, config, log, pidFile: path.join(runDir, 'dnssec-stubd.pid'), run,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
