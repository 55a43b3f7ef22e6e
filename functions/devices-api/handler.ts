import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ArchiveObjects } from '#shared/adapters/archive-objects.ts';
import { DynamoArchiveStore } from '#shared/adapters/archive-store.ts';
import { IotCommandChannel } from '#shared/adapters/command-channel.ts';
import { DynamoCommandStore, registryCommandDevices } from '#shared/adapters/commands-store.ts';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoReadingStore } from '#shared/adapters/readings-store.ts';
import { DynamoRegistryReader } from '#shared/adapters/registry-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { deviceDataRoutes } from '#shared/contracts/devices.ts';
import { UNKNOWN_CHAIN } from '#shared/domain/archive/record.ts';
import { summarize } from '#shared/domain/archive/verify.ts';
import { verifyArchive } from '#shared/domain/archive/verify-archive.ts';
import type { CommandRequest } from '#shared/domain/commands/model.ts';
import { CommandService } from '#shared/domain/commands/use-cases.ts';
import { NotFoundError } from '#shared/domain/errors.ts';
import type { ReadingKind } from '#shared/domain/readings/model.ts';
import { type ApiRequest, type ApiResult, httpApi } from '#shared/http/api-handler.ts';
import type { RouteContract } from '#shared/http/contract.ts';
import { registryPlaces } from '#shared/wiring/places.ts';

/** Officials' device-data API: readings, latest values, archive verification, commands to devices. */
const config = readConfig({
  readingsTable: ENV.readingsTable,
  registryTable: ENV.registryTable,
  auditTable: ENV.auditTable,
  evidenceBucket: ENV.evidenceBucket,
});
const store = new DynamoReadingStore(dynamo, config.readingsTable);
const archiveRecords = new DynamoArchiveStore(dynamo, config.readingsTable);
const registry = new DynamoRegistryReader(dynamo, config.registryTable);
const objects = new S3ArchiveObjects(new S3Client({}), config.evidenceBucket);
const commands = new CommandService({
  devices: registryCommandDevices(registry),
  store: new DynamoCommandStore(dynamo, { readings: config.readingsTable, audit: config.auditTable }),
  channel: new IotCommandChannel(new IoTDataPlaneClient({})),
});

type Req = ApiRequest<RouteContract>;

async function requireDevice(mn: string): Promise<void> {
  if (!(await registry.get('devices', mn)))
    throw new NotFoundError(`no device with MN ${mn} (没有 MN 为 ${mn} 的监测设备)`);
}

export const handler = httpApi(
  deviceDataRoutes,
  {
    device_readings: async (req: Req): Promise<ApiResult> => {
      const { mn } = req.params as { mn: string };
      const q = req.query as {
        pollutant: string;
        kind: ReadingKind;
        from?: string;
        to?: string;
        order: 'asc' | 'desc';
        limit: number;
        cursor?: string;
      };
      await requireDevice(mn);
      const to = new Date(q.to ?? Date.now()).toISOString();
      const from = new Date(q.from ?? Date.parse(to) - 86_400_000).toISOString();
      const page = await store.query({
        mn,
        pollutant: q.pollutant,
        kind: q.kind,
        from,
        to,
        limit: q.limit,
        order: q.order,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      return { body: page };
    },
    device_latest: async (req: Req): Promise<ApiResult> => {
      const { mn } = req.params as { mn: string };
      await requireDevice(mn);
      return { body: { mn, kinds: await store.latest(mn) } };
    },
    device_archive_verify: async (req: Req): Promise<ApiResult> => {
      const { mn } = req.params as { mn: string };
      const { from, to } = req.query as { from: string; to: string };
      if (mn !== UNKNOWN_CHAIN) await requireDevice(mn);
      const report = await verifyArchive({ objects, records: archiveRecords }, mn, from, to);
      return { body: { ...report, summary: summarize(report) } };
    },
    device_command_send: async (req: Req): Promise<ApiResult> => {
      const { mn } = req.params as { mn: string };
      return { status: 201, body: await commands.request(req.principal.sub, mn, req.body as CommandRequest) };
    },
    device_commands: async (req: Req): Promise<ApiResult> => {
      const { mn } = req.params as { mn: string };
      const q = req.query as { limit: number; cursor?: string };
      await requireDevice(mn);
      return { body: await commands.list(mn, q.limit, q.cursor) };
    },
    device_command: async (req: Req): Promise<ApiResult> => {
      const { mn, qn } = req.params as { mn: string; qn: string };
      return { body: await commands.get(mn, qn) };
    },
  },
  { places: registryPlaces(registry) },
);
