/** Upstream transport and pool: the only way the daemon talks to recursive resolvers. */
export * from './resolv-conf.js';
export * from './query.js';
export * from './transport.js';
export * from './result.js';
export * from './state.js';
export * from './pool.js';
export * from './capability.js';
export * from './select.js';
export * from './probe.js';
export * from './health.js';
export * from './router.js';
