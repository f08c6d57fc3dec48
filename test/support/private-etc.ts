/**
 * A command run in a private mount namespace (`unshare -m`) where files of /etc are bind mounts of ours, most of
 * all /etc/resolv.conf naming only a test daemon: glibc's stub resolver (and everything built on it: getaddrinfo,
 * Postfix, posttls-finger) then asks that daemon and nothing else, and the machine's own /etc is never touched.
 * resolv.conf has no port field, so the daemon must listen on port 53. Needs root and util-linux (unshare, mount).
 *
 *   writeFileSync(rc, resolvConf([daemonAddr(10, 1)], ['trust-ad']));
 *   const r = await runWithPrivateEtc({ '/etc/resolv.conf': rc }, 'getent', ['hosts', 'mail.alg13.test']);
 */
import { execFile } from 'node:child_process';

/** The text of a resolv.conf: one `nameserver` line each, then one `options` line unless `options` is empty. */
export function resolvConf(nameservers: readonly string[], options: readonly string[]): string {
  if (nameservers.length === 0) throw new Error('resolvConf: at least one nameserver is needed');
  return nameservers.map((n) => `nameserver ${n}\n`).join('') + (options.length ? `options ${options.join(' ')}\n` : '');
}

export interface PrivateEtcOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

export interface PrivateEtcRun {
  stdout: string;
  stderr: string;
  /** the command's exit status (or the bind mount's, when one failed); null when it was killed */
  code: number | null;
  /** killed at `timeoutMs` */
  killed: boolean;
}

/**
 * Runs `cmd args` in a new mount namespace after bind-mounting each file of `binds` (target → our file) over its
 * target. Never rejects for the command's own failure: the caller reads `code`; rejects when unshare cannot run.
 */
export function runWithPrivateEtc(binds: Readonly<Record<string, string>>, cmd: string, args: readonly string[],
  opts: PrivateEtcOptions): Promise<PrivateEtcRun> {
  const pairs = Object.entries(binds);
  if (pairs.length === 0) throw new Error('runWithPrivateEtc: nothing to bind-mount');
  // $1 $2 = our file, its target; ... ; then "--" and the command with its arguments.
  const script = 'while [ "$1" != -- ]; do mount --bind "$1" "$2" || exit; shift 2; done; shift; exec "$@"';
  const argv = ['-m', 'sh', '-c', script, 'sh', ...pairs.flatMap(([target, file]) => [file, target]), '--', cmd, ...args];
  return new Promise((resolve, reject) => {
    execFile('unshare', argv, { timeout: opts.timeoutMs, env: opts.env ?? process.env }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr, code: 0, killed: false });
      const e = err as { code?: number | string | null; killed?: boolean };
      if (typeof e.code === 'string') return reject(new Error(`unshare ${cmd}: ${err.message}`));
      resolve({ stdout, stderr, code: e.code ?? null, killed: e.killed === true });
    });
  });
}
