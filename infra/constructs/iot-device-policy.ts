import { Aws, Fn } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';

/**
 * The IoT policy every MQTT monitoring device gets (attached to its certificate; its thing name is its MN):
 * connect only as client id = thing name, publish only under `envwatch/devices/<own MN>/`, subscribe to and receive
 * only its own command topic `envwatch/devices/<own MN>/cmd`. ARNs are partition-aware (aws and aws-cn).
 * The local MQTT broker does not enforce IoT policies.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IoT policy variable, resolved by IoT Core
export const THING = '${iot:Connection.Thing.ThingName}';

export class IotDevicePolicy extends Construct {
  public readonly policy: CfnPolicy;

  constructor(scope: Construct, id: string, props: { stage: string }) {
    super(scope, id);
    const arn = (resource: string) =>
      Fn.join('', ['arn:', Aws.PARTITION, ':iot:', Aws.REGION, ':', Aws.ACCOUNT_ID, `:${resource}`]);
    this.policy = new CfnPolicy(this, 'Policy', {
      policyName: `envwatch-${props.stage}-device`,
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
