/** Public surface of the DNS listener. */
export { startServer, SERVER_DEFAULTS, ServerConfigError } from './server.js';
export { AccessList, DEFAULT_ALLOW } from './acl.js';
export { errorAnswer, stripDnssecAnswer, udpReplyLimit } from './responder.js';
export type * from './types.js';
