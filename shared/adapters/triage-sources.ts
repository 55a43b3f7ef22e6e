import { type DynamoDBDocumentClient, GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Location } from '#shared/domain/registry/model.ts';
import type { AlarmLink, Tip } from '#shared/domain/tips/model.ts';
import type { TriageSources, UnitCandidate } from '#shared/domain/tips/triage.ts';
import { registryKeys } from './registry-store.ts';

/**
 * The triage link sources on DynamoDB: key lookups and index queries only, never a Scan.
 *   registry:  enterprise by key (`enterprises#<USCC>`); a township's enterprises by gsi2 `townships#<id>` with
 *              gsi2sk beginning `enterprises#` (registry-store.ts)
 *   tips:      same category + township by gsi3 `dup#<category>#<township>`, gsi3sk BETWEEN `<from day>#` and
 *              `<to day>#~`; same unit by gsi2 `unit#<USCC>`, gsi2sk >= `<since>` (tips-store.ts)
 *   alarms:    see openAlarmsQuery — the convention the alarm store (alarms-store.ts alarmIndexKeys) writes.
 * Each query reads at most MAX_ITEMS (pages followed); a township or a place with more is truncated, oldest first.
 */
const MAX_ITEMS = 500;

/**
 * ALARMS KEY CONVENTION (written by shared/adapters/alarms-store.ts alarmIndexKeys):
 *   alarm item: gsi2pk `unit#<USCC>`, gsi2sk `<state>#<raisedAt ISO>#<alarmId>` where state is `open` while the alarm
 *   is open (and e.g. `closed` afterwards, which moves it out of this query); attributes `alarmId`, `raisedAt`, and an
 *   optional short `summary`. Open alarms at a unit = gsi2 query, gsi2pk = unit, begins_with(gsi2sk, 'open#').
 */
export function openAlarmsQuery(alarmsTable: string, enterpriseId: string): QueryCommandInput {
  return {
    TableName: alarmsTable,
    IndexName: 'gsi2',
    KeyConditionExpression: 'gsi2pk = :u AND begins_with(gsi2sk, :open)',
    ExpressionAttributeValues: { ':u': `unit#${enterpriseId}`, ':open': 'open#' },
  };
}

export class DynamoTriageSources implements TriageSources {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { registry: string; tips: string; alarms: string },
  ) {}

  private async all(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.db.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start && items.length < MAX_ITEMS);
    return items.slice(0, MAX_ITEMS);
  }

  async enterprise(id: string): Promise<UnitCandidate | undefined> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.tables.registry,
        Key: { pk: registryKeys.pk('enterprises', id), sk: registryKeys.sk },
      }),
    );
    return out.Item ? toCandidate(out.Item) : undefined;
  }

  async enterprisesInTownship(townshipId: string): Promise<UnitCandidate[]> {
    const items = await this.all({
      TableName: this.tables.registry,
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :t AND begins_with(gsi2sk, :k)',
      ExpressionAttributeValues: { ':t': `townships#${townshipId}`, ':k': 'enterprises#' },
    });
    return items.map(toCandidate).filter((c): c is UnitCandidate => c !== undefined);
  }

  async openAlarms(enterpriseId: string): Promise<AlarmLink[]> {
    const items = await this.all(openAlarmsQuery(this.tables.alarms, enterpriseId));
    return items.map((i) => ({
      alarmId: String(i.alarmId),
      raisedAt: String(i.raisedAt),
      ...(typeof i.summary === 'string' ? { summary: i.summary } : {}),
    }));
  }

  async tipsByPlace(category: Tip['category'], townshipId: string, fromDay: string, toDay: string): Promise<Tip[]> {
    const items = await this.all({
      TableName: this.tables.tips,
      IndexName: 'gsi3',
      KeyConditionExpression: 'gsi3pk = :p AND gsi3sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':p': `dup#${category}#${townshipId}`, ':from': `${fromDay}#`, ':to': `${toDay}#~` },
    });
    return items.map((i) => i.tip as Tip);
  }

  async tipsByUnit(enterpriseId: string, since: string): Promise<Tip[]> {
    const items = await this.all({
      TableName: this.tables.tips,
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :u AND gsi2sk >= :since',
      ExpressionAttributeValues: { ':u': `unit#${enterpriseId}`, ':since': since },
    });
    return items.map((i) => i.tip as Tip);
  }
}

function toCandidate(item: Record<string, unknown>): UnitCandidate | undefined {
  const loc = item.location as Partial<Location> | undefined;
  if (typeof item.id !== 'string' || typeof loc?.lat !== 'number' || typeof loc.lng !== 'number') return undefined;
  return {
    id: item.id,
    name: String(item.name ?? ''),
    location: { lat: loc.lat, lng: loc.lng },
    ...(typeof item.townshipId === 'string' ? { townshipId: item.townshipId } : {}),
  };
}
