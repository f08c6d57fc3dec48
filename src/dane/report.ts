/**
 * The check as text, one line per step in the vendor note's wording (`SECURE MX record(mx.example.) found for
 * example.`, `Connecting to 192.0.2.1 on port 25.`, `TLS connection established: protocol TLSv1.3, cipher ...`,
 * `Certificate verification successful`, `DANE SUCCESS for example.`), ending with the decision for the mode.
 */
import type { CheckResult, LookupStep, Step } from './check.js';
import type { Action, Reason } from './policy.js';

export function describeReason(r: Reason): string {
  switch (r.code) {
    case 'authenticated': return 'the server certificate matched a secure TLSA record';
    case 'mx-bogus': return 'the MX RRset is BOGUS';
    case 'mx-error': return 'the MX lookup got no answer';
    case 'domain-nxdomain': return 'the domain does not exist (NXDOMAIN)';
    case 'null-mx': return 'the domain accepts no mail (null MX, RFC 7505)';
    case 'mx-insecure': return 'the MX RRset is INSECURE';
    case 'address-insecure': return 'the MX host\'s address records are INSECURE';
    case 'address-bogus': return 'the MX host\'s address records are BOGUS';
    case 'address-error': return 'the MX host\'s address lookup got no answer';
    case 'no-address': return 'the MX host has no address records';
    case 'tlsa-insecure': return 'the TLSA RRset is INSECURE';
    case 'tlsa-none': return 'the MX host has no TLSA records';
    case 'tlsa-bogus': return 'the TLSA RRset is BOGUS';
    case 'tlsa-error': return 'the TLSA lookup got no answer';
    case 'tlsa-unusable': return 'every secure TLSA record is unusable: TLS without authentication (RFC 7672 §2.2)';
    case 'certificate-mismatch': return 'no usable TLSA record matched the server certificate';
    case 'tls-failed': return 'no TLS session with the MX host (connection, STARTTLS or handshake failed)';
    case 'all-hosts-failed': return `every MX host failed (${r.hosts})`;
  }
}

/** The action's name in the note's tables. */
function actionLabel(a: Action): string {
  switch (a) {
    case 'success': return 'DANE Success';
    case 'fail': return 'DANE Fail';
    case 'fallback': return 'Fallback';
  }
}

/** What the decision means for the message. */
function describeAction(a: Action, reason?: Reason): string {
  switch (a) {
    case 'success': return 'DANE Success';
    case 'fail': return 'DANE Fail: the message is held in the delivery queue';
    case 'fallback':
      return reason?.code === 'tlsa-unusable'
        ? 'Fallback: delivered over mandatory TLS without authentication, without DANE'
        : 'Fallback: delivered with ordinary opportunistic TLS, without DANE';
  }
}

function why(r: LookupStep): string {
  return r.reason ? ` (${r.reason})` : '';
}

function lookupLines(s: Extract<Step, { step: 'lookup' }>, domain: string): string[] {
  const r = s.result;
  const where = s.host ? `MX(${s.host}) in ${domain}` : domain;
  switch (s.purpose) {
    case 'mx':
      switch (r.status) {
        case 'BOGUS': return [`BOGUS MX record found for ${domain}${why(r)}`];
        case 'NXDOMAIN': return [`NXDOMAIN: ${domain} does not exist${why(r)}`];
        case 'NOANSWER': return [`No answer for the MX record of ${domain}${why(r)}`];
        default: return [];
      }
    case 'address':
      switch (r.status) {
        case 'BOGUS': return [`BOGUS ${r.type} record found for ${where}${why(r)}`];
        case 'NOANSWER': return [`No answer for the ${r.type} record of ${where}${why(r)}`];
        default: return [];
      }
    case 'tlsa':
      switch (r.status) {
        case 'BOGUS': return [`BOGUS TLSA record found for ${where} at ${r.name}${why(r)}`];
        case 'NOANSWER': return [`No answer for the TLSA record of ${where} at ${r.name}${why(r)}`];
        case 'NXDOMAIN': return [`No TLSA record found for ${where} at ${r.name} (NXDOMAIN${r.ad ? ', SECURE' : ''})`];
        default:
          // Found records are printed by the 'tlsa' step.
          return r.records.some((t) => t.split('\t')[3] === 'TLSA') ? [] : [`No TLSA record found for ${where} at ${r.name} (${r.status})`];
      }
  }
}

