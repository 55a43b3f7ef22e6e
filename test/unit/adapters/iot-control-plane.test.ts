import {
  AttachPolicyCommand,
  AttachThingPrincipalCommand,
  CreateCertificateFromCsrCommand,
  CreateKeysAndCertificateCommand,
  CreateThingCommand,
  DetachPolicyCommand,
  DetachThingPrincipalCommand,
  InvalidRequestException,
  IoTClient,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  ThrottlingException,
  UpdateCertificateCommand,
} from '@aws-sdk/client-iot';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import type {} from 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { IotCoreControlPlane } from '#shared/adapters/iot-control-plane.ts';
import { CsrRejectedError } from '#shared/domain/registry/iot-port.ts';

expect.extend(allCustomMatcher);

const client = new IoTClient({ region: 'cn-northwest-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
const iot = mockClient(client);
const plane = new IotCoreControlPlane(client);

const MN = '33112600000000000000FW01';
const ID = 'a'.repeat(64);
const ARN = `arn:aws-cn:iot:cn-northwest-1:123456789012:cert/${ID}`;
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const CSR = '-----BEGIN CERTIFICATE REQUEST-----\nMIIC\n-----END CERTIFICATE REQUEST-----\n';
const meta = { $metadata: {} };

describe('IotCoreControlPlane', () => {
  beforeEach(() => {
    iot.reset();
  });

  it('creates the thing named by the MN, and takes an existing thing as done', async () => {
    iot
      .on(CreateThingCommand)
      .resolvesOnce({ thingName: MN })
      .rejectsOnce(new ResourceAlreadyExistsException({ ...meta, message: 'exists with other attributes' }));

    await plane.ensureThing(MN);
    await plane.ensureThing(MN);

    expect(iot).toHaveReceivedCommandTimes(CreateThingCommand, 2);
    expect(iot).toHaveReceivedCommandWith(CreateThingCommand, { thingName: MN });
  });

  it('asks for a generated key pair with the certificate inactive, and passes the key through', async () => {
    iot.on(CreateKeysAndCertificateCommand).resolves({
      certificateId: ID,
      certificateArn: ARN,
      certificatePem: PEM,
      keyPair: { PrivateKey: 'PRIVATE', PublicKey: 'PUBLIC' },
    });

    const out = await plane.createCertificate(undefined);

    expect(iot).toHaveReceivedCommandWith(CreateKeysAndCertificateCommand, { setAsActive: false });
    expect(iot).not.toHaveReceivedCommand(CreateCertificateFromCsrCommand);
    expect(out).toEqual({
      certificateId: ID,
      certificateArn: ARN,
      certificatePem: PEM,
      keyPair: { privateKey: 'PRIVATE', publicKey: 'PUBLIC' },
    });
  });

  it('signs the CSR inactive, and turns IoT Core refusing it into CsrRejectedError', async () => {
    iot
      .on(CreateCertificateFromCsrCommand)
      .resolvesOnce({ certificateId: ID, certificateArn: ARN, certificatePem: PEM })
      .rejectsOnce(new InvalidRequestException({ ...meta, message: 'The certificate signing request is not valid' }));

    await expect(plane.createCertificate(CSR)).resolves.toEqual({
      certificateId: ID,
      certificateArn: ARN,
      certificatePem: PEM,
    });
    expect(iot).toHaveReceivedCommandWith(CreateCertificateFromCsrCommand, {
      certificateSigningRequest: CSR,
      setAsActive: false,
    });
    await expect(plane.createCertificate(CSR)).rejects.toBeInstanceOf(CsrRejectedError);
  });

  it('attaches the policy to the certificate and the certificate to the thing exclusively', async () => {
    iot.on(AttachPolicyCommand).resolves({});
    iot.on(AttachThingPrincipalCommand).resolves({});

    await plane.attachPolicy('envwatch-prod-device', ARN);
    await plane.attachThingPrincipal(MN, ARN);

    expect(iot).toHaveReceivedCommandWith(AttachPolicyCommand, { policyName: 'envwatch-prod-device', target: ARN });
    expect(iot).toHaveReceivedCommandWith(AttachThingPrincipalCommand, {
      thingName: MN,
      principal: ARN,
      thingPrincipalType: 'EXCLUSIVE_THING',
    });
  });

  it('updates the certificate status; a missing certificate is deactivated already, but cannot be activated', async () => {
    iot
      .on(UpdateCertificateCommand)
      .rejects(new ResourceNotFoundException({ ...meta, message: 'no such certificate' }));

    await expect(plane.setCertificateStatus(ID, 'INACTIVE')).resolves.toBeUndefined();
    await expect(plane.setCertificateStatus(ID, 'ACTIVE')).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(iot).toHaveReceivedCommandWith(UpdateCertificateCommand, { certificateId: ID, newStatus: 'INACTIVE' });
    expect(iot).toHaveReceivedCommandWith(UpdateCertificateCommand, { certificateId: ID, newStatus: 'ACTIVE' });
  });

  it('detaches thing and policy, taking "not found" as done and passing other failures on', async () => {
    iot
      .on(DetachThingPrincipalCommand)
      .rejectsOnce(new ResourceNotFoundException({ ...meta, message: 'not attached' }))
      .rejectsOnce(new ThrottlingException({ ...meta, message: 'slow down' }));
    iot.on(DetachPolicyCommand).rejects(new ResourceNotFoundException({ ...meta, message: 'not attached' }));

    await expect(plane.detachThingPrincipal(MN, ARN)).resolves.toBeUndefined();
    await expect(plane.detachThingPrincipal(MN, ARN)).rejects.toBeInstanceOf(ThrottlingException);
    await expect(plane.detachPolicy('envwatch-prod-device', ARN)).resolves.toBeUndefined();
    expect(iot).toHaveReceivedCommandWith(DetachThingPrincipalCommand, { thingName: MN, principal: ARN });
    expect(iot).toHaveReceivedCommandWith(DetachPolicyCommand, { policyName: 'envwatch-prod-device', target: ARN });
  });
});
