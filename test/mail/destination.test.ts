/**
 * The mail destination rules shared by the mail prefetch and the DANE check (src/mail/destination.ts): the MX
 * hosts of an answer (implicit MX, RFC 7505 null MX, preference order with ties and duplicates, root exchanges),
 * the TLSA base domains of a host given its CNAME expansion (RFC 7672 §2.2.3) and their `_<port>._tcp` owners.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SMTP_PORT, mxHosts, tlsaBaseDomains, tlsaOwner, tlsaOwners, type MxHosts } from '../../src/mail/destination.js';
import { Name, parseRR, type RR } from '../../src/wire/index.js';

const rrs = (...lines: string[]): RR[] => lines.map((l) => parseRR(l));
const n = (text: string): Name => Name.fromText(text);
/** The hosts as "preference name" (kind shown when not `hosts`). */
const shown = (m: MxHosts): string[] | string => (m.kind === 'hosts' ? m.hosts.map((h) => `${h.preference} ${h.exchange.toText()}`) : m.kind);

describe('mxHosts', () => {
  it('no MX record: implicit MX (the domain is its own host); records of other types do not count', () => {
    assert.equal(shown(mxHosts([])), 'implicit');
    assert.equal(shown(mxHosts(rrs('d.test. 300 IN CNAME e.test.', 'e.test. 300 IN A 192.0.2.1'))), 'implicit');
  });

  it('RFC 7505 null MX: a single record with exchange "." names no host', () => {
    assert.equal(shown(mxHosts(rrs('d.test. 300 IN MX 0 .'))), 'null');
    // Whatever the preference: the record is null MX by its exchange.
    assert.equal(shown(mxHosts(rrs('d.test. 300 IN MX 10 .'))), 'null');
  });

  it('a root exchange among other records is left out (not null MX); only root exchanges: hosts, none of them', () => {
    assert.deepEqual(shown(mxHosts(rrs('d.test. 300 IN MX 0 .', 'd.test. 300 IN MX 10 mx.test.'))), ['10 mx.test.']);
    assert.deepEqual(shown(mxHosts(rrs('d.test. 300 IN MX 0 .', 'd.test. 300 IN MX 10 .'))), []);
  });

  it('lowest preference first; equal preferences keep the answer\'s order', () => {
    const answer = rrs(
      'd.test. 300 IN MX 20 c.test.', 'd.test. 300 IN MX 10 b.test.', 'd.test. 300 IN MX 20 a.test.', 'd.test. 300 IN MX 10 z.test.',
    );
    assert.deepEqual(shown(mxHosts(answer)), ['10 b.test.', '10 z.test.', '20 c.test.', '20 a.test.']);
  });

  it('a host named twice stays once, at its most preferred place, names compared case-insensitively', () => {
    const answer = rrs('d.test. 300 IN MX 30 MX.test.', 'd.test. 300 IN MX 5 other.test.', 'd.test. 300 IN MX 10 mx.TEST.');
    assert.deepEqual(shown(mxHosts(answer)), ['5 other.test.', '10 mx.TEST.']);
  });

  it('a CNAME before the MX RRset is passed over', () => {
    assert.deepEqual(shown(mxHosts(rrs('d.test. 300 IN CNAME e.test.', 'e.test. 300 IN MX 10 mx.test.'))), ['10 mx.test.']);
  });
});

describe('TLSA base domains and owners (RFC 7672 §2.2.3)', () => {
  it('a CNAME\'d host: the expanded name first, then the host name', () => {
    assert.deepEqual(tlsaBaseDomains(n('alias.test.'), n('mx.prov.test.')).map((x) => x.toText()), ['mx.prov.test.', 'alias.test.']);
    assert.deepEqual(tlsaOwners(n('alias.test.'), n('mx.prov.test.')).map((x) => x.toText()), ['_25._tcp.mx.prov.test.', '_25._tcp.alias.test.']);
  });

  it('no alias (no expansion, or the host itself in other case): the host alone', () => {
    assert.deepEqual(tlsaBaseDomains(n('mx.test.'), undefined).map((x) => x.toText()), ['mx.test.']);
    assert.deepEqual(tlsaBaseDomains(n('mx.test.'), n('MX.test.')).map((x) => x.toText()), ['mx.test.']);
    assert.deepEqual(tlsaOwners(n('mx.test.'), undefined).map((x) => x.toText()), ['_25._tcp.mx.test.']);
  });

  it('the owner is _25._tcp.<base> for SMTP, _<port>._tcp.<base> for another port; the root name too', () => {
    assert.equal(SMTP_PORT, 25);
    assert.equal(tlsaOwner(n('mx.test.'))?.toText(), '_25._tcp.mx.test.');
    assert.equal(tlsaOwner(n('mx.test.'), 2525)?.toText(), '_2525._tcp.mx.test.');
    assert.equal(tlsaOwner(Name.root)?.toText(), '_25._tcp.');
    assert.deepEqual(tlsaOwners(Name.root, undefined).map((x) => x.toText()), ['_25._tcp.']);
  });

  it('a base too long for the prefix has no owner, and is left out of the owners (the other kept)', () => {
    // 3 × (1 + 63) + (1 + 61) + 1 = 255 octets, the most a name may have: the prefix's 9 more cannot fit.
    const long = n(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.`);
    assert.equal(tlsaOwner(long), undefined);
    assert.deepEqual(tlsaOwners(n('alias.test.'), long).map((x) => x.toText()), ['_25._tcp.alias.test.']);
    assert.deepEqual(tlsaOwners(long, undefined), []);
  });
});
