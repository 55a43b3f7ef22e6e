import { createHash } from 'node:crypto';
import { type CreatedCertificate, CsrRejectedError, type IotControlPlane } from '#shared/domain/registry/iot-port.ts';

/**
 * IoT Core's control plane in memory for use-case tests: things, certificates with their status, policy and thing
 * attachments, the calls in order, and a failure to inject into the next call of a given method.
 */
export type IotCall = { method: keyof IotControlPlane; args: unknown[] };

interface FakeCertificate {
  id: string;
  arn: string;
  status: 'ACTIVE' | 'INACTIVE';
  policies: Set<string>;
  things: Set<string>;
}

export const FAKE_PRIVATE_KEY =
  '-----BEGIN RSA PRIVATE KEY-----\nZmFrZS1wcml2YXRlLWtleQ==\n-----END RSA PRIVATE KEY-----\n';
export const FAKE_CSR = '-----BEGIN CERTIFICATE REQUEST-----\nZmFrZS1jc3I=\n-----END CERTIFICATE REQUEST-----\n';
export const REFUSED_CSR = '-----BEGIN CERTIFICATE REQUEST-----\nYmFkLWNzcg==\n-----END CERTIFICATE REQUEST-----\n';

export class MemoryIot implements IotControlPlane {
  readonly calls: IotCall[] = [];
  readonly things = new Set<string>();
  readonly certificates = new Map<string, FakeCertificate>();
  private failures = new Map<keyof IotControlPlane, Error>();
  private serial = 0;

  /** The next call of `method` fails with `error` (once). */
  failNext(
    method: keyof IotControlPlane,
    error: Error = Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
  ) {
    this.failures.set(method, error);
  }

  /** Certificates IoT Core would accept for a connection of `thing`: active, with a policy, attached to it. */
  usable(thing: string): string[] {
    return [...this.certificates.values()]
      .filter((c) => c.status === 'ACTIVE' && c.policies.size > 0 && c.things.has(thing))
      .map((c) => c.id);
  }

  methods(): string[] {
    return this.calls.map((c) => c.method);
  }

  private enter(method: keyof IotControlPlane, args: unknown[]) {
    this.calls.push({ method, args });
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
  }

  private cert(arnOrId: string): FakeCertificate | undefined {
    return [...this.certificates.values()].find((c) => c.arn === arnOrId || c.id === arnOrId);
  }

  async ensureThing(thingName: string): Promise<void> {
    this.enter('ensureThing', [thingName]);
    this.things.add(thingName);
  }

  async createCertificate(csr: string | undefined): Promise<CreatedCertificate> {
    this.enter('createCertificate', [csr]);
    if (csr === REFUSED_CSR) throw new CsrRejectedError('The certificate signing request is not valid');
    this.serial++;
    const id = createHash('sha256').update(`cert-${this.serial}`).digest('hex');
    const arn = `arn:aws:iot:us-east-1:000000000000:cert/${id}`;
    this.certificates.set(id, { id, arn, status: 'INACTIVE', policies: new Set(), things: new Set() });
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(id).toString('base64')}\n-----END CERTIFICATE-----\n`;
    return {
      certificateId: id,
      certificateArn: arn,
      certificatePem: pem,
      ...(csr
        ? {}
        : {
            keyPair: {
              privateKey: FAKE_PRIVATE_KEY,
              publicKey: '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n',
            },
          }),
    };
  }

  async attachPolicy(policyName: string, certificateArn: string): Promise<void> {
    this.enter('attachPolicy', [policyName, certificateArn]);
    const c = this.cert(certificateArn);
    if (!c) throw Object.assign(new Error('no such certificate'), { name: 'ResourceNotFoundException' });
    c.policies.add(policyName);
  }

  async attachThingPrincipal(thingName: string, certificateArn: string): Promise<void> {
    this.enter('attachThingPrincipal', [thingName, certificateArn]);
    const c = this.cert(certificateArn);
    if (!c || !this.things.has(thingName))
      throw Object.assign(new Error('no such thing or certificate'), { name: 'ResourceNotFoundException' });
    c.things.add(thingName);
  }

  async setCertificateStatus(certificateId: string, status: 'ACTIVE' | 'INACTIVE'): Promise<void> {
    this.enter('setCertificateStatus', [certificateId, status]);
    const c = this.cert(certificateId);
    if (c) c.status = status;
  }

  async detachThingPrincipal(thingName: string, certificateArn: string): Promise<void> {
    this.enter('detachThingPrincipal', [thingName, certificateArn]);
    this.cert(certificateArn)?.things.delete(thingName);
  }

  async detachPolicy(policyName: string, certificateArn: string): Promise<void> {
    this.enter('detachPolicy', [policyName, certificateArn]);
    this.cert(certificateArn)?.policies.delete(policyName);
  }
}
