/**
 * Certificates for the DANE tests, made at test time with the openssl command (P-256 keys):
 * - ee: self-signed, SAN mail.example.test (DANE-EE material); other: a second self-signed key;
 * - expired: self-signed, valid in January 2020 only (`openssl ca -selfsign` sets past dates);
 * - ca → leaf (SAN mx.example.test), ca → int (a CA) → leaf2 (SAN mx2.example.test), ca → wild (SAN *.example.test);
 * - evil: a CA with the same subject as `ca` but another key, and evilLeaf (SAN mx.example.test) issued by it.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Issued {
  cert: X509Certificate;
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  ee: Issued;
  other: Issued;
  expired: Issued;
  ca: Issued;
  leaf: Issued;
  int: Issued;
  leaf2: Issued;
  wild: Issued;
  evil: Issued;
  evilLeaf: Issued;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'stubd-dane-pki-'));
  const f = (n: string): string => join(dir, n);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  const read = (name: string): Issued => {
    const certPem = readFileSync(f(`${name}.pem`), 'utf8');
    return { cert: new X509Certificate(certPem), certPem, keyPem: readFileSync(f(`${name}.key`), 'utf8') };
  };
  const selfSigned = (name: string, cn: string, ext: string[]): void =>
    openssl('req', '-x509', ...EC, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-days', '30', '-subj', `/CN=${cn}`, ...ext.flatMap((e) => ['-addext', e]));
  const caExt = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
  const issue = (name: string, cn: string, issuer: string, ext: string): void => {
    openssl('req', '-new', ...EC, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(f(`${name}.ext`), ext);
    openssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${issuer}.pem`), '-CAkey', f(`${issuer}.key`), '-set_serial', String(Date.now() % 1e9),
      '-days', '30', '-sha256', '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`));
  };
  try {
    selfSigned('ee', 'mail.example.test', ['subjectAltName=DNS:mail.example.test']);
    selfSigned('other', 'other.example.test', ['subjectAltName=DNS:other.example.test']);
    selfSigned('ca', 'DANE Test CA', caExt);
    selfSigned('evil', 'DANE Test CA', caExt);
    issue('leaf', 'mx.example.test', 'ca', 'subjectAltName=DNS:mx.example.test\nbasicConstraints=CA:FALSE\n');
    issue('int', 'DANE Test Intermediate', 'ca', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    issue('leaf2', 'mx2.example.test', 'int', 'subjectAltName=DNS:mx2.example.test\nbasicConstraints=CA:FALSE\n');
    issue('wild', 'wildcard', 'ca', 'subjectAltName=DNS:*.example.test\nbasicConstraints=CA:FALSE\n');
    issue('evilLeaf', 'mx.example.test', 'evil', 'subjectAltName=DNS:mx.example.test\nbasicConstraints=CA:FALSE\n');
    // An expired certificate: openssl req/x509 only date certificates from now on; `openssl ca` takes fixed dates.
    writeFileSync(f('index.txt'), '');
    writeFileSync(f('serial'), '01\n');
    writeFileSync(f('ca.cnf'), [
      '[ ca ]', 'default_ca = d', '[ d ]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir', 'serial = $dir/serial',
      'default_md = sha256', 'policy = p', 'copy_extensions = copy', 'unique_subject = no', '[ p ]', 'commonName = supplied', '',
    ].join('\n'));
    openssl('req', '-new', ...EC, '-keyout', f('expired.key'), '-out', f('expired.csr'), '-subj', '/CN=expired.example.test', '-addext', 'subjectAltName=DNS:expired.example.test');
    openssl('ca', '-batch', '-config', f('ca.cnf'), '-selfsign', '-keyfile', f('expired.key'), '-in', f('expired.csr'),
      '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-notext', '-out', f('expired.pem'));
    return {
      ee: read('ee'), other: read('other'), expired: read('expired'), ca: read('ca'), leaf: read('leaf'), int: read('int'),
      leaf2: read('leaf2'), wild: read('wild'), evil: read('evil'), evilLeaf: read('evilLeaf'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The association data of a certificate for a selector and matching type (computed here, independently of src/dane). */
export function association(cert: X509Certificate, selector: 0 | 1, matching: 0 | 1 | 2): Uint8Array {
  const bytes = selector === 0 ? cert.raw : (cert.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
  if (matching === 0) return new Uint8Array(bytes);
  return new Uint8Array(createHash(matching === 1 ? 'sha256' : 'sha512').update(bytes).digest());
}

export function tlsa(usage: number, selector: 0 | 1, matching: 0 | 1 | 2, cert: X509Certificate): { usage: number; selector: number; matchingType: number; data: Uint8Array } {
  return { usage, selector, matchingType: matching, data: association(cert, selector, matching) };
}
