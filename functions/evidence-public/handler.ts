import { S3Client } from '@aws-sdk/client-s3';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { createUploadSlots } from '#shared/adapters/evidence-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { evidencePublicRoutes } from '#shared/contracts/evidence.ts';
import { httpApi } from '#shared/http/api-handler.ts';

/** Public evidence API: upload slots for a citizen's photos and videos (see schema.ts). */
const config = readConfig({ tipsTable: ENV.tipsTable, uploadsBucket: ENV.evidenceUploadsBucket });
// presigned URLs must not carry a checksum of the (empty) request body, or every browser upload fails its signature
const s3 = new S3Client({ requestChecksumCalculation: 'WHEN_REQUIRED' });
const deps = { s3, db: dynamo, table: config.tipsTable, uploadsBucket: config.uploadsBucket };

export const handler = httpApi(evidencePublicRoutes, {
  create_uploads: async (req) => ({
    status: 201,
    body: { uploads: await createUploadSlots(deps, req.body.files) },
  }),
});
