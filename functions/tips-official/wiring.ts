import { S3Client } from '@aws-sdk/client-s3';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { s3EvidenceFinalizer } from '#shared/adapters/evidence-store.ts';
import { DynamoPatrolStore } from '#shared/adapters/patrols-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { ulid } from '#shared/domain/ids.ts';
import { PatrolService } from '#shared/domain/patrols/use-cases.ts';
import type { TipService } from '#shared/domain/tips/use-cases.ts';
import type { PlaceResolvers } from '#shared/http/scope.ts';
import { patrolPlaces } from '#shared/wiring/places.ts';

/** Builds the PatrolService from the official tips function's environment (tips table, audit, evidence buckets). */
export function patrolServiceFromEnv(tips: TipService): { patrols: PatrolService; places: PlaceResolvers } {
  const config = readConfig({
    tipsTable: ENV.tipsTable,
    auditTable: ENV.auditTable,
    uploads: ENV.evidenceUploadsBucket,
    evidence: ENV.evidenceBucket,
  });
  const store = new DynamoPatrolStore(dynamo, { tips: config.tipsTable, audit: config.auditTable });
  const patrols = new PatrolService({
    store,
    evidence: s3EvidenceFinalizer({
      s3: new S3Client({}),
      db: dynamo,
      table: config.tipsTable,
      uploadsBucket: config.uploads,
      evidenceBucket: config.evidence,
    }),
    tips,
    newId: () => ulid(),
  });
  return { patrols, places: patrolPlaces((id) => store.get(id)) };
}
