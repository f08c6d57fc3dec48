/** The running world's description (world.json), as types only: importable without the code that starts it. */
import type { SignedState } from './generate.js';
import type { MailCerts } from './mail-certs.js';
import type { ProcRecord } from './servers.js';
import type { ServerId, ZoneCase } from './zones.js';

export interface Endpoint { host: string; port: number }

export interface AuthServerInfo extends Endpoint {
  id: ServerId;
  software: 'nsd' | 'named';
  nsName: string;
  zones: string[];
}

/** The mail world's running part (the table itself: MAIL in mail.ts). */
export interface MailInfo extends MailCerts {
  /** host name -> TLSA RDATA as published at _25._tcp.<host> (digests filled in) */
  tlsa: Record<string, string[]>;
  /** one JSON line (smtp-server.ts Delivery) per accepted message */
  deliveriesFile: string;
  /** one JSON line (smtp-server.ts SessionRecord) per finished SMTP connection */
  sessionsFile: string;
  /** accepted messages as <queue id>.eml */
  messagesDir: string;
  /** the process serving every SMTP listener */
  smtp: ProcRecord;
}

export interface WorldInfo {
  /** working dir with zones, keys, configs, logs */
  dir: string;
  /** recursive Unbound, iterator only (no validation): the daemon's upstream */
  upstream: Endpoint;
  /** argv prefix for unbound-control on the upstream, e.g. [...upstreamControl, 'stats_noreset'] */
  upstreamControl: string[];
  /** recursive Unbound with validation ("validator iterator") and the fake root anchor */
  validatingUnbound: Endpoint & { control: string[] };
  authServers: AuthServerInfo[];
  /** zone-file format: the fake root's KSK DNSKEY and its DS (Unbound trust-anchor-file, ldns, ...) */
  rootAnchorFile: string;
  /** BIND format `trust-anchors { . static-key ...; };` for `delv -a` (and named) */
  delvAnchorFile: string;
  rootAnchor: { dnskey: string[]; ds: string[] };
  /** root hints: only the fake root on 127.X.0.1 (the world's block, net.ts) */
  rootHintsFile: string;
  /**
   * delv argv prefix validating through the upstream with the fake anchor;
   * append name and type: [...delv, name, type]. BIND 9.18: `-a file` reads a
   * trust-anchors clause, `+root=.` names the anchor to use.
   */
  delv: string[];
  /** declarative description of every zone (key: absolute zone name) */
  zones: Record<string, ZoneCase>;
  /** zone name -> served zone file */
  zoneFiles: Record<string, string>;
  /** DANE test host: TLSA 3 1 1 at tlsaOwner matches the SPKI of certFile */
  dane: SignedState['dane'];
  signedAt: string;
  /** earliest RRSIG expiration of the good zones (ISO time) */
  signaturesExpireAt: string;
  definitionsHash: string;
  /** 'cli' = started by cli.js (persistent), 'auto' = started by getWorld() in some test process */
  mode: 'cli' | 'auto';
  /** the DNS servers (the SMTP servers are mail.smtp) */
  processes: ProcRecord[];
  /** the mail world: certificates, TLSA digests, SMTP output files (see mail.ts) */
  mail: MailInfo;
  tools: Record<string, string>;
}
