import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { evidencePublicRoutes } from '#shared/contracts/evidence.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import type { EnvWatchHttpApi } from './http-api.ts';
import { acknowledgeBucketPrefix, acknowledgeWildcardResource } from './nag.ts';
import type { DataTable } from './tables.ts';

/**
 * Citizen evidence uploads: the public `POST /evidence/uploads` function (records a slot in the tips table, presigns a
 * PUT into the uploads bucket) and `grantEvidenceFinalize` for the functions that turn uploads into sealed evidence.
 * Grants are explicit statements on object prefixes (no `s3:Abort*` / `kms:ReEncrypt*` wildcards from grantPut).
 */
export interface EvidenceUploadsProps {
  api: EnvWatchHttpApi;
  uploadsBucket: IBucket;
  tipsTable: DataTable;
  stage: string;
  logRetentionDays: number;
}

export const UPLOADS_PREFIX = 'uploads/';
export const EVIDENCE_PREFIX = 'evidence/';

export class EvidenceUploads extends Construct {
  public readonly apiFunction: EnvWatchFunction;

  constructor(scope: Construct, id: string, props: EvidenceUploadsProps) {
    super(scope, id);
    this.apiFunction = new EnvWatchFunction(this, 'Api', {
      name: 'evidence-public',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      description: 'EnvWatch public evidence uploads: presigned upload slots for citizen photos and videos',
    }).bindTable(props.tipsTable, ENV.tipsTable, 'append');
    // a presigned PUT is signed with the function's role: PutObject on uploads/* and the bucket key, nothing else
    this.apiFunction.fn.addEnvironment(ENV.evidenceUploadsBucket, props.uploadsBucket.bucketName);
    grantObjects(this.apiFunction, props.uploadsBucket, UPLOADS_PREFIX, ['s3:PutObject'], ['kms:GenerateDataKey']);
    props.api.addContracts('EvidencePublic', evidencePublicRoutes, this.apiFunction.fn);
  }
}

/** What `s3EvidenceFinalizer` needs: read and delete uploads, write sealed evidence, read and claim upload slots. */
export function grantEvidenceFinalize(
  fn: EnvWatchFunction,
  props: { uploadsBucket: IBucket; evidenceBucket: IBucket; tipsTable: DataTable },
): void {
  fn.fn.addEnvironment(ENV.evidenceUploadsBucket, props.uploadsBucket.bucketName);
  fn.fn.addEnvironment(ENV.evidenceBucket, props.evidenceBucket.bucketName);
  grantObjects(fn, props.uploadsBucket, UPLOADS_PREFIX, ['s3:GetObject', 's3:DeleteObject'], ['kms:Decrypt']);
  grantObjects(fn, props.evidenceBucket, EVIDENCE_PREFIX, ['s3:PutObject'], ['kms:GenerateDataKey', 'kms:Decrypt']);
  fn.bindTable(props.tipsTable, ENV.tipsTable, 'readwrite');
}

/**
 * What the alarms function needs for the enterprise's evidence files (owner kind `response`): read and delete
 * uploads, write sealed evidence under `evidence/response/` only and read its working copies (the bureau's links),
 * and read and claim upload slots only (`upload#…` items of the tips table: it reads no tip).
 */
export function grantResponseEvidence(
  fn: EnvWatchFunction,
  props: { uploadsBucket: IBucket; evidenceBucket: IBucket; tipsTable: DataTable },
): void {
  const prefix = `${EVIDENCE_PREFIX}response/`;
  fn.fn.addEnvironment(ENV.evidenceUploadsBucket, props.uploadsBucket.bucketName);
  fn.fn.addEnvironment(ENV.evidenceBucket, props.evidenceBucket.bucketName);
  fn.fn.addEnvironment(ENV.tipsTable, props.tipsTable.table.tableName);
  grantObjects(fn, props.uploadsBucket, UPLOADS_PREFIX, ['s3:GetObject', 's3:DeleteObject'], ['kms:Decrypt']);
  grantObjects(fn, props.evidenceBucket, prefix, ['s3:PutObject'], ['kms:GenerateDataKey', 'kms:Decrypt']);
  const workingCopies = props.evidenceBucket.arnForObjects(`${prefix}*/working.*`);
  fn.fn.addToRolePolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: [workingCopies] }),
  );
  acknowledgeWildcardResource(
    fn,
    workingCopies,
    'The bureau reads the metadata-stripped working copies of answers only, one per file under evidence/response/.',
  );
  fn.fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [props.tipsTable.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['upload#*'] } },
    }),
  );
  const key = props.tipsTable.table.encryptionKey;
  if (key) {
    fn.fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [key.keyArn],
      }),
    );
  }
}

function grantObjects(fn: EnvWatchFunction, bucket: IBucket, prefix: string, actions: string[], keyActions: string[]) {
  fn.fn.addToRolePolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions, resources: [bucket.arnForObjects(`${prefix}*`)] }),
  );
  if (bucket.encryptionKey) {
    fn.fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: keyActions, resources: [bucket.encryptionKey.keyArn] }),
    );
  }
  acknowledgeBucketPrefix(
    fn,
    bucket,
    prefix,
    `Evidence objects are one per file under ${prefix}: access is limited to that prefix.`,
  );
}
