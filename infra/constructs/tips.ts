import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { patrolRoutes } from '#shared/contracts/patrols.ts';
import { tipsIdentityRoutes, tipsOfficialRoutes, tipsPublicRoutes } from '#shared/contracts/tips.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import { EVIDENCE_PREFIX, grantEvidenceFinalize } from './evidence-uploads.ts';
import type { EnvWatchHttpApi } from './http-api.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import type { DataTable } from './tables.ts';

/**
 * Citizen tips: three functions, so that key rights follow the routes.
 *   tips-public   (public routes): tips read/write, identities append-only, audit append, identity key GenerateDataKey.
 *   tips-official (staff intake + triage + patrol reports): the same; never reads the identities table, cannot Decrypt identities;
 *                 reads the evidence's metadata-stripped copies (`…/working.*`) to sign officials' short-lived links.
 *   tips-identity (POST /tips/{id}/identity/open, reward post): the ONLY holder of kms:Decrypt on the identity key;
 *                 reads identities and updates only their open count, reads tips and appends the access entry.
 * Both intake functions read the registry and alarms tables (index queries) for triage links (triage.ts).
 * Tips table keys (gsi1 queue by status+time, gsi2 by unit, gsi3 duplicates by category+township+day, receipt items
 * by selector): see shared/adapters/tips-store.ts.
 */
export interface TipsProps {
  api: EnvWatchHttpApi;
  tipsTable: DataTable;
  identitiesTable: DataTable;
  auditTable: DataTable;
  /** read-only, for triage links (a township's enterprises) */
  registryTable: DataTable;
  /** read-only, for triage links (open alarms at a unit) */
  alarmsTable: DataTable;
  identityKey: IKey;
  uploadsBucket: IBucket;
  evidenceBucket: IBucket;
  stage: string;
  logRetentionDays: number;
}

export class Tips extends Construct {
  public readonly publicFunction: EnvWatchFunction;
  public readonly officialFunction: EnvWatchFunction;
  public readonly identityFunction: EnvWatchFunction;

  constructor(scope: Construct, id: string, props: TipsProps) {
    super(scope, id);
    const base = { stage: props.stage, logRetentionDays: props.logRetentionDays, memorySize: 1024 };
    const intake = (fn: EnvWatchFunction) => {
      fn.bindTable(props.tipsTable, ENV.tipsTable, 'readwrite')
        .bindTable(props.identitiesTable, ENV.identityTable, 'append')
        .bindTable(props.auditTable, ENV.auditTable, 'append')
        .bindTable(props.registryTable, ENV.registryTable, 'read')
        .bindTable(props.alarmsTable, ENV.alarmsTable, 'read')
        .bindKey(props.identityKey, ENV.identityKey, ['kms:GenerateDataKey']);
      grantEvidenceFinalize(fn, {
        uploadsBucket: props.uploadsBucket,
        evidenceBucket: props.evidenceBucket,
        tipsTable: props.tipsTable,
      });
      return fn;
    };

    this.publicFunction = intake(
      new EnvWatchFunction(this, 'Public', {
        ...base,
        name: 'tips-public',
        description: 'EnvWatch public tips: submit, follow with the receipt, add information, reply',
      }),
    );
    props.api.addContracts('TipsPublic', tipsPublicRoutes, this.publicFunction.fn);

    this.officialFunction = intake(
      new EnvWatchFunction(this, 'Official', {
        ...base,
        name: 'tips-official',
        description: 'EnvWatch official tips: staff intake, triage queue, status, assignment, messages',
      }),
    );
    // officials view evidence through short-lived links to the metadata-stripped copies (GET /tips/{id}/evidence): the
    // role that signs them reads `…/working.*` keys only, never an original
    const workingCopies = props.evidenceBucket.arnForObjects(`${EVIDENCE_PREFIX}*/working.*`);
    this.officialFunction.fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: [workingCopies] }),
    );
    acknowledgeWildcardResource(
      this.officialFunction,
      workingCopies,
      'Officials read the metadata-stripped working copies only, one per evidence file under evidence/.',
    );
    props.api.addContracts('TipsOfficial', tipsOfficialRoutes, this.officialFunction.fn);
    // patrol reports: an item family in the tips table (shared/adapters/patrols-store.ts), same function and grants
    props.api.addContracts('Patrols', patrolRoutes, this.officialFunction.fn);

    this.identityFunction = new EnvWatchFunction(this, 'Identity', {
      ...base,
      name: 'tips-identity',
      description: 'EnvWatch reporter identity opening (reward post only, recorded before it is returned)',
    })
      .bindTable(props.tipsTable, ENV.tipsTable, 'read')
      .bindTable(props.tipsTable, ENV.tipsTable, 'append')
      .bindTable(props.identitiesTable, ENV.identityTable, 'read')
      .bindTable(props.auditTable, ENV.auditTable, 'append')
      .bindKey(props.identityKey, ENV.identityKey, ['kms:Decrypt']);
    this.identityFunction.fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:UpdateItem'],
        resources: [props.identitiesTable.table.tableArn],
      }),
    );
    props.api.addContracts('TipsIdentity', tipsIdentityRoutes, this.identityFunction.fn);
  }
}
