/** `dnssec-stubd serve`: start the daemon (src/daemon) and run until SIGTERM/SIGINT. */
import type { CliOverrides } from '../config/load.js';
import { startDaemon } from '../daemon/index.js';

/** Run until SIGTERM/SIGINT; resolves to the exit code. */
export async function serve(cli: CliOverrides): Promise<number> {
  const daemon = await startDaemon(cli);
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await daemon.close();
  return 0;
}
