/** The composition root: the daemon, its stack, and what the CLI and tests build through it. */
export { Daemon, startDaemon, type AnchorSummary, type DaemonOptions, type DaemonStats, type StartOptions } from './daemon.js';
export { QueryEvents, type QueryListener } from './events.js';
export { runSelfTest } from './selftest.js';
export { DEFAULT_ANCHOR_FILE, buildStack, loadTrustAnchors, type Stack, type StackOptions } from './stack.js';
export { buildRouter, negativeTrustAnchors, probeZone, resolveUpstreams } from './upstreams.js';
export { currentAnchors, describeAnchorStates, openAnchorManager, type AnchorZoneReport } from './anchors.js';
export { InFlight, SHUTTING_DOWN_TEXT, type DrainResult } from './inflight.js';
export { reportValidationCapability, validationNotices, type ValidationNotice } from './notices.js';
export { ListenError, checkListenAddresses, ephemeralRange, portOwner, portOwnerPid, portsAtRisk } from './preflight.js';
export { reloadConfig, type ReloadOutcome, type ReloadTarget } from './reload.js';
