import { Aws, Duration, Stack } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { registryRoutes } from '#shared/contracts/registry.ts';
import { deviceCommandTopic, GATEWAY_COMMAND_PREFIX } from '#shared/domain/commands/delivery.ts';
import { KEY_ROTATION_JOB } from '#shared/domain/registry/key-rotation-job.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import type { EnvWatchHttpApi } from './http-api.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { DataTable } from './tables.ts';

/**
 * The registry capability: its API function and routes, and device onboarding: the function creates MQTT devices'
 * IoT things and certificates, attaches the device policy (named by `devicePolicyName`, defined by
 * iot-device-policy.ts in the Ingest stack) and deactivates and detaches them on decommissioning.
 */
export interface RegistryProps {
  api: EnvWatchHttpApi;
  registryTable: DataTable;
  auditTable: DataTable;
  /** the IoT policy every device certificate gets (IotDevicePolicy.policyName) */
  devicePolicyName: string;
  /**
   * HJ 212-2025 device keys: seals the installer's key (registration, enrolment) and pushes new ones (an
   * administrator's rotation, the scheduled KeyRotation job) through the device-command path, whose commands live on
   * `readingsTable`
   */
  deviceKeysKey?: IKey;
  readingsTable?: DataTable;
  stage: string;
  logRetentionDays: number;
}

/**
 * The IoT Core actions onboarding calls, by the resource IAM checks them against (Service Authorization Reference,
 * AWS IoT). Things are named by MN and certificates by the id IoT Core gives them, so both are `…/*`; the two
 * certificate-creating actions take no resource but `*`.
 */
export const ONBOARDING_ACTIONS = {
  thing: ['iot:CreateThing'],
  thingAndCertificate: ['iot:AttachThingPrincipal', 'iot:DetachThingPrincipal'],
  certificate: ['iot:AttachPolicy', 'iot:DetachPolicy', 'iot:UpdateCertificate'],
  anyResource: ['iot:CreateKeysAndCertificate', 'iot:CreateCertificateFromCsr'],
} as const;

export class Registry extends Construct {
  public readonly apiFunction: EnvWatchFunction;
  public readonly keyRotation?: EnvWatchFunction;

  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    this.apiFunction = new EnvWatchFunction(this, 'Api', {
      name: 'registry-api',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      description: 'EnvWatch registry API: townships, enterprises, outlets, devices; MQTT device onboarding',
      environment: { [ENV.iotDevicePolicy]: props.devicePolicyName },
    })
      .bindTable(props.registryTable, ENV.registryTable, 'readwrite')
      .bindTable(props.auditTable, ENV.auditTable, 'append');
    if (props.deviceKeysKey && props.readingsTable) {
      // a push seals the new key (Encrypt) and encrypts an MQTT device's 1014 under its current key (Decrypt)
      this.apiFunction
        .bindKey(props.deviceKeysKey, ENV.deviceKeysKey, ['kms:Encrypt', 'kms:Decrypt'])
        .bindTable(props.readingsTable, ENV.readingsTable, 'readwrite');
      grantCommandPublish(this.apiFunction);
      this.keyRotation = new EnvWatchFunction(this, 'KeyRotation', {
        name: 'key-rotation',
        stage: props.stage,
        logRetentionDays: props.logRetentionDays,
        timeout: Duration.minutes(5),
        description: 'EnvWatch HJ 212-2025 key rotation: a new SM4 key pushed to every device whose key is due',
      })
        .bindTable(props.registryTable, ENV.registryTable, 'readwrite')
        .bindTable(props.auditTable, ENV.auditTable, 'append')
        .bindTable(props.readingsTable, ENV.readingsTable, 'readwrite')
        .bindKey(props.deviceKeysKey, ENV.deviceKeysKey, ['kms:Encrypt', 'kms:Decrypt']);
      grantCommandPublish(this.keyRotation);
      new Rule(this, 'KeyRotationSchedule', {
        description: 'EnvWatch HJ 212-2025 key rotation (every 90 days per device, checked daily)',
        schedule: Schedule.expression(KEY_ROTATION_JOB.schedule),
        targets: [
          new LambdaFunction(this.keyRotation.fn, {
            event: RuleTargetInput.fromObject({ time: EventField.time }),
            retryAttempts: 2,
          }),
        ],
      });
    } else if (props.deviceKeysKey) this.apiFunction.bindKey(props.deviceKeysKey, ENV.deviceKeysKey, ['kms:Encrypt']);
    this.grantOnboarding();
    props.api.addContracts('Registry', registryRoutes, this.apiFunction.fn);
  }

  /** Exactly the IoT Core actions onboarding calls, each on the narrowest resource IAM checks it against. */
  private grantOnboarding(): void {
    const stack = Stack.of(this);
    const all = (resource: 'thing' | 'cert') => stack.formatArn({ service: 'iot', resource, resourceName: '*' });
    const fn = this.apiFunction.fn;
    const allow = (actions: readonly string[], resources: string[]) =>
      fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: [...actions], resources }));
    allow(ONBOARDING_ACTIONS.thing, [all('thing')]);
    allow(ONBOARDING_ACTIONS.thingAndCertificate, [all('thing'), all('cert')]);
    allow(ONBOARDING_ACTIONS.certificate, [all('cert')]);
    allow(ONBOARDING_ACTIONS.anyResource, ['*']);
    acknowledgeWildcardResource(
      this.apiFunction,
      all('thing'),
      'Device things are named by MN, which the registry assigns at run time: onboarding creates them and attaches certificates to them.',
    );
    acknowledgeWildcardResource(
      this.apiFunction,
      all('cert'),
      'Certificate ids are made by IoT Core at run time: onboarding attaches the device policy to them, activates, deactivates and detaches them.',
    );
    acknowledgeWildcardResource(
      this.apiFunction,
      '*',
      'iot:CreateKeysAndCertificate and iot:CreateCertificateFromCsr accept no resource but * (Service Authorization Reference, AWS IoT).',
    );
  }
}

/** Key pushes are device commands: published on the gateway's per-device topic (TCP) or the device's own (MQTT). */
function grantCommandPublish(fn: EnvWatchFunction): void {
  const topic = (t: string) => `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:topic/${t}`;
  const topics = [topic(`${GATEWAY_COMMAND_PREFIX}/*`), topic(deviceCommandTopic('*'))];
  fn.fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['iot:Publish'], resources: topics }));
  for (const arn of topics)
    acknowledgeWildcardResource(
      fn,
      arn,
      'Command topics are one per device MN: the wildcard is the MN, nothing wider.',
    );
}
