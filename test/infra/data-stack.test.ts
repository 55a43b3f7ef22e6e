import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  asArray,
  idsOfType,
  isRecord,
  logicalId,
  PROD_CONTEXT,
  props,
  resource,
  type SynthesizedApp,
  synthForTest,
} from './helpers.ts';

/** The expected tables and how many GSIs each has (written out here, not read from tables.ts). */
const EXPECTED_TABLES = {
  registry: 2,
  audit: 1,
  tips: 3,
  identities: 0,
  cases: 3,
  manifests: 2,
  readings: 1,
  alarms: 3,
} as const;

let dev: SynthesizedApp;
let prod: SynthesizedApp;

beforeAll(() => {
  dev = synthForTest({ stage: 'dev' });
  prod = synthForTest(PROD_CONTEXT);
});

afterAll(() => {
  dev?.cleanup();
  prod?.cleanup();
});

const dataKeyArn = (s: SynthesizedApp) => `\${${logicalId(s.data.dataKey)}.Arn}`;

describe('Data stack', () => {
  describe('tables', () => {
    it('has exactly the eight expected tables', () => {
      for (const s of [dev, prod]) {
        expect(Object.keys(s.data.tables.byName).sort()).toEqual(Object.keys(EXPECTED_TABLES).sort());
        expect(idsOfType(s.dataTemplate, 'AWS::DynamoDB::Table')).toHaveLength(8);
      }
    });

    it('gives every table pk/sk keys, on-demand billing, PITR, the data key, TTL on expiresAt and its GSIs', () => {
      for (const s of [dev, prod]) {
        for (const [name, gsiCount] of Object.entries(EXPECTED_TABLES) as [keyof typeof EXPECTED_TABLES, number][]) {
          const p = props(s.dataTemplate, logicalId(s.data.tables.byName[name].table));
          const where = `${s.data.stackName} ${name}`;
          expect(p['KeySchema'], where).toEqual([
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ]);
          expect(p['BillingMode'], where).toBe('PAY_PER_REQUEST');
          expect(p['PointInTimeRecoverySpecification'], where).toEqual({ PointInTimeRecoveryEnabled: true });
          const sse = p['SSESpecification'];
          expect(isRecord(sse) && sse['SSEType'], where).toBe('KMS');
          expect(isRecord(sse) && sse['SSEEnabled'], where).toBe(true);
          expect(s.render(isRecord(sse) ? sse['KMSMasterKeyId'] : undefined), where).toBe(dataKeyArn(s));
          expect(p['TimeToLiveSpecification'], where).toEqual({ AttributeName: 'expiresAt', Enabled: true });
          const gsis = asArray(p['GlobalSecondaryIndexes']);
          expect(
            gsis.map((g) => (isRecord(g) ? g['IndexName'] : g)),
            where,
          ).toEqual(Array.from({ length: gsiCount }, (_, i) => `gsi${i + 1}`));
          gsis.forEach((g, i) => {
            expect(isRecord(g) && g['KeySchema'], `${where} gsi${i + 1}`).toEqual([
              { AttributeName: `gsi${i + 1}pk`, KeyType: 'HASH' },
              { AttributeName: `gsi${i + 1}sk`, KeyType: 'RANGE' },
            ]);
          });
          expect(s.data.tables.byName[name].indexes, where).toEqual(gsis.map((g) => isRecord(g) && g['IndexName']));
        }
      }
    });

    it('protects and retains tables in prod, and deletes them with the stack in dev', () => {
      for (const name of Object.keys(EXPECTED_TABLES) as (keyof typeof EXPECTED_TABLES)[]) {
        const p = resource(prod.dataTemplate, logicalId(prod.data.tables.byName[name].table));
        expect(isRecord(p['Properties']) && p['Properties']['DeletionProtectionEnabled'], name).toBe(true);
        expect(p['DeletionPolicy'], name).toBe('Retain');
        expect(p['UpdateReplacePolicy'], name).toBe('Retain');
        const d = resource(dev.dataTemplate, logicalId(dev.data.tables.byName[name].table));
        expect(isRecord(d['Properties']) && d['Properties']['DeletionProtectionEnabled'], name).not.toBe(true);
        expect(d['DeletionPolicy'], name).toBe('Delete');
      }
      expect(prod.data.terminationProtection).toBe(true);
      expect(dev.data.terminationProtection).toBe(false);
    });
  });

  describe('keys', () => {
    it('lets CloudWatch alarms use the ops key (and only that key) to publish to the encrypted ops topic', () => {
      const statements = (id: string) =>
        JSON.stringify((props(dev.dataTemplate, id)['KeyPolicy'] as { Statement: unknown[] }).Statement);
      expect(statements(logicalId(dev.data.opsKey))).toContain('"Service":"cloudwatch.amazonaws.com"');
      expect(statements(logicalId(dev.data.opsKey))).toContain('"kms:GenerateDataKey*"');
      for (const other of [dev.data.dataKey, dev.data.identityKey]) {
        expect(statements(logicalId(other))).not.toContain('cloudwatch.amazonaws.com');
      }
    });

    it('has four customer-managed keys, all rotated, and the identity key encrypts no table', () => {
      for (const s of [dev, prod]) {
        const keys = idsOfType(s.dataTemplate, 'AWS::KMS::Key');
        expect(keys.sort()).toEqual(
          [
            logicalId(s.data.dataKey),
            logicalId(s.data.identityKey),
            logicalId(s.data.opsKey),
            logicalId(s.data.deviceKeysKey),
          ].sort(),
        );
        for (const k of keys) expect(props(s.dataTemplate, k)['EnableKeyRotation'], k).toBe(true);
        const identity = `\${${logicalId(s.data.identityKey)}.Arn}`;
        for (const t of idsOfType(s.dataTemplate, 'AWS::DynamoDB::Table')) {
          const sse = props(s.dataTemplate, t)['SSESpecification'];
          expect(s.render(isRecord(sse) ? sse['KMSMasterKeyId'] : undefined)).not.toBe(identity);
        }
      }
    });
  });

  describe('evidence bucket', () => {
    it('is versioned, Object-Locked with a default retention, SSE-KMS with the data key and fully private', () => {
      for (const [s, days] of [
        [dev, 1],
        [prod, 3650],
      ] as const) {
        const p = props(s.dataTemplate, logicalId(s.data.evidence.bucket));
        expect(p['VersioningConfiguration']).toEqual({ Status: 'Enabled' });
        expect(p['ObjectLockEnabled']).toBe(true);
        expect(p['ObjectLockConfiguration']).toEqual({
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: days } },
        });
        const enc = asArray(
          isRecord(p['BucketEncryption']) && p['BucketEncryption']['ServerSideEncryptionConfiguration'],
        );
        expect(enc).toHaveLength(1);
        const byDefault = isRecord(enc[0]) ? enc[0]['ServerSideEncryptionByDefault'] : undefined;
        expect(isRecord(byDefault) && byDefault['SSEAlgorithm']).toBe('aws:kms');
        expect(s.render(isRecord(byDefault) ? byDefault['KMSMasterKeyID'] : undefined)).toBe(dataKeyArn(s));
        expect(p['PublicAccessBlockConfiguration']).toEqual({
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        });
      }
    });

    it('logs access to the separate log bucket', () => {
      for (const s of [dev, prod]) {
        const logging = props(s.dataTemplate, logicalId(s.data.evidence.bucket))['LoggingConfiguration'];
        expect(s.render(isRecord(logging) ? logging['DestinationBucketName'] : undefined)).toBe(
          `\${${logicalId(s.data.evidence.accessLogs)}}`,
        );
      }
    });

    it('denies every request without TLS, on the evidence bucket and on the log bucket', () => {
      for (const s of [dev, prod]) {
        for (const bucket of [s.data.evidence.bucket, s.data.evidence.accessLogs]) {
          const id = logicalId(bucket);
          s.dataTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
            Bucket: { Ref: id },
            PolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({
                  Effect: 'Deny',
                  Action: 's3:*',
                  Principal: { AWS: '*' },
                  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                  Resource: Match.arrayWith([{ 'Fn::GetAtt': [id, 'Arn'] }]),
                }),
              ]),
            },
          });
        }
      }
    });

    it('retains evidence in prod', () => {
      expect(resource(prod.dataTemplate, logicalId(prod.data.evidence.bucket))['DeletionPolicy']).toBe('Retain');
      expect(resource(dev.dataTemplate, logicalId(dev.data.evidence.bucket))['DeletionPolicy']).toBe('Delete');
    });
  });

  describe('topics', () => {
    it('has one KMS-encrypted topic per audience, each denying publishes without TLS', () => {
      for (const s of [dev, prod]) {
        const topics = Object.values(s.data.topics.byAudience);
        expect(Object.keys(s.data.topics.byAudience).sort()).toEqual(['bureau', 'enterprise', 'ops', 'regulator']);
        expect(idsOfType(s.dataTemplate, 'AWS::SNS::Topic')).toHaveLength(4);
        for (const topic of topics) {
          const id = logicalId(topic);
          const key = topic === s.data.topics.byAudience.ops ? `\${${logicalId(s.data.opsKey)}.Arn}` : dataKeyArn(s);
          expect(s.render(props(s.dataTemplate, id)['KmsMasterKeyId']), id).toBe(key);
          s.dataTemplate.hasResourceProperties('AWS::SNS::TopicPolicy', {
            Topics: Match.arrayWith([{ Ref: id }]),
            PolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({
                  Effect: 'Deny',
                  Condition: { Bool: { 'aws:SecureTransport': 'false' } },
                  Resource: { Ref: id },
                }),
              ]),
            },
          });
        }
      }
    });
  });
});
