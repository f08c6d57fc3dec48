/**
 * A corpus of records of every RDATA type the codec knows (and some it does not), and of real packets
 * built from them: compressed responses, EDNS options, queries, truncated answers. Used by the fuzzer
 * and by the wire tests.
 */
import {
  Name, RRType, emptyFlags, makeQuery, parseZoneText, serializeMessage, type Edns, type Message, type RR,
} from '../src/wire/index.js';

const H32 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const CORPUS_ZONE = `
$ORIGIN example.
$TTL 3600
@            SOA   ns1 hostmaster.Example. ( 2024010101 7200 3600
                   1209600 300 ) ; serial refresh retry expire minimum
@            NS    ns1
@            NS    ns2.Example.NET.
@     300    MX    10 mail
@            MX    20 Mail.Example.
@            TXT   "v=spf1 -all" "quote \\" backslash \\\\ semicolon ; paren ( )" "\\000\\255\\127"
@            TXT   ""
@            A     192.0.2.1
@            A     192.0.2.2
@            AAAA  2001:db8::1
@            AAAA  ::ffff:192.0.2.3
ns1          A     192.0.2.53
www          CNAME @
dn           DNAME Other.Example.NET.
1.2.0.192.in-addr.arpa. PTR www
_443._tcp.www TLSA 3 1 1 ${H32}
_25._tcp.mail TLSA 2 0 0 ( 308202c5308201ad
                           a0030201 )
_smime._smimecert SMIMEA 3 0 1 ${H32}
_sip._udp    SRV   10 60 5060 SipServer.Example.
@            CAA   0 issue "ca.example.net; account=1"
@            CAA   128 tbs "Unknown\\010value"
@            SSHFP 4 2 ${H32}
@            DS    60485 5 2 ${H32}
@            CDS   0 0 0 00
@            DNSKEY 257 3 13 ( GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb
                   krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )
@            CDNSKEY 0 3 0 AA==
@            RRSIG A 13 1 3600 20300101000000 20200101000000 55648 Example. (
                   qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXA
                   yGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw== )
www          RRSIG CNAME 8 2 3600 1893456000 946684800 9033 example. AQID
@            NSEC  Www.Example. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY CAA TYPE65534
2t7b4g4vsa5smi47k61mv5bv1a22bojr NSEC3 1 1 12 aabbccdd ( 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG )
0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr
@            NSEC3PARAM 1 0 0 -
@            HTTPS 1 . alpn=h2,h3 ipv4hint=192.0.2.1,192.0.2.2 ipv6hint=2001:db8::1 ech=AEX+DQBB port=8443
svc          SVCB  0 pool.svc.Example.
svc          SVCB  16 foo.example. key667="hello world" dohpath="/q{?dns}" mandatory=alpn alpn=dot no-default-alpn
@            HINFO "PC" "Linux"
@            RP    admin.Example. txt.example.
@            AFSDB 1 afs.Example.
@            KX    10 Kx.example.
@            NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.Example.
@            TYPE65280 \\# 4 0a000001
@            TYPE4660 \\# 0
odd\\.label.\\032sp\\"q   A  192.0.2.9
chaos        CLASS3 TXT "chaos"
`;

export function corpusRecords(): RR[] {
  return parseZoneText(CORPUS_ZONE);
}

const opt = (options: Edns['options'] = []): Edns => ({ udpSize: 1232, version: 0, dnssecOk: true, z: 0, options });

/** Varied messages (as objects) built from the corpus. */
export function corpusMessageObjects(): Message[] {
  const rrs = corpusRecords();
  const q = rrs[0]!.name;
  const resp = (id: number, answer: RR[], authority: RR[] = [], additional: RR[] = [], edns?: Edns, rcode = 0): Message => ({
    id, opcode: 0, flags: { ...emptyFlags(), qr: true, aa: true, rd: true, ra: true, ad: id % 2 === 0 }, rcode,
    question: [{ name: q, type: RRType.ANY, class: 1 }], answer, authority, additional, edns,
  });
  const third = Math.floor(rrs.length / 3);
  const msgs: Message[] = [
    resp(1, rrs),
    resp(2, rrs.slice(0, third), rrs.slice(third, 2 * third), rrs.slice(2 * third), opt()),
    resp(3, [], rrs.filter((r) => r.type === RRType.SOA || r.type === RRType.NSEC || r.type === RRType.RRSIG), [], opt(), 3),
    resp(4, rrs.filter((r) => r.type === RRType.A), [], [], opt([
      { code: 15, data: Uint8Array.from([0, 15, ...Buffer.from('blocked by policy')]) },
      { code: 10, data: Uint8Array.from({ length: 24 }, (_, i) => i) },
      { code: 3, data: new Uint8Array(0) },
      { code: 12, data: new Uint8Array(16) },
      { code: 65001, data: Uint8Array.of(1, 2, 3) },
    ]), 16),
    makeQuery(Name.fromText('www.example.'), RRType.A, { id: 5, edns: opt([{ code: 10, data: new Uint8Array(8).fill(7) }]) }),
    makeQuery(Name.fromText('_25._tcp.mail.example.'), RRType.TLSA, { id: 6, cd: true }),
    resp(7, rrs.filter((r) => r.type === RRType.MX || r.type === RRType.SRV || r.type === RRType.NS || r.type === RRType.SOA)),
  ];
  return msgs;
}

/** The corpus as packets: compressed, uncompressed, and one truncated to 512 octets. */
export function corpusPackets(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of corpusMessageObjects()) {
    out.push(serializeMessage(m).bytes);
    out.push(serializeMessage(m, { compress: false }).bytes);
  }
  out.push(serializeMessage(corpusMessageObjects()[0]!, { maxSize: 512 }).bytes);
  return out;
}
