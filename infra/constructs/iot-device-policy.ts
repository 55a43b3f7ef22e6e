import { Aws, Fn } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';

/**
 * The IoT policy every MQTT monitoring device gets (attached to its certificate by the registry's onboarding; its thing
 * name is its MN): connect only as client id = thing name, and only while the certificate is attached to that thing;
 * publish only under `envwatch/devices/<own MN>/`, subscribe to and receive only its own command topic
 * `envwatch/devices/<own MN>/cmd`. ARNs are partition-aware (aws and aws-cn). The local MQTT broker enforces this same
 * document, read from the synthesized template (infra/local/services/iot/policy.ts).
 */
export const devicePolicyName = (stage: string) => `envwatch-${stage}-device`;

// biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable, resolved by IoT Core
export const THING = '${iot:Connection.Thing.ThingName}';

export class IotDevicePolicy extends Construct {
  public readonly policy: CfnPolicy;
  public readonly policyName: string;

  constructor(scope: Construct, id: string, props: { stage: string }) {
    super(scope, id);
    this.policyName = devicePolicyName(props.stage);
    const arn = (resource: string) =>
      Fn.join('', ['arn:', Aws.PARTITION, ':iot:', Aws.REGION, ':', Aws.ACCOUNT_ID, `:${resource}`]);
    this.policy = new CfnPolicy(this, 'Policy', {
      policyName: this.policyName,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'iot:Connect',
            Resource: arn(`client/${THING}`),
            Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
          },
          { Effect: 'Allow', Action: 'iot:Publish', Resource: arn(`topic/envwatch/devices/${THING}/*`) },
          { Effect: 'Allow', Action: 'iot:Subscribe', Resource: arn(`topicfilter/envwatch/devices/${THING}/cmd`) },
          { Effect: 'Allow', Action: 'iot:Receive', Resource: arn(`topic/envwatch/devices/${THING}/cmd`) },
        ],
      },
    });
  }
}
