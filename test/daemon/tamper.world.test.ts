/**
 * An on-path attacker between the daemon and its upstream (issue 9): a proxy on loopback in front of the
 * world's real (non-validating) Unbound adds, moves and removes records in the answers to one question per
 * case. The daemon, whose only upstream is that proxy, must never serve a forged record under AD: per case
 * the answer is BOGUS (SERVFAIL), or the forged records are stripped (AD, or no AD in unsigned zones), and
 * the first answer and the cached one agree. A validating Unbound forwarding to the same proxy is the
 * reference: its verdict (SERVFAIL or not, AD or not) must be the daemon's, except where a case records a
 * `deviation` with the reason (asserted too, so a changed behaviour on either side shows up).
 *
 * "Forged" is checked two ways: the case's own forged records must be absent from every section, and every
 * record of every section must be one the world's genuine upstream returns (for the question, or for that
 * owner and type); the answer section must equal the genuine answer section (chain and final RRset, with
 * their signatures). Loopback only: proxy and reference Unbound on daemonAddr(9, x).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rcode, rcodeToText, serializeMessage, typeToText, type Message, type RR } from '../../src/wire/index.js';
import { dig, type DigResult } from '../support/dig.js';
import {
  TamperProxy, append, ask, atOwner, chain, coveredType, insertAfter, move, onQuestion, ofType, prepend, remove, replace,
  rr, rrKey, rrs, rrset, setRcode, sigsOf, type Rewrite,
} from '../support/tamper-proxy.js';
import { UnboundFixture } from '../upstream/unbound-fixture.js';
import { DATA, getWorld, stopWorld, type WorldInfo } from '../world/index.js';
import { startFailoverDaemon } from './failover-support.js';
import type { TestDaemon } from '../support/daemon.js';
import { daemonAddr, worldAddr } from '../world/net.js';

const PROXY_ADDRESS = daemonAddr(9, 1);
const REFERENCE_ADDRESS = daemonAddr(9, 2);
const EVIL = '6.6.6.6';
const EVIL6 = '::ffff:6.6.6.6';
const TLSA_FORGED = `3 1 1 ${'ab'.repeat(32)}`;
const SOA_FORGED = 'ns.evil.test. hostmaster.evil.test. 1 3600 900 604800 300';

/**
 * - bogus: SERVFAIL (the tampering is proof that the answer is not what the zone signed);
 * - stripped: the genuine answer (its RCODE, answer section and proofs) with AD, the forged records gone;
 * - insecure-stripped: the same without AD (unsigned zones), nothing forged outside the question's chain.
 */
type Outcome = 'bogus' | 'stripped' | 'insecure-stripped';
type Verdict = 'bogus' | 'secure' | 'insecure';
const VERDICT: Record<Outcome, Verdict> = { bogus: 'bogus', stripped: 'secure', 'insecure-stripped': 'insecure' };

/** Genuine records (with RRSIGs) from the world's upstream, to splice into answers. */
interface Genuine {
  answer(name: string, type: string): Promise<RR[]>;
}

interface TamperCase {
  id: string;
  /** The question (absolute name) whose answers are rewritten; every other answer is relayed unchanged. */
  q: [name: string, type: string];
  what: string;
  /** Records the attacker adds: they must appear in no section of any non-SERVFAIL reply. */
  forged?: string[];
  /** The rewrite (scoped to `q` by the harness), given the forged records parsed. */
  rewrite: (forged: RR[], g: Genuine) => Rewrite | Promise<Rewrite>;
  expect: Outcome;
  /**
   * Where the validating Unbound legitimately differs, and why: its outcome (when not `expect`), and the forged
   * records (rrKey, lowercased) it passes on in a reply without AD (none when not given).
   */
  deviation?: { unbound?: Outcome; unboundServes?: string[]; reason: string };
  /** Asked afterwards (no flush in between): a forged record must not have been cached for these. */
  poison?: [name: string, type: string][];
}

// Reasons for the recorded deviations of the reference --------------------------------------------------

const AUTHORITY_TYPES = 'An authority section carries SOA, NS, DS, NSEC and NSEC3 RRsets (RFC 1034 4.3.2, RFC 4035 3.1.3); the daemon ' +
  'drops every other type there unread, as Unbound does for A, AAAA, CNAME and DNAME (iter_scrub.c scrub_normalize, "removing ' +
  'irrelevant rrset") and for every other type with harden-unknown-additional (1.18, off by default). Unbound 1.17 keeps the TXT, ' +
  'validates it, finds it unsigned and calls the whole NXDOMAIN bogus (val_check_nonsecure). Neither serves the forged TXT.';
const FIRST_CNAME = 'RFC 2181 10.1: a name with a CNAME has no other data, and one CNAME RR at most. Unbound\'s scrubber ' +
  'keeps the first RR of a CNAME RRset that has several ("Found CNAME rrset with size > 1", iter_scrub.c parse_get_cname_target: ' +
  '"use the first CNAME!") and validates that: here the genuine one, so it answers secure; with the forged one first it is ' +
  'bogus (case cname-two-forged-first). The daemon takes a second CNAME at one owner as proof of tampering: BOGUS, whatever the order.';
const CHAIN_ORDER = 'Unbound\'s scrubber and validator walk the answer section from the question name in order: the chain alias -> www ' +
  'ends at the signed A RRset, and the CNAME from www back to the alias appended after it is never reached, so it answers ' +
  'secure without it. For the daemon a CNAME beside other data at one owner (RFC 2181 10.1) and a loop are proof of tampering: BOGUS.';
