/** `dnssec-stubd query NAME [TYPE]`: resolve through the configured upstreams, validate, print status and reason trail. */
import { addressCheckers } from '../config/fields.js';
import { loadConfig, type CliOverrides } from '../config/load.js';
import { UsageError } from './help.js';
import { verdictSummary } from '../resolver/answer.js';
import { failureEde } from '../resolver/failure.js';
import type { Resolution } from '../resolver/resolve.js';
import type { TrailStep } from '../validator/types.js';
import { describeReason } from '../validator/ede.js';
import { Name, RRClass, WireError, rcodeToText, rrToText, typeFromText, typeToText } from '../wire/index.js';
import { localStack } from './local-stack.js';

/** Exit codes of `query`: scripts can tell the outcomes apart. */
export const QueryExit = { SECURE: 0, INSECURE: 0, BOGUS: 3, FAILED: 4 } as const;

export function trailLine(s: TrailStep): string {
  switch (s.step) {
    case 'anchor':
      return `anchor   ${s.zone} keys ${s.keyTags.join(', ')}`;
    case 'keys':
      return `keys     ${s.zone} ${s.security} via ${s.via}${s.keyTags.length ? ` (key tags ${s.keyTags.join(', ')})` : ''}`;
    case 'ds':
      return `ds       ${s.zone} ${s.security}: ${s.detail}`;
    case 'rrset':
      return `rrset    ${s.name} ${s.type} ${s.security}${s.keyTag !== undefined ? ` key ${s.keyTag}` : ''}${s.signer ? ` signer ${s.signer}` : ''}${s.wildcard ? ` from wildcard ${s.wildcard}` : ''}`;
    case 'proof':
      return `proof    ${s.proof} by ${s.using} ${s.security}: ${s.detail}`;
    case 'alias':
      return `${s.kind.padEnd(8)} ${s.from} -> ${s.to}`;
    case 'bogus':
      return `BOGUS    ${describeReason(s.reason)}`;
    case 'insecure':
      return `insecure ${describeReason(s.reason)}`;
  }
}

export function formatResolution(qtext: string, res: Resolution): string {
  const out: string[] = [];
  switch (res.kind) {
    case 'upstream-failure':
      out.push(res.cause ? `${qtext}: ${failureEde(res.cause, qtext).text}` : `${qtext}: no upstream answered (${res.reason})`);
      break;
    case 'unchecked':
      out.push(`${qtext}: ${rcodeToText(res.rcode)}, not validated (checking disabled)`);
      for (const rr of res.answer) out.push(`  ${rrToText(rr)}`);
      break;
    case 'answer':
      out.push(`${qtext}: ${verdictSummary(res.verdict).replace(/^\S+/, (w) => w.toUpperCase())}, rcode ${rcodeToText(res.rcode)}${res.verdict.security === 'bogus' ? ' (served as SERVFAIL)' : ''}`);
      if (res.answer.length) {
        out.push('answer:');
        for (const rr of res.answer) out.push(`  ${rrToText(rr)}`);
      }
      out.push(`upstreams: ${res.upstreams.join(', ')}`);
      out.push('trail:');
      for (const s of res.verdict.trail) out.push(`  ${trailLine(s)}`);
      break;
  }
  return out.join('\n') + '\n';
}

export async function query(name: string, type: string | undefined, cli: CliOverrides & { cd?: boolean; json?: boolean }): Promise<number> {
  const cfg = loadConfig(cli, addressCheckers);
  let qname: Name;
  try {
    qname = Name.fromText(name);
  } catch (err) {
    throw new UsageError('query', `${JSON.stringify(name)} is not a domain name: ${err instanceof WireError ? err.message : String(err)}`);
  }
  const qtype = typeFromText((type ?? 'A').toUpperCase());
  if (qtype === undefined) {
    throw new UsageError('query', `unknown record type ${JSON.stringify(type)}: use a type name (A, AAAA, MX, TLSA, DS, DNSKEY, ...) or TYPEnnn`);
  }
  const stack = await localStack(cfg, cli);
  stack.start();
  const res = await stack.resolver.resolve({ name: qname, type: qtype, class: RRClass.IN }, { checkingDisabled: cli.cd ?? false });
  stack.stop();
  const qtext = `${qname.toText()} ${typeToText(qtype)}`;
  if (cli.json) {
    process.stdout.write(JSON.stringify({ query: qtext, ...res, answer: 'answer' in res ? res.answer.map(rrToText) : undefined, authority: undefined, additional: undefined }, null, 2) + '\n');
  } else {
    process.stdout.write(formatResolution(qtext, res));
  }
  if (res.kind === 'upstream-failure') return QueryExit.FAILED;
  if (res.kind === 'unchecked') return 0;
  switch (res.verdict.security) {
    case 'secure':
      return QueryExit.SECURE;
    case 'insecure':
      return QueryExit.INSECURE;
    case 'bogus':
      return QueryExit.BOGUS;
    case 'indeterminate':
      return QueryExit.FAILED;
  }
}
