import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  InvalidRequestException,
  type IoTClient,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { type CreatedCertificate, CsrRejectedError, type IotControlPlane } from '#shared/domain/registry/iot-port.ts';

/**
 * The IoT Core control plane through `@aws-sdk/client-iot` (AWS_ENDPOINT_URL_IOT points it at the local stand-in).
 * Only I/O: each method is one call, with the answers that mean "already done" taken as done. The private key IoT Core
 * generates is passed through to the caller and never logged here.
 */
export class IotCoreControlPlane implements IotControlPlane {
  constructor(private readonly iot: IoTClient) {}

  async ensureThing(thingName: string): Promise<void> {
    try {
      await this.iot.send(new CreateThingCommand({ thingName }));
    } catch (err) {
      // a thing of that name with other attributes (made by hand): it is still the device's thing
      if (!(err instanceof ResourceAlreadyExistsException)) throw err;
    }
  }

  async createCertificate(csr: string | undefined): Promise<CreatedCertificate> {
    if (csr === undefined) {
      const out = await this.iot.send(new CreateKeysAndCertificateCommand({ setAsActive: false }));
      const privateKey = out.keyPair?.PrivateKey;
      const publicKey = out.keyPair?.PublicKey;
      if (!privateKey || !publicKey) throw new Error('CreateKeysAndCertificate answered without a key pair');
      return { ...certificateOf(out), keyPair: { privateKey, publicKey } };
    }
    try {
      return certificateOf(
        await this.iot.send(
          new CreateCertificateFromCsrCommand({ certificateSigningRequest: csr, setAsActive: false }),
        ),
      );
    } catch (err) {
      if (err instanceof InvalidRequestException) throw new CsrRejectedError(err.message);
      throw err;
    }
  }

  async attachPolicy(policyName: string, certificateArn: string): Promise<void> {
    await this.iot.send(new AttachPolicyCommand({ policyName, target: certificateArn }));
  }

  async attachThingPrincipal(thingName: string, certificateArn: string): Promise<void> {
    await this.iot.send(
      new AttachThingPrincipalCommand({ thingName, principal: certificateArn, thingPrincipalType: 'EXCLUSIVE_THING' }),
    );
  }

  async setCertificateStatus(certificateId: string, status: 'ACTIVE' | 'INACTIVE'): Promise<void> {
    try {
      await this.iot.send(new UpdateCertificateCommand({ certificateId, newStatus: status }));
    } catch (err) {
      // a certificate IoT Core no longer has cannot connect: deactivating it is done
      if (!(status === 'INACTIVE' && err instanceof ResourceNotFoundException)) throw err;
    }
  }

  async detachThingPrincipal(thingName: string, certificateArn: string): Promise<void> {
    await notFoundIsDone(this.iot.send(new DetachThingPrincipalCommand({ thingName, principal: certificateArn })));
  }

  async detachPolicy(policyName: string, certificateArn: string): Promise<void> {
    await notFoundIsDone(this.iot.send(new DetachPolicyCommand({ policyName, target: certificateArn })));
  }
}

function certificateOf(out: { certificateId?: string; certificateArn?: string; certificatePem?: string }) {
  if (!out.certificateId || !out.certificateArn || !out.certificatePem)
    throw new Error('IoT Core answered without the certificate id, ARN or PEM');
  return { certificateId: out.certificateId, certificateArn: out.certificateArn, certificatePem: out.certificatePem };
}

async function notFoundIsDone(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
}
