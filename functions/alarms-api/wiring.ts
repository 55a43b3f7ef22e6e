import { S3Client } from '@aws-sdk/client-s3';
import { DynamoAlarmStore } from '#shared/adapters/alarms-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { s3EvidenceFinalizer, s3EvidenceViewer } from '#shared/adapters/evidence-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { AlarmService } from '#shared/domain/alarms/use-cases.ts';
import type { PlaceResolvers } from '#shared/http/scope.ts';
import { alarmPlaces } from '#shared/wiring/places.ts';

/**
 * Builds the AlarmService from the function's environment: ALARMS_TABLE (read/write), AUDIT_TABLE (append), and for
 * the enterprise's evidence files the tips table (upload slots), the uploads bucket and the evidence bucket; and the
 * alarm place resolver the routes' scope asks.
 */
export function alarmServiceFromEnv(): { alarms: AlarmService; places: PlaceResolvers } {
  const config = readConfig({
    alarmsTable: ENV.alarmsTable,
    auditTable: ENV.auditTable,
    tipsTable: ENV.tipsTable,
    uploads: ENV.evidenceUploadsBucket,
    evidence: ENV.evidenceBucket,
  });
  const store = new DynamoAlarmStore(dynamo, {
    alarms: config.alarmsTable,
    audit: config.auditTable,
    uploads: config.tipsTable,
  });
  const s3 = new S3Client({});
  const alarms = new AlarmService({
    store,
    evidence: s3EvidenceFinalizer({
      s3,
      db: dynamo,
      table: config.tipsTable,
      uploadsBucket: config.uploads,
      evidenceBucket: config.evidence,
    }),
    viewer: s3EvidenceViewer({ s3, evidenceBucket: config.evidence }),
  });
  return { alarms, places: alarmPlaces((id) => store.get(id)) };
}
