import { Stack, Validations } from 'aws-cdk-lib';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
// cdk-nag's own renderer of a policy resource: an acknowledgement names the finding exactly as IAM5 reports it
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag's IAM5 finding for exactly one wildcard `resource` (an ARN, tokens allowed) on `scope`.
 *
 * The finding names the resource as the template renders it, which depends on the environment: an env-agnostic stack
 * renders the partition, region and account as `<AWS::Partition>`, `<AWS::Region>`, `<AWS::AccountId>`; a stack the CLI
 * pinned to a region and account renders them literally (`arn:aws-cn:states:cn-northwest-1:123456789012:…`); a
 * cross-stack reference renders as its export name. So the acknowledgement is computed in a validation hook (after
 * references are resolved, before policy validation) with cdk-nag's own renderer, never written by hand.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  scope.node.addValidation({
    validate: () => {
      const rendered = flattenCfnReference(Stack.of(scope).resolve(resource));
      Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${rendered}]`, reason });
      return [];
    },
  });
}

/** Acknowledges IAM5 for exactly `<bucket ARN>/<prefix>*` on `scope`. */
export function acknowledgeBucketPrefix(scope: IConstruct, bucket: IBucket, prefix: string, reason: string): void {
  acknowledgeWildcardResource(scope, bucket.arnForObjects(`${prefix}*`), reason);
}
