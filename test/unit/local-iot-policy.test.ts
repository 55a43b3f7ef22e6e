import { describe, expect, it } from 'vitest';
import { THING } from '#infra/constructs/iot-device-policy.ts';
import { authorize, type IotPolicyDocument, wildcardMatch } from '#infra/local/services/iot/policy.ts';

const ARN = 'arn:aws:iot:us-east-1:000000000000:';
const MN = '33112600000000000000FW01';
/** The device policy of infra/constructs/iot-device-policy.ts as the local template renders it. */
const device: IotPolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: 'iot:Connect',
      Resource: `${ARN}client/${THING}`,
      Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
    },
    { Effect: 'Allow', Action: 'iot:Publish', Resource: `${ARN}topic/envwatch/devices/${THING}/*` },
    { Effect: 'Allow', Action: 'iot:Subscribe', Resource: `${ARN}topicfilter/envwatch/devices/${THING}/cmd` },
  ],
};
const policies = [{ policyName: 'envwatch-dev-device', document: device }];
const attached = { clientId: MN, thingName: MN };

describe('local IoT policy evaluation', () => {
  it('allows a device to connect as its attached thing, and nothing when no thing is attached', () => {
    expect(authorize(policies, 'iot:Connect', `${ARN}client/${MN}`, attached).allowed).toBe(true);
    expect(authorize(policies, 'iot:Connect', `${ARN}client/${MN}`, { clientId: MN }).allowed).toBe(false);
    expect(authorize(policies, 'iot:Connect', `${ARN}client/other`, { clientId: 'other' }).allowed).toBe(false);
  });

  it('lets a device publish under its own MN only, with MQTT wildcards taken literally', () => {
    expect(authorize(policies, 'iot:Publish', `${ARN}topic/envwatch/devices/${MN}/telemetry`, attached).allowed).toBe(
      true,
    );
    expect(authorize(policies, 'iot:Publish', `${ARN}topic/envwatch/devices/OTHER/telemetry`, attached).allowed).toBe(
      false,
    );
    expect(authorize(policies, 'iot:Subscribe', `${ARN}topicfilter/envwatch/devices/+/cmd`, attached).allowed).toBe(
      false,
    );
    expect(authorize(policies, 'iot:Subscribe', `${ARN}topicfilter/envwatch/devices/${MN}/cmd`, attached).allowed).toBe(
      true,
    );
  });

  it('lets an explicit deny win over an allow, and names the statement', () => {
    const deny = {
      policyName: 'quarantine',
      document: { Statement: { Effect: 'Deny' as const, Action: 'iot:*', Resource: `${ARN}topic/*` } },
    };
    const decision = authorize([...policies, deny], 'iot:Publish', `${ARN}topic/envwatch/devices/${MN}/x`, attached);
    expect(decision).toEqual({ allowed: false, reason: expect.stringContaining('quarantine statement 0 denies') });
  });

  it('does not apply a statement whose condition it cannot evaluate', () => {
    const odd = {
      policyName: 'odd',
      document: {
        Statement: {
          Effect: 'Allow' as const,
          Action: 'iot:Connect',
          Resource: '*',
          Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } },
        },
      },
    };
    expect(authorize([odd], 'iot:Connect', `${ARN}client/x`, { clientId: 'x' }).allowed).toBe(false);
  });

  it('matches * and ? as IoT does, and nothing else as a pattern', () => {
    expect(wildcardMatch('a/*/c', 'a/b/x/c')).toBe(true);
    expect(wildcardMatch('a/?/c', 'a/b/c')).toBe(true);
    expect(wildcardMatch('a/+/c', 'a/b/c')).toBe(false);
    expect(wildcardMatch('a.b', 'axb')).toBe(false);
  });
});