/** The text lines of one step (some steps print nothing: their facts show in other lines). */
export function stepLines(s: Step, domain: string): string[] {
  switch (s.step) {
    case 'lookup': return lookupLines(s, domain);
    case 'mx-hosts': return [];
    case 'no-mx': return [`No MX record found for ${domain}: the domain is its own mail host (RFC 5321 §5.1).`];
    case 'null-mx': return [`Null MX record found for ${domain}: the domain accepts no mail (RFC 7505).`];
    case 'host':
      return s.mxStatus === 'SECURE'
        ? [`SECURE MX record(${s.host}) found for ${domain}`]
        : [`INSECURE MX record(${s.host}) found for ${domain}`, `INSECURE MX record(${s.host}) found. The command will still proceed.`];
    case 'alias': return [`MX(${s.host}) is an alias of ${s.target}`];
    case 'addresses':
      if (s.addresses.length === 0) return s.status === 'none' ? [`No address record found for MX(${s.host}) in ${domain}`] : [];
      return s.addresses.map((a) => `${a.status} ${a.type} record (${a.address}) found for MX(${s.host}) in ${domain}`);
    case 'tlsa':
      if (s.records.length === 0) return [];
      return [
        `${s.status.toUpperCase()} TLSA record found for MX(${s.host}) in ${domain} at ${s.owner}`,
        ...s.records.map((r) => `  TLSA ${r.text}${r.usable ? '' : ` (unusable: ${r.why})`}`),
      ];
    case 'connect': return [`Connecting to ${s.address} on port ${s.port}.`];
    case 'connected': return [`Connected to ${s.address} from interface ${s.local}.`, 'Checking TLS connection.'];
    case 'tls': return [`TLS connection established: protocol ${s.protocol}, cipher ${s.cipher}.`];
    case 'connection-failed': return [`Connection to ${s.address} failed: ${s.detail}.`];
    case 'certificate':
      if (s.verified) {
        return [
          'Certificate verification successful',
          `  matched TLSA ${s.record} (${s.usage}${s.usage === 'DANE-TA' ? ` at depth ${s.depth}, name ${s.name}` : ''})`,
          `TLS connection succeeded ${domain}`,
        ];
      }
      if (s.usable === 0) return ['Certificate not verified: every TLSA record is unusable (TLS without authentication)'];
      return ['Certificate verification failed', ...s.problems.map((p) => `  ${p}`)];
    case 'next-address': return [`Trying next A record (${s.address}) for MX(${s.host}) in ${domain}`];
    case 'next-mx': return [`Trying next MX record in ${domain}`];
    case 'host-decision': return [`MX(${s.host}): ${actionLabel(s.decision.action)} (${describeReason(s.decision.reason)})`];
    case 'deadline': return [`The check's deadline passed: ${s.hostsLeft} MX host(s) not tried`];
  }
}

export function renderText(r: CheckResult): string {
  const lines: string[] = [];
  for (const s of r.steps) lines.push(...stepLines(s, r.domain));
  lines.push(r.decision.action === 'success' ? `DANE SUCCESS for ${r.domain}` : `DANE FAILED for ${r.domain}`);
  lines.push('DANE verification completed.');
  lines.push(`Decision (${r.mode}): ${describeAction(r.decision.action, r.decision.reason)} (${describeReason(r.decision.reason)}${r.decision.host ? `; MX ${r.decision.host}` : ''})`);
  return lines.join('\n') + '\n';
}
