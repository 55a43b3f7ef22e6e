import { SFNClient } from '@aws-sdk/client-sfn';
import { dynamoSourceReader } from '#shared/adapters/case-sources.ts';
import { sfnWorkflows } from '#shared/adapters/case-workflows.ts';
import { DynamoCaseStore } from '#shared/adapters/cases-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { DynamoTipRecords } from '#shared/adapters/tips-store.ts';
import { envVar, optional, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { CasesService } from '#shared/domain/cases/use-cases.ts';
import type { PlaceResolvers } from '#shared/http/scope.ts';
import { logger } from '#shared/observability/logger.ts';
import { casePlaces, registryPlaces } from '#shared/wiring/places.ts';

/**
 * Builds the CasesService from the function's environment: CASES_TABLE and AUDIT_TABLE (read/write); TIPS_TABLE
 * (read, and a tip's status to 已立案; never the identities table), ALARMS_TABLE and REGISTRY_TABLE (read);
 * REWARD_STATE_MACHINE_ARN and TRANSFER_STATE_MACHINE_ARN (start, send task success).
 */
export function casesServiceFromEnv(sfn: SFNClient = new SFNClient({})): {
  cases: CasesService;
  places: PlaceResolvers;
} {
  const config = readConfig({
    casesTable: ENV.casesTable,
    auditTable: ENV.auditTable,
    tipsTable: ENV.tipsTable,
    alarmsTable: ENV.alarmsTable,
    registryTable: ENV.registryTable,
    reward: envVar(ENV.rewardStateMachine, optional),
    transfer: envVar(ENV.transferStateMachine, optional),
  });
  const arns = {
    ...(config.reward ? { reward: config.reward } : {}),
    ...(config.transfer ? { transfer: config.transfer } : {}),
  };
  const tips = new DynamoTipRecords(dynamo, { tips: config.tipsTable, audit: config.auditTable });
  const store = new DynamoCaseStore(dynamo, { cases: config.casesTable, audit: config.auditTable });
  const places: PlaceResolvers = {
    ...casePlaces({ get: (id) => store.get(id), getTask: (id) => store.getTask(id) }),
    ...registryPlaces(new DynamoRegistryStore(dynamo, config.registryTable, config.auditTable)),
  };
  const cases = new CasesService({
    store,
    sources: dynamoSourceReader(
      dynamo,
      { alarms: config.alarmsTable, registry: config.registryTable, audit: config.auditTable },
      tips,
    ),
    workflows: sfnWorkflows(sfn, arns),
    tips,
    log: (message, fields) => logger.warn(message, fields),
  });
  return { cases, places };
}
