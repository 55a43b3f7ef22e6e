import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { registryRoutes } from '#shared/contracts/registry.ts';
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
  /** seals HJ 212-2025 device keys (registration, enrolment): Encrypt only */
  deviceKeysKey?: IKey;
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
    if (props.deviceKeysKey) this.apiFunction.bindKey(props.deviceKeysKey, ENV.deviceKeysKey, ['kms:Encrypt']);
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
