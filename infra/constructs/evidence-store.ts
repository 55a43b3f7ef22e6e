import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  ObjectLockRetention,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * Evidence: photos, videos, the sealed raw archive of device packets, case packages. Versioned with Object Lock
 * (governance mode by default, so an accidental delete or overwrite keeps the original), SSE-KMS, no public access,
 * TLS only, server access logs to a separate bucket.
 * Citizens' uploads land first in a separate `uploads` bucket (no versioning, no Object Lock, lifecycle expiry of
 * `uploads/` after 2 days): in the locked bucket an abandoned upload would be retained for the whole lock period, and
 * a browser PUT into a bucket with default retention needs a Content-MD5/checksum header. Finalize copies each checked
 * upload into the locked bucket (shared/adapters/evidence-store.ts).
 */
export interface EvidenceStoreProps {
  key: IKey;
  retain: boolean;
  /** default Object Lock retention for every new object version */
  lockDays: number;
}

export class EvidenceStore extends Construct {
  public readonly bucket: Bucket;
  public readonly accessLogs: Bucket;
  /** temporary citizen uploads, presigned PUT, expired after 2 days */
  public readonly uploads: Bucket;

  constructor(scope: Construct, id: string, props: EvidenceStoreProps) {
    super(scope, id);
    const removalPolicy = props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(400) }],
      removalPolicy,
      autoDeleteObjects: false,
    });
    this.bucket = new Bucket(this, 'Bucket', {
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.governance(Duration.days(props.lockDays)),
      encryption: BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'evidence/',
      cors: [
        {
          allowedMethods: [HttpMethods.PUT, HttpMethods.POST],
          allowedOrigins: ['*'],
          allowedHeaders: ['content-type', 'content-length', 'x-amz-*'],
          maxAge: 3000,
        },
        // the console fetches the stripped copies through presigned links (GET /tips/{id}/evidence) and shows them
        // from memory (its CSP allows blob: images and media, not the bucket's origin)
        { allowedMethods: [HttpMethods.GET], allowedOrigins: ['*'], maxAge: 3000 },
      ],
      removalPolicy,
    });
    this.uploads = new Bucket(this, 'Uploads', {
      encryption: BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'uploads/',
      lifecycleRules: [
        { id: 'expire-unfinished-uploads', prefix: 'uploads/', expiration: Duration.days(2) },
        { id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      cors: [
        {
          allowedMethods: [HttpMethods.PUT],
          allowedOrigins: ['*'],
          allowedHeaders: ['content-type', 'content-length'],
          maxAge: 3000,
        },
      ],
      removalPolicy,
      autoDeleteObjects: false,
    });
  }
}