const DNAME_RESYNTH = 'RFC 6672 3.2/3.4: the CNAME that comes with a DNAME is unsigned and can be synthesized by the resolver. Unbound\'s ' +
  'scrubber re-synthesizes it from the signed DNAME when the received one does not match (iter_scrub.c: "synth ourselves"), ' +
  'throws the forged one and its target\'s A away and resolves the real target: secure. The daemon takes a synthesized CNAME that ' +
  'does not follow from the validated DNAME as proof of tampering: BOGUS.';
const RRSIG_ANY_SECTION = 'RFC 4035 3.1.1 puts the RRSIGs of an RRset in the same section. Unbound\'s message parser files an RRSIG with ' +
  'the RRset it covers wherever in the message it appears (msgparse.c), so the genuine signature, arriving in the additional ' +
  'section, still authenticates the genuine answer RRset: secure, nothing forged in it. The daemon reads sections strictly: ' +
  'the answer RRset arrives without a signature in the answer section: BOGUS.';

const FORWARD_BAILIWICK = 'Unbound forwarding everything (a forward zone for ".") scrubs an answer against the zone "." ' +
  '(iter_scrub.c scrub_sanitize), so nothing is out of bailiwick for it, and val-clean-additional cleans only secure answers: ' +
  'in an INSECURE answer it passes on an out-of-zone SOA in the authority section and the address of a name the answer ' +
  'names (scrub_normalize keeps A/AAAA for NS/MX targets), without AD and without caching it as an answer (the poison check). ' +
  'The daemon keeps an INSECURE answer to the question\'s chain and its zone (RFC 2181 5.4.1: such data is not to be trusted).';

// The cases ---------------------------------------------------------------------------------------------

