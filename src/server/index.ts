/** Public surface of the DNS listener. */
export { startServer, SERVER_DEFAULTS, ServerConfigError } from './server.js';
export { AccessList, CidrError, DEFAULT_ALLOW, cidrContains, normalizeAddress, parseCidr, parseIp } from './acl.js';
export type { Cidr, CidrErrorReason, IpAddress, IpFamily } from './acl.js';
export { encodeEde, errorAnswer, stripDnssec, stripDnssecAnswer, udpReplyLimit } from './responder.js';
export type * from './types.js';
