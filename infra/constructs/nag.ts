import { Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
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

/**
 * Acknowledges each IAM5 finding of a handler that aws-cdk-lib itself creates and grants (a BucketDeployment's copier,
 * say), exactly as cdk-nag will report them: the wildcard actions and resources of the role's own policy, read from the
 * resolved template in a validation hook. Nothing outside that role is acknowledged, and a wildcard EnvWatch code adds
 * to it later is acknowledged only if it is in the same policy (keep such handlers CDK's alone).
 */
export function acknowledgeCdkOwnedWildcards(handler: IConstruct, reason: string): void {
  handler.node.addValidation({
    validate: () => {
      const stack = Stack.of(handler);
      for (const child of handler.node.findAll()) {
        if (!CfnPolicy.isCfnPolicy(child)) continue;
        const document = stack.resolve(child.policyDocument) as { Statement?: Record<string, unknown>[] };
        for (const statement of document.Statement ?? []) {
          if (statement['Effect'] !== 'Allow') continue;
          const list = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
          const findings = [
            ...list(statement['Action'])
              .map(String)
              .filter((a) => a.includes('*'))
              .map((a) => `Action::${a}`),
            ...list(statement['Resource'])
              .map((r) => flattenCfnReference(r))
              .filter((r) => r.includes('*'))
              .map((r) => `Resource::${r}`),
          ];
          for (const finding of findings) {
            Validations.of(child).acknowledge({ id: `AwsSolutions-IAM5[${finding}]`, reason });
          }
        }
      }
      return [];
    },
  });
}
