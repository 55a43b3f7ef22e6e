import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DeviceCommand } from '#shared/domain/commands/model.ts';
import type { AuditEntry, CommandDevices, CommandStore, Page } from '#shared/domain/commands/ports.ts';
import { type Device, transportOf } from '#shared/domain/registry/model.ts';
import { encodeCursor, isConditionFailure, startKeyOf } from './dynamodb.ts';
import { auditPut } from './registry-store.ts';

/**
 * Device commands as an item family in the READINGS table (the device-data API and ingest, the two functions that
 * write and read commands, already hold it): pk `cmd#<mn>`, sk `<qn>` (QNs are Beijing-time milliseconds, so the
 * partition reads newest first backwards). No other partition of that table (`r#…` readings, `d#…` device state and
 * chain heads) starts with `cmd#`.
 * A new command is written with its audit entry in one transaction; answers replace it on the condition that it still
 * has the state and answer count it was read with (two answers racing: one retries).
 */
export const commandKey = (mn: string, qn: string) => ({ pk: `cmd#${mn}`, sk: qn });

export class DynamoCommandStore implements CommandStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { readings: string; audit?: string },
  ) {}

  async create(command: DeviceCommand, audit: AuditEntry): Promise<boolean> {
    const put = {
      TableName: this.tables.readings,
      Item: { ...commandKey(command.mn, command.qn), command },
      ConditionExpression: 'attribute_not_exists(pk)',
    };
    try {
      if (this.tables.audit === undefined) throw new Error('the command store has no audit table to write to');
      await this.db.send(
        new TransactWriteCommand({ TransactItems: [{ Put: put }, auditPut(this.tables.audit, audit)] }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async get(mn: string, qn: string): Promise<DeviceCommand | undefined> {
    const out = await this.db.send(
      new GetCommand({ TableName: this.tables.readings, Key: commandKey(mn, qn), ConsistentRead: true }),
    );
    return (out.Item?.command as DeviceCommand | undefined) ?? undefined;
  }

  async update(command: DeviceCommand, before: Pick<DeviceCommand, 'state' | 'answers'>): Promise<boolean> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tables.readings,
          Item: { ...commandKey(command.mn, command.qn), command },
          ConditionExpression: '#c.#s = :s AND size(#c.#a) = :n',
          ExpressionAttributeNames: { '#c': 'command', '#s': 'state', '#a': 'answers' },
          ExpressionAttributeValues: { ':s': before.state, ':n': before.answers.length },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async list(mn: string, limit: number, cursor?: string): Promise<Page<DeviceCommand>> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.readings,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': `cmd#${mn}` },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: startKeyOf(cursor),
      }),
    );
    const next = encodeCursor(out.LastEvaluatedKey);
    return {
      items: (out.Items ?? []).map((i) => i.command as DeviceCommand),
      ...(next ? { cursor: next } : {}),
    };
  }
}

/** The registry's devices as the command capability needs them (transport filled in as the registry defaults it). */
export function registryCommandDevices(registry: {
  get<T>(kind: 'devices', id: string): Promise<{ item: T } | undefined>;
}): CommandDevices {
  return {
    async device(mn) {
      const found = await registry.get<Device>('devices', mn);
      if (!found) return undefined;
      const d = found.item;
      const seen = d.protocolSeen?.version;
      return {
        mn: d.mn,
        st: d.st,
        protocol: d.protocol,
        transport: transportOf(d),
        status: d.status,
        // the version the device last used (the gateway records it), which commands follow
        ...(seen === '2005' || seen === '2017' || seen === '2025' ? { version: seen } : {}),
      };
    },
  };
}
