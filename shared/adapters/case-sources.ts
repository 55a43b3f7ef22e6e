import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CaseSourceReader, ReporterMessages } from '#shared/domain/cases/ports.ts';
import type { Enterprise, Outlet, Township } from '#shared/domain/registry/model.ts';
import { DynamoAlarmStore } from './alarms-store.ts';
import { isConditionFailure } from './dynamodb.ts';
import { DynamoPatrolStore } from './patrols-store.ts';
import { DynamoRegistryStore } from './registry-store.ts';
import type { DynamoTipRecords } from './tips-store.ts';

/**
 * What the case functions read and write outside the cases table, I/O only (shared/domain/cases/ports.ts):
 * the sources a case is opened from (tips and their timelines, alarms, patrol findings, the registry) and the
 * messages the workflows post to a tip's reporter. None of it touches the identities table.
 */
export function dynamoSourceReader(
  db: DynamoDBDocumentClient,
  tables: { alarms: string; registry: string; audit: string },
  tips: DynamoTipRecords,
): CaseSourceReader {
  const alarms = new DynamoAlarmStore(db, { alarms: tables.alarms, audit: tables.audit });
  const registry = new DynamoRegistryStore(db, tables.registry, tables.audit);
  // patrols live in the tips table
  const patrols = new DynamoPatrolStore(db, { tips: tips.tipsTable, audit: tables.audit });
  return {
    tip: async (id) => (await tips.get(id))?.tip,
    tipTimeline: (id) => tips.timeline(id),
    alarm: (id) => alarms.get(id),
    patrol: (id) => patrols.get(id),
    enterprise: async (id) => (await registry.get<Enterprise>('enterprises', id))?.item,
    outlet: async (id) => (await registry.get<Outlet>('outlets', id))?.item,
    township: async (id) => (await registry.get<Township>('townships', id))?.item,
  };
}

/**
 * A message from the handler under a tip (the follow page shows it), with its audit entry, in one transaction
 * (tips-store.ts addEntry: the tip exists, the entry is new). A post whose (seeded) id is already there is taken as
 * done; a missing tip fails.
 */
export function tipMessages(tips: DynamoTipRecords): ReporterMessages {
  return {
    tip: async (id) => (await tips.get(id))?.tip,
    async post(tipId, message, detail) {
      try {
        await tips.addEntry(
          tipId,
          { type: 'message', id: message.id, at: message.at, from: 'handler', text: message.text },
          { actor: 'system', action: 'tip.message', entity: `tip/${tipId}`, at: message.at, detail },
        );
      } catch (err) {
        // the entry (item 1 of addEntry's transaction) is there already; a missing tip (item 0) is an error
        const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons;
        if (!(isConditionFailure(err) && reasons?.[1]?.Code === 'ConditionalCheckFailed')) throw err;
      }
    },
  };
}
