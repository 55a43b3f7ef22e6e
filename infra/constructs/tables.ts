import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type ITable, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * The platform's DynamoDB tables. Every table has string keys `pk`/`sk`, on-demand capacity, point-in-time recovery,
 * encryption with the data key and a TTL attribute `expiresAt`; in prod deletion protection and RETAIN.
 * Indexes are named gsi1, gsi2 … with keys `gsiNpk`/`gsiNsk`; each table's first access patterns are noted below.
 */
export const TABLES = {
  /** townships, enterprises, outlets, devices: gsi1 = by kind, gsi2 = by parent */
  registry: 2,
  /** append-only audit trail: pk = entity, sk = time#ulid; gsi1 = by actor */
  audit: 1,
  /** citizen tips: gsi1 = triage queue by status, gsi2 = by unit, gsi3 = duplicates by category+township+day */
  tips: 3,
  /** sealed reporter identities (envelope-encrypted under the identity key): pk = identity#<tipId>; no index */
  identities: 0,
  /** cases, their timelines and workflow tasks: gsi1 = by status, gsi2 = by unit, gsi3 = open tasks and deadlines */
  cases: 3,
  /** hazardous-waste manifests: gsi1 = by producer, gsi2 = by carrier/vehicle */
  manifests: 2,
  /** normalized readings: pk = rd#device#kind, sk = DataTime (one item holds every code); device state; commands */
  readings: 1,
  /** alarms, their timelines, active slots, evaluator state and rules: gsi1 = by state, gsi2 = by unit, gsi3 = due */
  alarms: 3,
} as const;

export type TableName = keyof typeof TABLES;

/** A table with the names of its indexes, for grants without wildcards. */
export interface DataTable {
  table: ITable;
  indexes: string[];
}

export interface TablesProps {
  key: IKey;
  retain: boolean;
}

export class Tables extends Construct {
  public readonly byName: Record<TableName, DataTable>;

  constructor(scope: Construct, id: string, props: TablesProps) {
    super(scope, id);
    const byName = {} as Record<TableName, DataTable>;
    for (const [name, indexes] of Object.entries(TABLES) as [TableName, number][]) {
      const table = new Table(this, pascal(name), {
        partitionKey: { name: 'pk', type: AttributeType.STRING },
        sortKey: { name: 'sk', type: AttributeType.STRING },
        billingMode: BillingMode.PAY_PER_REQUEST,
        encryption: TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: props.key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: 'expiresAt',
        deletionProtection: props.retain,
        removalPolicy: props.retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      const indexNames: string[] = [];
      for (let i = 1; i <= indexes; i++) {
        indexNames.push(`gsi${i}`);
        table.addGlobalSecondaryIndex({
          indexName: `gsi${i}`,
          partitionKey: { name: `gsi${i}pk`, type: AttributeType.STRING },
          sortKey: { name: `gsi${i}sk`, type: AttributeType.STRING },
        });
      }
      byName[name] = { table, indexes: indexNames };
    }
    this.byName = byName;
  }
}

const pascal = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
