/**
 * The configuration text of the DNS servers the test world runs (servers.ts), rendered from parameters, so that
 * bench/mta's own hierarchy (bench/mta-world.ts) runs its NSD and Unbound the same way: foreground processes
 * under the caller's user, every file in their run directory, IPv4 on one loopback address, no remote control
 * over the network. Part of the world's hash (index.ts): a changed setting restarts a running world.
 */

export interface ZoneFile {
  name: string;
  file: string;
}

export interface NsdConf {
  /** the comment on the first line: who wrote the file, and which instance this is */
  header: string;
  /** the run directory (zone list, xfrd state, pid and log files) */
  dir: string;
  host: string;
  port: number;
  zones: readonly ZoneFile[];
  /** the answer to id.server and hostname.bind (CH TXT); NSD's default is the machine's host name */
  identity?: string;
}

/** An authoritative-only NSD serving `zones` from their files (never written back, no transfers). */
export function nsdConf(c: NsdConf): string {
  return `# ${c.header}
server:
	server-count: 1
	ip-address: ${c.host}@${c.port}
	do-ip4: yes
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "${c.dir}"
	database: ""
	zonelistfile: "${c.dir}/zone.list"
	xfrdfile: "${c.dir}/xfrd.state"
	xfrdir: "${c.dir}/xfr"
	pidfile: "${c.dir}/nsd.pid"
	logfile: "${c.dir}/nsd.log"
	verbosity: 1
${c.identity === undefined ? '' : `	identity: "${c.identity}"\n`}	hide-version: yes
	reuseport: no
	refuse-any: no
	zonefiles-check: yes
	zonefiles-write: 0
remote-control:
	control-enable: no
${c.zones.map((z) => `zone:\n\tname: "${z.name}"\n\tzonefile: "${z.file}"\n`).join('')}`;
}

/** An authoritative-only named serving `zones` as primaries (BIND's own checks of the zone data off). */
export function namedConf(c: Omit<NsdConf, 'identity'>): string {
  return `// ${c.header}
options {
	directory "${c.dir}";
	pid-file "${c.dir}/named.pid";
	session-keyfile "${c.dir}/session.key";
	managed-keys-directory "${c.dir}";
	dump-file "${c.dir}/named_dump.db";
	statistics-file "${c.dir}/named.stats";
	listen-on port ${c.port} { ${c.host}; };
	listen-on-v6 { none; };
	recursion no;
	allow-query { 127.0.0.0/8; };
	allow-transfer { none; };
	notify no;
	dnssec-validation no;
	minimal-responses no;
	version none;
	hostname none;
	server-id none;
	check-names primary ignore;
	check-integrity no;
	check-mx ignore;
	check-wildcard no;
	check-sibling no;
	zone-statistics no;
	max-udp-size 1232;
};
controls { };
logging {
	channel main { file "${c.dir}/named.log" versions 2 size 20m; severity info; print-time yes; print-severity yes; print-category yes; };
	category default { main; };
	category lame-servers { null; };
};
${c.zones.map((z) => `zone "${z.name}" { type primary; file "${z.file}"; };\n`).join('')}`;
}

type Setting = readonly [key: string, value: string | number, why?: string];

export interface UnboundConf {
  /** the comment on the first line: who wrote the file, and what this Unbound is */
  header: string;
  /** the run directory (pid, log, the unbound-control socket) */
  dir: string;
  host: string;
  port: number;
  /** the only root hints: the hierarchy's own root */
  rootHints: string;
  /** validating with this trust anchor file (validator logging on, no permissive mode); otherwise iterator only */
  trustAnchorFile?: string;
  /**
   * Changes to the test world's `server:` settings: a value replaces the setting's (in place; for a key given
   * more than once, every line), null leaves it out. A key the world's list does not have throws.
   */
  settings?: Readonly<Record<string, string | number | null>>;
}

/**
 * A recursive Unbound with only the hierarchy's root as hints (the test world's settings, `settings` applied),
 * unbound-control over a Unix socket in `dir`.
 */
export function unboundConf(c: UnboundConf): string {
  const validating = c.trustAnchorFile !== undefined;
  const server: Setting[] = [
    ['verbosity', 1],
    ['username', '""'],
    ['chroot', '""'],
    ['directory', `"${c.dir}"`],
    ['pidfile', `"${c.dir}/unbound.pid"`],
    ['use-syslog', 'no'],
    ['logfile', `"${c.dir}/unbound.log"`],
    ['log-time-ascii', 'yes'],
    ['interface', `${c.host}@${c.port}`],
    ['outgoing-interface', c.host],
    ['port', c.port],
    ['do-ip4', 'yes'],
    ['do-ip6', 'no'],
    ['do-udp', 'yes'],
    ['do-tcp', 'yes'],
    ['access-control', '0.0.0.0/0 refuse'],
    ['access-control', '127.0.0.0/8 allow'],
    ['do-not-query-localhost', 'no'],
    ['root-hints', `"${c.rootHints}"`],
    ['local-zone', '"test." nodefault', '"test." is an RFC 6761 special-use name that Unbound answers locally by default'],
    ['module-config', `"${validating ? 'validator iterator' : 'iterator'}"`],
    ['qname-minimisation', 'no'],
    ['num-threads', 1],
    ['so-reuseport', 'no'],
    ['outgoing-range', 1024],
    ['num-queries-per-thread', 512],
    ['msg-cache-size', '4m'],
    ['rrset-cache-size', '8m'],
    ['key-cache-size', '4m'],
    ['neg-cache-size', '1m'],
    ['infra-host-ttl', 60],
    ['infra-keep-probing', 'yes'],
    ['prefetch', 'no'],
    ['edns-buffer-size', 1232],
    ['harden-glue', 'yes'],
    ['harden-below-nxdomain', 'no'],
    ['harden-referral-path', 'no'],
    ['harden-algo-downgrade', 'no'],
    ['harden-dnssec-stripped', validating ? 'yes' : 'no'],
    ['aggressive-nsec', 'no'],
    ['extended-statistics', 'yes'],
    ['statistics-interval', 0],
    ['statistics-cumulative', 'no'],
    ['log-servfail', 'yes'],
    ['ede', 'yes'],
    ...(validating ? [['trust-anchor-file', `"${c.trustAnchorFile}"`], ['val-log-level', 2], ['val-permissive-mode', 'no']] as const : []),
  ];
  const changes = c.settings ?? {};
  for (const k of Object.keys(changes)) if (!server.some(([key]) => key === k)) throw new Error(`unboundConf: no setting "${k}" to change`);
  const lines = server.flatMap(([key, value, why]) => {
    const v = key in changes ? changes[key]! : value;
    if (v === null) return [];
    return [...(why === undefined ? [] : [`\t# ${why}`]), `\t${key}: ${v}`];
  });
  return `# ${c.header}
server:
${lines.join('\n')}

remote-control:
	control-enable: yes
	control-interface: "${c.dir}/control.sock"
	control-use-cert: no
`;
}
