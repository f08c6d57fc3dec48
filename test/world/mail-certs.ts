/**
 * Certificates of the mail world (generated with openssl by the world generator, cached with the signed
 * zones under <worldDir>/signed/mail/), and the TLSA digests computed from their DER:
 *  - ee: a self-signed P-256 certificate whose SAN holds every mail host name (DANE-EE ignores names);
 *  - other: a P-256 key no server uses (badcert's TLSA 3 1 1);
 *  - ca + ta201: a test CA and a leaf it signed (SAN ta201.dhost.test), presented as the chain [leaf, CA]
 *    for the DANE-TA 2 0 1 record.
 */
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAIL, type TlsaData } from './mail.js';
import { runOk } from './proc.js';

export interface CertFiles {
  certFile: string;
  keyFile: string;
  /** what the server presents: the certificate followed by its issuers (PEM) */
  chainFile: string;
}

export interface MailCerts {
  dir: string;
  ee: CertFiles;
  ta201: CertFiles;
  ca: { certFile: string; keyFile: string };
  other: { keyFile: string; publicKeyFile: string };
  /** association data (upper-case hex) for each TlsaData */
  digests: Record<TlsaData, string>;
}

const DAYS = '3650';
const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

const hex = (alg: 'sha256' | 'sha512', data: Buffer): string => createHash(alg).update(data).digest('hex').toUpperCase();

function der(certFile: string): { cert: Buffer; spki: Buffer } {
  const x = new X509Certificate(readFileSync(certFile));
  return { cert: x.raw, spki: x.publicKey.export({ type: 'spki', format: 'der' }) };
}

/**
 * Generate the certificates into `workDir`; the returned paths are those under `finalDir` (where the
 * generator moves workDir when it is done).
 */
export async function generateMailCerts(workDir: string, finalDir: string): Promise<MailCerts> {
  const w = (f: string) => path.join(workDir, f);
  const names = [...new Set(MAIL.hosts.map((h) => h.name.replace(/\.$/, '')))];
  await Promise.all([
    runOk('openssl', ['req', '-x509', ...P256, '-keyout', w('ee.key'), '-out', w('ee.crt'), '-days', DAYS,
      '-subj', '/CN=ok.dhost.test', '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth']),
    runOk('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', w('other.key')]),
    runOk('openssl', ['req', '-x509', ...P256, '-keyout', w('ca.key'), '-out', w('ca.crt'), '-days', DAYS,
      '-subj', '/CN=dnssec-stubd mail world test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
  ]);
  await runOk('openssl', ['req', '-new', ...P256, '-keyout', w('ta201.key'), '-out', w('ta201.csr'), '-subj', '/CN=ta201.dhost.test']);
  writeFileSync(w('ta201.ext'), [
    'subjectAltName=DNS:ta201.dhost.test', 'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', '',
  ].join('\n'));
  await runOk('openssl', ['x509', '-req', '-in', w('ta201.csr'), '-CA', w('ca.crt'), '-CAkey', w('ca.key'), '-set_serial', '201',
    '-days', DAYS, '-sha256', '-extfile', w('ta201.ext'), '-out', w('ta201.crt')]);
  writeFileSync(w('ta201-chain.crt'), readFileSync(w('ta201.crt'), 'utf8') + readFileSync(w('ca.crt'), 'utf8'));
  const otherSpki = createPublicKey(readFileSync(w('other.key'))).export({ type: 'spki', format: 'der' });
  writeFileSync(w('other.pub'), createPublicKey(readFileSync(w('other.key'))).export({ type: 'spki', format: 'pem' }));

  const ee = der(w('ee.crt'));
  const ca = der(w('ca.crt'));
  const digests: Record<TlsaData, string> = {
    'ee-spki-sha256': hex('sha256', ee.spki),
    'ee-spki-sha512': hex('sha512', ee.spki),
    'ee-cert-sha256': hex('sha256', ee.cert),
    'other-spki-sha256': hex('sha256', otherSpki),
    'ca-cert-sha256': hex('sha256', ca.cert),
    'short-20': hex('sha256', ee.spki).slice(0, 40),
  };
  const f = (name: string) => path.join(finalDir, name);
  return {
    dir: finalDir,
    ee: { certFile: f('ee.crt'), keyFile: f('ee.key'), chainFile: f('ee.crt') },
    ta201: { certFile: f('ta201.crt'), keyFile: f('ta201.key'), chainFile: f('ta201-chain.crt') },
    ca: { certFile: f('ca.crt'), keyFile: f('ca.key') },
    other: { keyFile: f('other.key'), publicKeyFile: f('other.pub') },
    digests,
  };
}
