import { Stack, Validations } from 'aws-cdk-lib';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's IAM5 finding for exactly `<bucket ARN>/<prefix>*` on `scope`. The finding names the bucket ARN
 * as the template renders it (often a cross-stack import), known only once references are resolved: so the
 * acknowledgement is added in a validation hook, which runs after reference resolution and before policy validation.
 */
export function acknowledgeBucketPrefix(scope: IConstruct, bucket: IBucket, prefix: string, reason: string): void {
  scope.node.addValidation({
    validate: () => {
      const arn = Stack.of(scope).resolve(bucket.bucketArn) as unknown;
      Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${renderArn(arn)}/${prefix}*]`, reason });
      return [];
    },
  });
}

function renderArn(arn: unknown): string {
  if (typeof arn === 'string') return arn;
  if (arn && typeof arn === 'object' && 'Fn::ImportValue' in arn)
    return String((arn as Record<string, unknown>)['Fn::ImportValue']);
  if (arn && typeof arn === 'object' && 'Fn::GetAtt' in arn) {
    return `<${((arn as Record<string, unknown>)['Fn::GetAtt'] as string[]).join('.')}>`;
  }
  return JSON.stringify(arn);
}
