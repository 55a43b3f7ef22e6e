import { createHash, generateKeyPair, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { x509 } from './x509.ts';

/**
 * The local certificate authority that stands in for IoT Core's: it signs device certificates (from an installer's CSR,
 * or for a key pair it generates, as CreateCertificateFromCsr and CreateKeysAndCertificate do) and the broker's TLS
 * server certificate. Node can verify certificates but not issue them, so issuing uses `@peculiar/x509` over WebCrypto.
 * The CA key stays under `<dataDir>/iot/ca/` (git-ignored with the rest of the data), so certificates survive a restart.
 *
 * Like IoT Core: device certificates are `CN=AWS IoT Certificate`, valid until 2049-12-31, for TLS client
 * authentication; generated keys are RSA 2048 (PKCS #1 PEM); a CSR may carry an RSA (2048–4096) or EC P-256/P-384/P-521
 * key and must be signed by it. A certificate's id is the SHA-256 of its DER, in hex.
 */
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const CA_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DEVICE_NOT_AFTER = new Date('2049-12-31T23:59:59Z');
const generateRsa = promisify(generateKeyPair);

/** IoT Core refused the CSR: the text says why. */
export class CsrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsrError';
  }
}

export interface IssuedDeviceCertificate {
  certificatePem: string;
  certificateId: string;
}

export interface LocalCa {
  /** the CA certificate, PEM: what a client trusts to verify the broker (like Amazon Root CA 1 for IoT Core) */
  caPem: string;
  /** where caPem is on disk */
  caFile: string;
  /** the broker's TLS certificate and key for `hosts` */
  server: { certPem: string; keyPem: string };
  issueFromCsr(csrPem: string): Promise<IssuedDeviceCertificate>;
  issueWithNewKey(): Promise<IssuedDeviceCertificate & { privateKeyPem: string; publicKeyPem: string }>;
}

/** The IoT-style certificate id: SHA-256 of the DER, lower-case hex. */
export function certificateIdOf(pemOrDer: string | Buffer): string {
  const der = typeof pemOrDer === 'string' ? Buffer.from(new x509.X509Certificate(pemOrDer).rawData) : pemOrDer;
  return createHash('sha256').update(der).digest('hex');
}

const serial = () => {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
};

async function importPrivate(pem: string): Promise<CryptoKey> {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, CA_ALG, false, ['sign']) as Promise<CryptoKey>;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

/** Loads the CA from `dir`, or creates it there on first start; issues a fresh server certificate for `hosts`. */
export async function loadOrCreateCa(dir: string, hosts: string[]): Promise<LocalCa> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  if (!existsSync(caFile) || !existsSync(caKeyFile)) {
    const keys = (await webcrypto.subtle.generateKey(CA_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const now = new Date();
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=EnvWatch local IoT CA, O=EnvWatch local platform',
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date('2049-12-31T23:59:59Z'),
      keys,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    writeFileSync(caKeyFile, await pkcs8Pem(keys.privateKey), { mode: 0o600 });
    writeFileSync(caFile, ca.toString('pem'));
  }
  const caPem = readFileSync(caFile, 'utf8');
  const caCert = new x509.X509Certificate(caPem);
  const caKey = await importPrivate(readFileSync(caKeyFile, 'utf8'));

  const issue = async (
    publicKey: x509.PublicKey | CryptoKey,
    subject: string,
    notAfter: Date,
    extensions: x509.Extension[],
  ) =>
    x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: caCert.subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter,
      publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        ...extensions,
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });

  const deviceCertificate = async (publicKey: x509.PublicKey): Promise<IssuedDeviceCertificate> => {
    const cert = await issue(publicKey, 'CN=AWS IoT Certificate', DEVICE_NOT_AFTER, [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ]);
    return { certificatePem: cert.toString('pem'), certificateId: certificateIdOf(Buffer.from(cert.rawData)) };
  };

  const serverKeys = (await webcrypto.subtle.generateKey(CA_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...hosts])];
  const server = await issue(
    serverKeys.publicKey,
    'CN=EnvWatch local IoT broker',
    new Date(Date.now() + 825 * 86_400_000),
    [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (/^[\d.]+$|:/.test(n) ? { type: 'ip', value: n } : { type: 'dns', value: n })),
      ),
    ],
  );

  return {
    caPem,
    caFile,
    server: { certPem: server.toString('pem'), keyPem: await pkcs8Pem(serverKeys.privateKey) },

    async issueFromCsr(csrPem: string) {
      let csr: x509.Pkcs10CertificateRequest;
      try {
        csr = new x509.Pkcs10CertificateRequest(csrPem);
      } catch {
        throw new CsrError('The certificate signing request is not a PEM PKCS #10 request');
      }
      const alg = csr.publicKey.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
      const rsaOk = alg.name.startsWith('RSA') && (alg.modulusLength ?? 0) >= 2048 && (alg.modulusLength ?? 0) <= 4096;
      const ecOk = alg.name === 'ECDSA' && ['P-256', 'P-384', 'P-521'].includes(alg.namedCurve ?? '');
      if (!rsaOk && !ecOk) throw new CsrError(`Unsupported key in the certificate signing request (${alg.name})`);
      let signed: boolean;
      try {
        signed = await csr.verify();
      } catch {
        signed = false;
      }
      if (!signed) throw new CsrError('The certificate signing request is not signed by its key');
      return deviceCertificate(csr.publicKey);
    },

    async issueWithNewKey() {
      const { publicKey, privateKey } = await generateRsa('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      });
      const issued = await deviceCertificate(new x509.PublicKey(publicKey));
      return { ...issued, privateKeyPem: privateKey, publicKeyPem: publicKey };
    },
  };
}
