/**
 * The port device onboarding needs: AWS IoT Core's control plane (things, certificates, policy attachments).
 * shared/adapters/iot-control-plane.ts implements it with `@aws-sdk/client-iot`; locally the same SDK reaches the
 * platform's stand-in (infra/local/services/iot/control-plane.ts). Every method is safe to repeat: a retry of an
 * onboarding or a decommissioning calls them again.
 */
export interface CreatedCertificate {
  certificateId: string;
  certificateArn: string;
  certificatePem: string;
  /** only when IoT Core generated the key pair: handed to the caller once, never stored or logged */
  keyPair?: { privateKey: string; publicKey: string };
}

export interface IotControlPlane {
  /** CreateThing; an existing thing of that name is fine. */
  ensureThing(thingName: string): Promise<void>;
  /**
   * CreateCertificateFromCsr (with `csr`) or CreateKeysAndCertificate (without), the certificate INACTIVE until
   * onboarding activates it. Fails with CsrRejectedError when IoT Core refuses the CSR.
   */
  createCertificate(csr: string | undefined): Promise<CreatedCertificate>;
  /** AttachPolicy of the device policy to the certificate. */
  attachPolicy(policyName: string, certificateArn: string): Promise<void>;
  /** AttachThingPrincipal, exclusively: the certificate belongs to this thing alone. */
  attachThingPrincipal(thingName: string, certificateArn: string): Promise<void>;
  /** UpdateCertificate; setting INACTIVE on a certificate IoT Core no longer has is done already. */
  setCertificateStatus(certificateId: string, status: 'ACTIVE' | 'INACTIVE'): Promise<void>;
  /** DetachThingPrincipal; done already when it is not attached (or gone). */
  detachThingPrincipal(thingName: string, certificateArn: string): Promise<void>;
  /** DetachPolicy; done already when it is not attached (or gone). */
  detachPolicy(policyName: string, certificateArn: string): Promise<void>;
}

/** IoT Core refused the certificate signing request (malformed, unsupported key, bad signature). */
export class CsrRejectedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CsrRejectedError';
  }
}
