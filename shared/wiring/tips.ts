import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { s3EvidenceFinalizer, s3EvidenceViewer } from '#shared/adapters/evidence-store.ts';
import { KmsDataKeys } from '#shared/adapters/kms-data-keys.ts';
import { DynamoTipRecords, DynamoTipStore } from '#shared/adapters/tips-store.ts';
import { DynamoTriageSources } from '#shared/adapters/triage-sources.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { ulid } from '#shared/domain/ids.ts';
import { EvidenceError, type EvidenceFinalizer } from '#shared/domain/tips/evidence-port.ts';
import { TipService } from '#shared/domain/tips/use-cases.ts';
import { IdentityVault } from '#shared/domain/tips/vault.ts';
import type { PlaceResolvers } from '#shared/http/scope.ts';
import { logger } from '#shared/observability/logger.ts';
import { tipPlaces } from './places.ts';

/**
 * Builds the TipService from the function's environment, shared by the tips functions. Each function gets only the
 * variables (and grants) it needs: the identity-opening function has no evidence buckets, so it refuses uploads.
 */
const noEvidence: EvidenceFinalizer = {
  finalize: async ({ uploadIds }) => {
    if (uploadIds[0] !== undefined)
      throw new EvidenceError('this function takes no evidence (此处不接收证据文件)', uploadIds[0]);
    return [];
  },
};

/**
 * `triage`: compute links on intake (needs the registry and alarms tables, read-only); `viewer`: officials' links to
 * the stripped copies of evidence (needs the evidence bucket's `…/working.*` keys, read-only).
 */
export function tipServiceFromEnv(opts: { evidence: boolean; triage?: boolean; viewer?: boolean }): TipService {
  const config = readConfig({
    tipsTable: ENV.tipsTable,
    identityTable: ENV.identityTable,
    auditTable: ENV.auditTable,
    identityKey: ENV.identityKey,
  });
  const buckets = opts.evidence
    ? readConfig({ uploads: ENV.evidenceUploadsBucket, evidence: ENV.evidenceBucket })
    : undefined;
  const s3 = buckets ? new S3Client({}) : undefined;
  const evidence =
    buckets && s3
      ? s3EvidenceFinalizer({
          s3,
          db: dynamo,
          table: config.tipsTable,
          uploadsBucket: buckets.uploads,
          evidenceBucket: buckets.evidence,
        })
      : noEvidence;
  return new TipService({
    store: new DynamoTipStore(dynamo, {
      tips: config.tipsTable,
      identities: config.identityTable,
      audit: config.auditTable,
    }),
    vault: new IdentityVault(new KmsDataKeys(new KMSClient({}), config.identityKey)),
    evidence,
    // the official function views the stripped copies it sealed (its role reads only `…/working.*`)
    ...(buckets && s3 && opts.viewer ? { viewer: s3EvidenceViewer({ s3, evidenceBucket: buckets.evidence }) } : {}),
    newId: () => ulid(),
    ...(opts.triage
      ? {
          triage: new DynamoTriageSources(dynamo, {
            ...readConfig({ registry: ENV.registryTable, alarms: ENV.alarmsTable }),
            tips: config.tipsTable,
          }),
          onTriageError: (error: unknown) =>
            logger.warn('triage links could not be computed; tip stored without them', { error }),
        }
      : {}),
  });
}

/** Where a tip belongs (for the official routes' scope), read through the tips table only. */
export function tipPlacesFromEnv(): PlaceResolvers {
  const config = readConfig({ tipsTable: ENV.tipsTable, auditTable: ENV.auditTable });
  const records = new DynamoTipRecords(dynamo, { tips: config.tipsTable, audit: config.auditTable });
  return tipPlaces((id) => records.get(id));
}
