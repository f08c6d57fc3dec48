#!/usr/bin/env node
/**
 * node dist/test/world/cli.js start|stop|status|restart|sign|info
 *
 *  start    start the world detached (persistent until `stop`), print a summary
 *  stop     stop it (all processes) and remove world.json
 *  status   exit 0 if running (prints summary), 1 otherwise
 *  restart  stop + start
 *  sign     force re-signing of all zones (stops a running world)
 *  info     print world.json (the WorldInfo) as JSON
 *
 * Directory: $STUBD_WORLD_DIR or <repo>/.world (<repo>/.world-127.X off the default block)
 * Address block: $STUBD_WORLD_NET (net.ts), default 127.54
 */
import { getWorld, MAIL, resignWorld, stopWorld, worldDir, worldStatus, type WorldInfo } from './index.js';
import { daemonBlock, WORLD_NET_VAR, worldAddr, worldBlock } from './net.js';

function summary(w: WorldInfo): string {
  return [
    `world dir:        ${w.dir}`,
    `block:            ${worldBlock()} (${WORLD_NET_VAR}); daemons under test ${daemonBlock()}`,
    `mode:             ${w.mode}`,
    `upstream:         ${w.upstream.host}:${w.upstream.port} (Unbound, iterator only)`,
    `validating:       ${w.validatingUnbound.host}:${w.validatingUnbound.port} (Unbound, validator iterator)`,
    ...w.authServers.map((a) => `auth ${a.id.padEnd(12)}${a.host}:${a.port} (${a.software}, ${a.zones.length} zones)`),
    `root anchor:      ${w.rootAnchorFile}`,
    `delv:             ${w.delv.join(' ')} <name> <type>`,
    `upstream control: ${w.upstreamControl.join(' ')} stats_noreset`,
    `signed at:        ${w.signedAt} (good signatures expire ${w.signaturesExpireAt})`,
    `processes:        ${w.processes.map((p) => `${p.name}=${p.pid}`).join(' ')}`,
    `mail (SMTP):      pid ${w.mail.smtp.pid}, port 25 of ${MAIL.hosts.flatMap((h) => h.listen).length} addresses in ${worldAddr(102, 0)}/24; deliveries ${w.mail.deliveriesFile}`,
  ].join('\n');
}

async function main(): Promise<number> {
  const cmd = process.argv[2] ?? 'status';
  switch (cmd) {
    case 'start': {
      const t0 = Date.now();
      const w = await getWorld({ mode: 'cli' });
      console.log(summary(w));
      console.log(`ready in ${Date.now() - t0} ms`);
      return 0;
    }
    case 'stop':
      await stopWorld({ force: true });
      console.log(`world in ${worldDir()} stopped`);
      return 0;
    case 'restart': {
      await stopWorld({ force: true });
      const t0 = Date.now();
      const w = await getWorld({ mode: 'cli' });
      console.log(summary(w));
      console.log(`ready in ${Date.now() - t0} ms`);
      return 0;
    }
    case 'sign': {
      const ms = await resignWorld();
      console.log(`re-signed in ${ms} ms (world stopped; run start)`);
      return 0;
    }
    case 'status': {
      const s = await worldStatus();
      if (!s.world) { console.log(`no world in ${s.dir}`); return 1; }
      console.log(summary(s.world));
      console.log(`running: ${s.running}${s.stale ? ' (stale: code changed since start)' : ''}; users: ${s.users.join(',') || 'none'}`);
      return s.running ? 0 : 1;
    }
    case 'info': {
      const s = await worldStatus();
      if (!s.world) { console.error(`no world in ${s.dir}`); return 1; }
      console.log(JSON.stringify(s.world, null, 2));
      return s.running ? 0 : 1;
    }
    default:
      console.error('usage: cli.js start|stop|status|restart|sign|info');
      return 2;
  }
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