const CASES: TamperCase[] = [
  // --- the issue ---------------------------------------------------------------------------------------
  {
    id: 'issue-9', q: ['www.alg13.test.', 'A'],
    what: 'issue 9: an unsigned CNAME to a name in a non-existent zone and its A put in front of the genuine signed A RRset',
    forged: ['www.alg13.test. 300 IN CNAME www.evil.insecure.test.', `www.evil.insecure.test. 300 IN A ${EVIL}`],
    rewrite: (f) => prepend('answer', f),
    expect: 'bogus',
  },

  // --- A, signed zones ----------------------------------------------------------------------------------
  {
    id: 'a-append-other-owner', q: ['t1.wild.alg13.test.', 'A'],
    what: 'an unsigned A at another name of the same zone appended to a wildcard answer',
    forged: [`evil.alg13.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('answer', f),
    expect: 'stripped', poison: [['evil.alg13.test.', 'A']],
  },
  {
    id: 'a-prepend-unsigned-zone', q: ['t2.wild.alg8.test.', 'A'],
    what: 'an A for a name in an unsigned zone put in front of a signed (RSA) answer',
    forged: [`www.unsigned.test. 300 IN A ${EVIL}`],
    rewrite: (f) => prepend('answer', f),
    expect: 'stripped', poison: [['www.unsigned.test.', 'A']],
  },
  {
    id: 'a-append-signed-other-zone', q: ['t3.wild.alg13.test.', 'A'],
    what: 'a genuine, validly signed RRset of another zone (www.alg8.test A + RRSIG) appended: signed but not part of the answer',
    rewrite: async (_f, g) => append('answer', await g.answer('www.alg8.test.', 'A')),
    expect: 'stripped',
  },
  {
    id: 'a-into-signed-rrset', q: ['mail.alg8.test.', 'A'],
    what: 'a forged A record added to the signed A RRset at the question name (the RRSIG no longer matches the RRset)',
    forged: [`mail.alg8.test. 300 IN A ${EVIL}`],
    rewrite: (f) => prepend('answer', f),
    expect: 'bogus',
  },
  {
    id: 'a-wrong-type-same-owner', q: ['t4.wild.nsec3-nosalt.test.', 'A'],
    what: 'an unsigned TXT at the question name (wrong type) appended to an NSEC3 wildcard answer',
    forged: ['t4.wild.nsec3-nosalt.test. 300 IN TXT "forged"'],
    rewrite: (f) => append('answer', f),
    expect: 'stripped',
  },
  {
    id: 'a-additional-root-tld-glue', q: ['t5.wild.alg8.test.', 'A'],
    what: 'glue claims for the root and the TLD name servers in the additional section of a positive answer',
    forged: [`a.root-servers.test. 300 IN A ${EVIL}`, `ns1.nic.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('additional', f),
    expect: 'stripped', poison: [['a.root-servers.test.', 'A'], ['ns1.nic.test.', 'A']],
  },
  {
    id: 'a-answer-moved-to-authority', q: ['mail.nsec3-salt.test.', 'A'],
    what: 'the signed A RRset moved from the answer to the authority section (an empty answer without a denial proof)',
    rewrite: () => move('answer', 'authority', () => true),
    expect: 'bogus',
  },
  {
    id: 'a-authority-forged-ns', q: ['www.alg8.test.', 'AAAA'],
    what: 'an unsigned NS RRset for the zone naming another server in the authority section, its address in the additional',
    forged: ['alg8.test. 300 IN NS ns.evil.test.', `ns.evil.test. 300 IN A ${EVIL}`],
    rewrite: (f) => chain(append('authority', [f[0]!]), append('additional', [f[1]!])),
    expect: 'stripped', poison: [['ns.evil.test.', 'A']],
  },

  // --- AAAA ----------------------------------------------------------------------------------------------
  {
    id: 'aaaa-prepend-other-owner', q: ['www.nsec3-nosalt.test.', 'AAAA'],
    what: 'an unsigned AAAA at another name of the NSEC3 zone put in front of the signed AAAA RRset',
    forged: [`evil.nsec3-nosalt.test. 300 IN AAAA ${EVIL6}`],
    rewrite: (f) => prepend('answer', f),
    expect: 'stripped',
  },
  {
    id: 'aaaa-authority', q: ['www.nsec3-salt.test.', 'AAAA'],
    what: 'a forged AAAA for the question name in the authority section of a signed AAAA answer',
    forged: [`www.nsec3-salt.test. 300 IN AAAA ${EVIL6}`],
    rewrite: (f) => append('authority', f),
    expect: 'stripped',
  },
  {
    id: 'aaaa-additional', q: ['mail.alg13.test.', 'AAAA'],
    what: 'a forged A for the same host in the additional section of a signed AAAA answer',
    forged: [`mail.alg13.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('additional', f),
    expect: 'stripped', poison: [['mail.alg13.test.', 'A']],
  },
  {
    id: 'aaaa-rrsig-moved-to-additional', q: ['mail.nsec3-nosalt.test.', 'AAAA'],
    what: 'the RRSIG of the answer moved to the additional section (the answer RRset arrives unsigned)',
    rewrite: () => move('answer', 'additional', ofType('RRSIG')),
    expect: 'bogus', deviation: { unbound: 'stripped', reason: RRSIG_ANY_SECTION },
  },

  // --- MX ------------------------------------------------------------------------------------------------
  {
    id: 'mx-forged-glue', q: ['alg8.test.', 'MX'],
    what: 'forged glue for the mail exchanger in the additional section of a signed MX answer',
    forged: [`mail.alg8.test. 300 IN A ${EVIL}`, `mail.alg8.test. 300 IN AAAA ${EVIL6}`],
    rewrite: (f) => append('additional', f),
    expect: 'stripped', poison: [['mail.alg8.test.', 'A'], ['mail.alg8.test.', 'AAAA']],
  },
  {
    id: 'mx-glue-moved-to-answer', q: ['nsec3-nosalt.test.', 'MX'],
    what: 'the mail exchanger\'s genuine signed A RRset as glue in the additional section, then moved into the answer of the MX question',
    rewrite: async (_f, g) => chain(
      append('additional', await g.answer('mail.nsec3-nosalt.test.', 'A')),
      move('additional', 'answer', rrset('A', 'mail.nsec3-nosalt.test.'))),
    expect: 'stripped',
  },
  {
    id: 'mx-forged-answer', q: ['dane.test.', 'MX'],
    what: 'an unsigned A for the mail exchanger appended to the answer section of a signed MX answer (DANE domain)',
    forged: [`mail.dane.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('answer', f),
    expect: 'stripped', poison: [['mail.dane.test.', 'A']],
  },

  // --- TLSA ----------------------------------------------------------------------------------------------
  {
    id: 'tlsa-forged-cname', q: ['_25._tcp.mail.dane.test.', 'TLSA'],
    what: 'a forged CNAME at the TLSA name (into an unsigned zone, with a TLSA there) next to the signed TLSA RRset',
    forged: ['_25._tcp.mail.dane.test. 300 IN CNAME _25._tcp.mail.unsigned.test.', `_25._tcp.mail.unsigned.test. 300 IN TLSA ${TLSA_FORGED}`],
    rewrite: (f) => prepend('answer', f),
    expect: 'bogus',
  },
  {
    id: 'tlsa-fake-nsec', q: ['_25._tcp.mail.dane.test.', 'TLSA'],
    what: 'a fake unsigned NSEC for the TLSA name in the authority section beside the signed TLSA answer',
    forged: ['_25._tcp.mail.dane.test. 300 IN NSEC alias.dane.test. RRSIG NSEC'],
    rewrite: (f) => append('authority', f),
    expect: 'bogus',
  },
  {
    id: 'tlsa-forged-soa', q: ['_25._tcp.mail.dane.test.', 'TLSA'],
    what: 'a forged, unsigned SOA of the zone naming another primary in the authority section of the TLSA answer',
    forged: [`dane.test. 300 IN SOA ${SOA_FORGED}`],
    rewrite: (f) => prepend('authority', f),
    expect: 'bogus',
  },
  {
    id: 'tlsa-record-added', q: ['_25._tcp.mail.dane.test.', 'TLSA'],
    what: 'a forged TLSA record added to the signed TLSA RRset',
    forged: [`_25._tcp.mail.dane.test. 300 IN TLSA ${TLSA_FORGED}`],
    rewrite: (f) => append('answer', f),
    expect: 'bogus',
  },
  {
    id: 'tlsa-additional', q: ['_25._tcp.mail.dane.test.', 'TLSA'],
    what: 'forged addresses of the TLSA host in the additional section',
    forged: [`mail.dane.test. 300 IN A ${EVIL}`, `mail.dane.test. 300 IN AAAA ${EVIL6}`],
    rewrite: (f) => append('additional', f),
    expect: 'stripped', poison: [['mail.dane.test.', 'A'], ['mail.dane.test.', 'AAAA']],
  },

  // --- NS ------------------------------------------------------------------------------------------------
  {
    id: 'ns-root-glue', q: ['.', 'NS'],
    what: 'the root NS answer with the root server\'s glue replaced by a forged address',
    forged: [`a.root-servers.test. 300 IN A ${EVIL}`],
    rewrite: (f) => chain(remove('additional', atOwner('a.root-servers.test.')), append('additional', f)),
    expect: 'stripped', poison: [['a.root-servers.test.', 'A']],
  },
  {
    id: 'ns-tld-glue', q: ['test.', 'NS'],
    what: 'the TLD NS answer with the name server\'s signed address replaced by a forged one in the additional section',
    forged: [`ns1.nic.test. 300 IN A ${EVIL}`],
    rewrite: (f) => chain(remove('additional', atOwner('ns1.nic.test.')), append('additional', f)),
    expect: 'stripped', poison: [['ns1.nic.test.', 'A']],
  },
  {
    id: 'ns-zone-glue', q: ['alg13.test.', 'NS'],
    what: 'forged glue for the zone\'s name server (another zone\'s host) in the additional section of a signed NS answer',
    forged: [`ns1.bind.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('additional', f),
    expect: 'stripped', poison: [['ns1.bind.test.', 'A']],
  },

  {
    id: 'ns-into-signed-rrset', q: ['alg13.test.', 'NS'],
    what: 'a forged NS record added to the zone\'s signed NS RRset, its address in the additional section',
    forged: ['alg13.test. 300 IN NS ns.evil.test.', `ns.evil.test. 300 IN A ${EVIL}`],
    rewrite: (f) => chain(prepend('answer', [f[0]!]), append('additional', [f[1]!])),
    expect: 'bogus',
  },
  {
    id: 'ns-other-owner', q: ['alg8.test.', 'NS'],
    what: 'an unsigned NS RRset for another name of the zone put in front of the signed NS answer',
    forged: ['evil.alg8.test. 300 IN NS ns.evil.test.'],
    rewrite: (f) => prepend('answer', f),
    expect: 'stripped', poison: [['evil.alg8.test.', 'NS']],
  },

  // --- CNAME / DNAME ---------------------------------------------------------------------------------------
  {
    id: 'cname-qtype-extra', q: ['alias.alg8.test.', 'CNAME'],
    what: 'a forged A at the CNAME\'s target appended to the answer of a CNAME question',
    forged: [`www.alg8.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('answer', f),
    expect: 'stripped', poison: [['www.alg8.test.', 'A']],
  },
  {
    id: 'cname-two-forged-first', q: ['alias.alg8.test.', 'A'],
    what: 'a second CNAME at the alias (into an unsigned zone) put in front of the signed one',
    forged: ['alias.alg8.test. 300 IN CNAME www.unsigned.test.'],
    rewrite: (f) => prepend('answer', f),
    expect: 'bogus',
  },
  {
    id: 'cname-two-forged-second', q: ['alias.alg13.test.', 'A'],
    what: 'a second CNAME at the alias (into an unsigned zone) inserted after the signed one and its RRSIG',
    forged: ['alias.alg13.test. 300 IN CNAME www.unsigned.test.'],
    rewrite: (f) => insertAfter('answer', rrset('CNAME'), f),
    expect: 'bogus', deviation: { unbound: 'stripped', reason: FIRST_CNAME },
  },
  {
    id: 'cname-beside-a', q: ['www.alg14.test.', 'A'],
    what: 'an unsigned CNAME at the question name and a forged A at its target appended after the genuine signed A RRset',
    forged: ['www.alg14.test. 300 IN CNAME www.evil.alg14.test.', `www.evil.alg14.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('answer', f),
    expect: 'bogus',
  },
  {
    id: 'cname-loop', q: ['alias.nsec3-nosalt.test.', 'A'],
    what: 'an unsigned CNAME from the target back to the alias (a loop, and a CNAME beside the target\'s A)',
    forged: ['www.nsec3-nosalt.test. 300 IN CNAME alias.nsec3-nosalt.test.'],
    rewrite: (f) => append('answer', f),
    expect: 'bogus', deviation: { unbound: 'stripped', reason: CHAIN_ORDER },
  },
  {
    id: 'dname-forged-synthesis', q: ['www.dname.cname.test.', 'A'],
    what: 'the CNAME synthesized from the signed DNAME replaced by one into an unsigned zone, with a forged A there',
    forged: ['www.dname.cname.test. 300 IN CNAME www.evil.unsigned.test.', `www.evil.unsigned.test. 300 IN A ${EVIL}`],
    rewrite: (f) => chain(replace('answer', ofType('CNAME'), [f[0]!]), append('answer', [f[1]!])),
    expect: 'bogus', deviation: { unbound: 'stripped', reason: DNAME_RESYNTH },
  },

  // --- NXDOMAIN ------------------------------------------------------------------------------------------
  {
    id: 'nxdomain-txt-authority', q: ['nx1.alg13.test.', 'A'],
    what: 'an unsigned TXT added to the authority section of a signed NXDOMAIN',
    forged: ['nx1.alg13.test. 300 IN TXT "forged"'],
    rewrite: (f) => append('authority', f),
    expect: 'stripped', deviation: { unbound: 'bogus', reason: AUTHORITY_TYPES },
  },
  {
    id: 'nxdomain-txt-answer', q: ['nx2.alg8.test.', 'A'],
    what: 'an unsigned TXT at the question name added to the answer section of a signed NXDOMAIN',
    forged: ['nx2.alg8.test. 300 IN TXT "forged"'],
    rewrite: (f) => prepend('answer', f),
    expect: 'stripped',
  },
  {
    id: 'nxdomain-a-answer', q: ['nx3.nsec3-nosalt.test.', 'A'],
    what: 'an unsigned A for the question name in the answer section of a signed NSEC3 NXDOMAIN',
    forged: [`nx3.nsec3-nosalt.test. 300 IN A ${EVIL}`],
    rewrite: (f) => prepend('answer', f),
    expect: 'bogus',
  },
  {
    id: 'nxdomain-additional', q: ['nx4.nsec3-salt.test.', 'A'],
    what: 'a forged A for the question name in the additional section of a signed NSEC3 NXDOMAIN',
    forged: [`nx4.nsec3-salt.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('additional', f),
    expect: 'stripped', poison: [['nx4.nsec3-salt.test.', 'A']],
  },
  {
    id: 'nxdomain-proof-moved-to-answer', q: ['nx5.alg13.test.', 'A'],
    what: 'the SOA and NSEC proof of a signed NXDOMAIN moved from the authority into the answer section',
    rewrite: () => move('authority', 'answer', () => true),
    expect: 'bogus',
  },
  {
    id: 'nxdomain-to-noerror', q: ['nx6.alg8.test.', 'A'],
    what: 'a signed NXDOMAIN turned into NOERROR with a forged A for the question name',
    forged: [`nx6.alg8.test. 300 IN A ${EVIL}`],
    rewrite: (f) => chain(setRcode(Rcode.NOERROR), prepend('answer', f)),
    expect: 'bogus',
  },

  // --- NODATA --------------------------------------------------------------------------------------------
  {
    id: 'nodata-soa-unsigned', q: ['mail.alg13.test.', 'TXT'],
    what: 'a NODATA whose SOA lost its RRSIG',
    rewrite: () => remove('authority', sigsOf('SOA')),
    expect: 'bogus',
  },
  {
    id: 'nodata-soa-forged', q: ['www.alg8.test.', 'TXT'],
    what: 'a NODATA whose SOA is replaced by one naming another primary (the SOA\'s RRSIG kept)',
    forged: [`alg8.test. 300 IN SOA ${SOA_FORGED}`],
    rewrite: (f) => replace('authority', ofType('SOA'), f),
    expect: 'bogus',
  },
  {
    id: 'nodata-a-answer', q: ['ent.nsec3-nosalt.test.', 'A'],
    what: 'an unsigned A for an empty non-terminal added to the answer of a signed NSEC3 NODATA',
    forged: [`ent.nsec3-nosalt.test. 300 IN A ${EVIL}`],
    rewrite: (f) => prepend('answer', f),
    expect: 'bogus',
  },
  {
    id: 'nodata-additional-other-zone', q: ['www.nsec3-salt.test.', 'TXT'],
    what: 'a forged A for a name in an unsigned zone in the additional section of a signed NSEC3 NODATA',
    forged: [`www.unsigned.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('additional', f),
    expect: 'stripped', poison: [['www.unsigned.test.', 'A']],
  },
  {
    id: 'nodata-cname-authority', q: ['mail.dane.test.', 'TXT'],
    what: 'an unsigned CNAME for the question name in the authority section of a signed NODATA',
    forged: ['mail.dane.test. 300 IN CNAME evil.unsigned.test.'],
    rewrite: (f) => append('authority', f),
    expect: 'stripped',
  },

  // --- unsigned zones (INSECURE) ---------------------------------------------------------------------------
  {
    id: 'insecure-a-other-zone', q: ['www.unsigned.test.', 'A'],
    what: 'an A for a name in a signed zone appended to an unsigned answer',
    forged: [`www.alg13.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('answer', f),
    expect: 'insecure-stripped', poison: [['www.alg13.test.', 'A']],
  },
  {
    id: 'insecure-additional-other-zone', q: ['www.unsigned.test.', 'AAAA'],
    what: 'an A for a name in a signed zone in the additional section of an unsigned answer',
    forged: [`mail.alg8.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('additional', f),
    expect: 'insecure-stripped', poison: [['mail.alg8.test.', 'A']],
  },
  {
    id: 'insecure-mx-other-zone', q: ['unsigned.test.', 'MX'],
    what: 'an A for a signed zone\'s mail host in the answer section of an unsigned MX answer',
    forged: [`mail.dane.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('answer', f),
    expect: 'insecure-stripped', poison: [['mail.dane.test.', 'A']],
  },
  {
    id: 'insecure-tlsa-other-zone', q: ['_25._tcp.mail.unsigned.test.', 'TLSA'],
    what: 'a TLSA for the signed DANE domain put in front of an unsigned TLSA answer',
    forged: [`_25._tcp.mail.dane.test. 300 IN TLSA ${TLSA_FORGED}`],
    rewrite: (f) => prepend('answer', f),
    expect: 'insecure-stripped', poison: [['_25._tcp.mail.dane.test.', 'TLSA']],
  },
  {
    id: 'insecure-nxdomain-authority', q: ['nx.unsigned.test.', 'A'],
    what: 'an A for a name in a signed zone in the authority section of an unsigned NXDOMAIN',
    forged: [`www.alg8.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('authority', f),
    expect: 'insecure-stripped', poison: [['www.alg8.test.', 'A']],
  },
  {
    id: 'insecure-nodata-foreign-soa', q: ['www.unsigned.test.', 'TXT'],
    what: 'an SOA of a signed zone naming another primary put in front of an unsigned NODATA\'s authority section',
    forged: [`alg13.test. 300 IN SOA ${SOA_FORGED}`],
    rewrite: (f) => prepend('authority', f),
    expect: 'insecure-stripped', poison: [['alg13.test.', 'SOA']],
    deviation: { unboundServes: [`alg13.test soa ${SOA_FORGED}`], reason: FORWARD_BAILIWICK },
  },
  {
    id: 'insecure-root-tld-glue', q: ['t7.wild.unsigned.test.', 'A'],
    what: 'glue claims for the root and TLD name servers in the additional section of an unsigned wildcard answer',
    forged: [`a.root-servers.test. 300 IN A ${EVIL}`, `ns1.nic.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('additional', f),
    expect: 'insecure-stripped', poison: [['a.root-servers.test.', 'A'], ['ns1.nic.test.', 'A']],
  },
  {
    id: 'insecure-ns-glue', q: ['unsigned.test.', 'NS'],
    what: 'forged glue for the unsigned zone\'s name server (a host in the signed TLD) in the additional section',
    forged: [`ns1.bind.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('additional', f),
    expect: 'insecure-stripped', poison: [['ns1.bind.test.', 'A']],
    deviation: { unboundServes: [`ns1.bind.test a ${EVIL}`], reason: FORWARD_BAILIWICK },
  },
  {
    id: 'insecure-via-secure-cname', q: ['to-insecure.cname.test.', 'A'],
    what: 'an A for a name in a signed zone appended to a secure CNAME into an unsigned zone',
    forged: [`www.alg14.test. 300 IN A ${EVIL}`],
    rewrite: (f) => append('answer', f),
    expect: 'insecure-stripped', poison: [['www.alg14.test.', 'A']],
  },
];

// Harness -------------------------------------------------------------------------------------------------

let world: WorldInfo;
let proxy: TamperProxy;
let reference: UnboundFixture;
let d: TestDaemon;

before(async () => {
  world = await getWorld();
  proxy = await TamperProxy.start({ address: PROXY_ADDRESS, backend: { address: world.upstream.host, port: world.upstream.port } });
  reference = await UnboundFixture.start({
    address: REFERENCE_ADDRESS, forwardAll: { address: proxy.address, port: proxy.port }, validate: { anchorFile: world.rootAnchorFile },
  });
  d = await startFailoverDaemon(world, {
    upstreams: [{ address: proxy.address, port: proxy.port }],
    server: { warmupQueries: 0 },
  });
  await d.probed();
});

after(async () => {
  await d?.stop();
  await reference?.stop();
  await proxy?.stop();
  await stopWorld();
});

const genuineCache = new Map<string, Promise<Message>>();
/** The world's upstream (no proxy) for name/type with DO+CD: what the zones really hold. */
function genuine(name: string, type: string): Promise<Message> {
  const k = `${name.toLowerCase()} ${type}`;
  let p = genuineCache.get(k);
  if (!p) {
    p = ask({ address: world.upstream.host, port: world.upstream.port }, name, type, { dnssec: true, cd: true });
    genuineCache.set(k, p);
  }
  return p;
}

const G: Genuine = { answer: async (name, type) => (await genuine(name, type)).answer };

const keyOf = (r: RR): string => rrKey(r).toLowerCase();

interface Reply {
  dig: DigResult;
  verdict: Verdict;
  records: { section: 'answer' | 'authority' | 'additional'; rr: RR; key: string }[];
}

function verdictOf(r: DigResult): Verdict {
  if (r.status === 'SERVFAIL') return 'bogus';
  return r.flags.has('ad') ? 'secure' : 'insecure';
}

function reply(r: DigResult): Reply {
  const records: Reply['records'] = [];
  for (const section of ['answer', 'authority', 'additional'] as const) {
    const lines = section === 'answer' ? r.answers : r[section];
    for (const l of lines) {
      const x = rr(l);
      records.push({ section, rr: x, key: keyOf(x) });
    }
  }
  return { dig: r, verdict: verdictOf(r), records };
}

async function askAt(port: number, server: string, name: string, type: string, extra: string[] = []): Promise<Reply> {
  return reply(await dig(port, [name, type, '+dnssec', '+nosplit', '+time=5', ...extra], server));
}

const short = (r: Reply): string => `${r.dig.status}${r.dig.flags.has('ad') ? '+AD' : ''}`;

/**
 * Records of a reply that the world does not hold where the reply puts them: not in the genuine reply to
 * the question (any section) and not in the genuine answer for their own owner and type.
 */
async function notGenuine(r: Reply, name: string, type: string): Promise<string[]> {
  const g = await genuine(name, type);
  const mine = new Set([...g.answer, ...g.authority, ...g.additional].map(keyOf));
  const out: string[] = [];
  for (const x of r.records) {
    if (mine.has(x.key)) continue;
    const own = await genuine(x.rr.name.toText(), typeToText(coveredType(x.rr)));
    if ([...own.answer, ...own.authority].some((g) => keyOf(g) === x.key)) continue;
    out.push(`${x.section}: ${x.key}`);
  }
  return out;
}

/** The forged records of a case found in a reply (any section). */
function forgedIn(r: Reply, forged: readonly RR[]): string[] {
  const keys = new Set(forged.map(keyOf));
  return r.records.filter((x) => keys.has(x.key)).map((x) => `${x.section}: ${x.key}`);
}

/** Every assertion a correct non-SERVFAIL reply of the daemon must pass, as messages (empty: fine). */
async function problems(r: Reply, c: TamperCase, forged: readonly RR[]): Promise<string[]> {
  const [name, type] = c.q;
  const out: string[] = [];
  const g = await genuine(name, type);
  if (r.dig.status !== rcodeToText(g.rcode)) out.push(`RCODE ${r.dig.status}, the zone says ${rcodeToText(g.rcode)}`);
  for (const f of forgedIn(r, forged)) out.push(`forged record served: ${f}`);
  for (const f of await notGenuine(r, name, type)) out.push(`record the world does not hold there: ${f}`);
  const got = r.records.filter((x) => x.section === 'answer').map((x) => x.key).sort();
  const want = g.answer.map(keyOf).sort();
  if (JSON.stringify(got) !== JSON.stringify(want)) out.push(`answer section ${JSON.stringify(got)} is not the genuine ${JSON.stringify(want)}`);
  return out;
}

for (const c of CASES) {
  describe(`${c.id}: ${c.q.join(' ')}: ${c.what}`, () => {
    const forged = rrs(...(c.forged ?? []));
    const seen = {} as {
      daemon: Reply[]; unbound: Reply[]; poisonDaemon: Reply[]; poisonUnbound: Reply[];
      tamperedDaemon: number; tamperedUnbound: number;
    };
    before(async () => {
      d.daemon.flush();
      await reference.flushCaches();
      const [name, type] = c.q;
      proxy.rewrite = onQuestion(name, type, await c.rewrite(forged, G));
      await genuine(name, type);
      let t0 = proxy.tampered;
      seen.daemon = [await askAt(d.port, '127.0.0.1', name, type)];
      seen.daemon.push(await askAt(d.port, '127.0.0.1', name, type));
      seen.tamperedDaemon = proxy.tampered - t0;
      t0 = proxy.tampered;
      seen.unbound = [await askAt(reference.port, reference.address, name, type)];
      seen.unbound.push(await askAt(reference.port, reference.address, name, type));
      seen.tamperedUnbound = proxy.tampered - t0;
      seen.poisonDaemon = [];
      seen.poisonUnbound = [];
      for (const [pn, pt] of c.poison ?? []) {
        seen.poisonDaemon.push(await askAt(d.port, '127.0.0.1', pn, pt));
        seen.poisonUnbound.push(await askAt(reference.port, reference.address, pn, pt));
      }
      proxy.rewrite = undefined;
    });

    it(`the attack reached both (the rewrite changed the answers they got)`, () => {
      assert.ok(seen.tamperedDaemon >= 1, `the daemon's question was not rewritten (${seen.tamperedDaemon})`);
      assert.ok(seen.tamperedUnbound >= 1, `Unbound's question was not rewritten (${seen.tamperedUnbound})`);
    });

    const ref = c.deviation?.unbound ?? c.expect;
    it(`reference: the validating Unbound is ${VERDICT[ref]}${c.deviation ? ' (a recorded deviation)' : ''}`, async (t) => {
      t.diagnostic(`unbound: ${seen.unbound.map(short).join(', ')}; daemon: ${seen.daemon.map(short).join(', ')}`);
      if (c.deviation) t.diagnostic(`deviation: ${c.deviation.reason}`);
      const kept = seen.unbound.flatMap((r) => forgedIn(r, forged));
      if (kept.length) t.diagnostic(`forged records in Unbound's replies: ${[...new Set(kept)].join('; ')}`);
      for (const [i, r] of seen.unbound.entries()) {
        assert.equal(r.verdict, VERDICT[ref], `Unbound, ${i ? 'cached' : 'first'} reply:\n${r.dig.text}`);
        if (r.verdict === 'secure') assert.deepEqual(await problems(r, c, forged), [], r.dig.text);
        if (r.verdict === 'insecure') {
          const served = forgedIn(r, forged).map((x) => x.slice(x.indexOf(': ') + 2)).sort();
          assert.deepEqual(served, [...(c.deviation?.unboundServes ?? [])].sort(), `forged records Unbound serves without AD:\n${r.dig.text}`);
        }
      }
    });

    it(`daemon: ${c.expect}, first and cached reply`, async () => {
      for (const [i, r] of seen.daemon.entries()) {
        const which = i ? 'cached' : 'first';
        if (r.verdict === 'secure' || c.expect !== 'bogus') {
          assert.deepEqual(await problems(r, c, forged), [], `${which} reply:\n${r.dig.text}`);
        }
        assert.equal(r.verdict, VERDICT[c.expect], `${which} reply:\n${r.dig.text}`);
        if (c.expect === 'bogus') assert.equal(r.records.length, 0, `${which} reply:\n${r.dig.text}`);
      }
    });

    if (c.deviation) {
      it('the deviation is real: the recorded difference from the daemon\'s expected outcome', () => {
        const dev = c.deviation!;
        assert.ok(dev.unbound !== undefined || dev.unboundServes?.length, 'a deviation records a difference');
        if (dev.unbound !== undefined) assert.notEqual(dev.unbound, c.expect, 'a recorded outcome differs from the expected one');
        if (dev.unboundServes?.length) assert.notEqual(c.expect, 'bogus', 'forged records served only in non-SERVFAIL replies');
      });
    }

    if (c.poison?.length) {
      it(`nothing forged was cached: ${c.poison.map((p) => p.join(' ')).join(', ')} come out genuine afterwards`, async () => {
        for (const [who, list] of [['daemon', seen.poisonDaemon], ['Unbound', seen.poisonUnbound]] as const) {
          for (const [i, r] of list.entries()) {
            const [pn, pt] = c.poison![i]!;
            assert.deepEqual(forgedIn(r, forged), [], `${who}, ${pn} ${pt}:\n${r.dig.text}`);
            const g = await genuine(pn, pt);
            assert.equal(r.dig.status, rcodeToText(g.rcode), `${who}, ${pn} ${pt}:\n${r.dig.text}`);
            const got = r.records.filter((x) => x.section === 'answer').map((x) => x.key).sort();
            assert.deepEqual(got, g.answer.map(keyOf).sort(), `${who}, ${pn} ${pt}:\n${r.dig.text}`);
          }
        }
      });
    }
  });
}

const CD_CASES: { what: string; q: [string, string]; forged: string[]; genuine: string }[] = [
  {
    what: 'the issue\'s tampered answer', q: ['www.alg13.test.', 'A'], genuine: `www.alg13.test a ${DATA.www}`,
    forged: ['www.alg13.test. 300 IN CNAME www.evil.insecure.test.', `www.evil.insecure.test. 300 IN A ${EVIL}`],
  },
  {
    what: 'a forged A merged into the signed A RRset', q: ['www.alg10.test.', 'A'], genuine: `www.alg10.test a ${DATA.www}`,
    forged: [`www.alg10.test. 300 IN A ${EVIL}`],
  },
];

for (const c of CD_CASES) {
  describe(`CD=1, ${c.what}: the data as received, without AD; never served from cache to a CD=0 client`, () => {
    const forged = rrs(...c.forged);
    let cd: Reply[] = [];
    let plain: Reply[] = [];
    let unboundCd: Reply | undefined;
    before(async () => {
      d.daemon.flush();
      await reference.flushCaches();
      const [name, type] = c.q;
      proxy.rewrite = onQuestion(name, type, prepend('answer', forged));
      cd = [await askAt(d.port, '127.0.0.1', name, type, ['+cd'])];
      cd.push(await askAt(d.port, '127.0.0.1', name, type, ['+cd']));
      plain = [await askAt(d.port, '127.0.0.1', name, type)];
      plain.push(await askAt(d.port, '127.0.0.1', name, type));
      unboundCd = await askAt(reference.port, reference.address, name, type, ['+cd']);
      proxy.rewrite = undefined;
    });

    it('CD=1: the records as the upstream sent them (forged ones included), CD echoed, no AD; first and cached', (t) => {
      t.diagnostic(`daemon CD=1: ${cd.map(short).join(', ')}; CD=0 afterwards: ${plain.map(short).join(', ')}; Unbound CD=1: ${unboundCd && short(unboundCd)}`);
      for (const r of cd) {
        assert.equal(r.dig.status, 'NOERROR', r.dig.text);
        assert.ok(r.dig.flags.has('cd') && !r.dig.flags.has('ad'), r.dig.text);
        assert.equal(forgedIn(r, forged).length, forged.length, `the data as received:\n${r.dig.text}`);
        assert.ok(r.records.some((x) => x.key === c.genuine), r.dig.text);
      }
    });

    it('a later CD=0 question is validated, not answered with the CD=1 data: BOGUS, first and cached', () => {
      for (const r of plain) {
        assert.deepEqual(forgedIn(r, forged), [], r.dig.text);
        assert.equal(r.verdict, 'bogus', r.dig.text);
      }
    });
  });
}

describe('the proxy', () => {
  it('raised no error in any rewrite', () => {
    assert.deepEqual(proxy.errors.map((e) => e.message), []);
  });

  it('relays unchanged when no rewrite is set, and a raw-bytes rewrite is sent as is', async () => {
    proxy.rewrite = undefined;
    const plain = await askAt(proxy.port, proxy.address, 'www.alg8.test.', 'A');
    assert.equal(plain.dig.status, 'NOERROR');
    assert.ok(plain.records.some((x) => x.key === `www.alg8.test a ${worldAddr(100, 1)}`));
    // Raw bytes go out as they are: the answer serialized by hand with RCODE REFUSED and no records.
    proxy.rewrite = onQuestion('www.alg8.test.', 'A', (_q, m) =>
      serializeMessage({ ...m, rcode: Rcode.REFUSED, answer: [], authority: [], additional: [] }).bytes);
    const refused = await dig(proxy.port, ['www.alg8.test.', 'A', '+dnssec'], proxy.address);
    proxy.rewrite = undefined;
    assert.equal(refused.status, 'REFUSED', refused.text);
    assert.deepEqual(refused.counts, { query: 1, answer: 0, authority: 0, additional: 1 }, refused.text);
  });

  it('a rewritten answer that no longer fits the UDP size is truncated at RRset boundaries with TC', async () => {
    const big = Array.from({ length: 12 }, (_, i) => `big.alg8.test. 300 IN TXT "${String(i).padStart(2, '0')}${'x'.repeat(120)}"`);
    proxy.rewrite = onQuestion('www.alg8.test.', 'A', append('additional', rrs(...big)));
    const udp = await dig(proxy.port, ['www.alg8.test.', 'A', '+dnssec', '+bufsize=1232', '+ignore'], proxy.address);
    const tcp = await dig(proxy.port, ['www.alg8.test.', 'A', '+dnssec', '+tcp'], proxy.address);
    proxy.rewrite = undefined;
    assert.ok((udp.msgSize ?? 0) <= 1232, udp.text);
    assert.ok(udp.additional.length < 12, 'additional RRsets that do not fit are left out');
    assert.equal(tcp.additional.filter((l) => /\sTXT\s/.test(l)).length, 12, tcp.text);
    // All of the forged TXT RRset or none of it: one RRset, kept or dropped whole.
    assert.ok([0, 12].includes(udp.additional.filter((l) => /\sTXT\s/.test(l)).length), udp.text);
    const answer = rrs(...Array.from({ length: 12 }, (_, i) => `www.alg8.test. 300 IN TXT "${String(i).padStart(2, '0')}${'y'.repeat(120)}"`));
    proxy.rewrite = onQuestion('www.alg8.test.', 'A', append('answer', answer));
    const tc = await dig(proxy.port, ['www.alg8.test.', 'A', '+dnssec', '+bufsize=1232', '+ignore'], proxy.address);
    proxy.rewrite = undefined;
    assert.ok(tc.flags.has('tc'), `an answer RRset that does not fit sets TC:\n${tc.text}`);
  });
});
