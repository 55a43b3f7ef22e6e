import { IoTClient } from '@aws-sdk/client-iot';
import * as z from 'zod';
import { dynamo } from '#shared/adapters/dynamodb.ts';
import { IotCoreControlPlane } from '#shared/adapters/iot-control-plane.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { envVar, readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import {
  type deviceIdentityRoutes,
  type loggerRoutes,
  PARENT_FILTERS,
  registryRoutes,
} from '#shared/contracts/registry.ts';
import { ConflictError } from '#shared/domain/errors.ts';
import { DEFAULT_KEY_SETTINGS, ringView } from '#shared/domain/registry/device-keys.ts';
import type { KeyLifecycle } from '#shared/domain/registry/key-lifecycle.ts';
import { LoggerRegistry } from '#shared/domain/registry/loggers.ts';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import { DeviceOnboarding } from '#shared/domain/registry/onboarding.ts';
import type { RegistryKind, Versioned } from '#shared/domain/registry/store.ts';
import type { RegistryEntity } from '#shared/domain/registry/use-cases.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { type ApiRequest, type ApiResult, httpApi } from '#shared/http/api-handler.ts';
import type { RouteContract } from '#shared/http/contract.ts';
import { etag, ifMatch } from '#shared/http/versioning.ts';
import { keyPushServices } from '#shared/wiring/device-keys.ts';
import { registryPlaces } from '#shared/wiring/places.ts';

const config = readConfig({
  registryTable: ENV.registryTable,
  auditTable: ENV.auditTable,
  devicePolicy: ENV.iotDevicePolicy,
  deviceKeysKey: envVar(ENV.deviceKeysKey, z.string().min(1).optional()),
  readingsTable: envVar(ENV.readingsTable, z.string().min(1).optional()),
});
const store = new DynamoRegistryStore(dynamo, config.registryTable, config.auditTable);
const onboarding = new DeviceOnboarding(store, new IotCoreControlPlane(new IoTClient({})), config.devicePolicy);
// an administrator's rotation is pushed at once through the device-command path (commands on the readings table)
const pushes =
  config.deviceKeysKey && config.readingsTable
    ? keyPushServices(store, { readings: config.readingsTable, audit: config.auditTable }, config.deviceKeysKey)
    : undefined;
const keys = pushes?.lifecycle;
const loggers = new LoggerRegistry(store);
const registry = new RegistryService(store, undefined, undefined, onboarding, keys);
const requireKeys = (): KeyLifecycle => {
  if (!keys) throw new ConflictError('device keys are not configured here (本环境未配置设备密钥)');
  return keys;
};

type Req = ApiRequest<RouteContract>;
type DeviceRoute = typeof deviceIdentityRoutes;
type LoggerRoute = typeof loggerRoutes;
const principal = (req: Req) => ({ sub: req.principal?.sub ?? 'unknown' });
/** A device answer never carries the password hash nor sealed keys (only their states). */
const shown = ({ item: { passwordHash: _h, sm4, ...item }, ...v }: Versioned<StoredDevice>) => {
  const keyStates = ringView(sm4, DEFAULT_KEY_SETTINGS);
  return { ...v, item: keyStates ? { ...item, sm4: keyStates } : item };
};

function implementationsFor(kind: RegistryKind) {
  const filter = PARENT_FILTERS[kind];
  return {
    [`list_${kind}`]: async (req: Req): Promise<ApiResult> => {
      const q = req.query as { limit: number; cursor?: string } & Record<string, string | undefined>;
      const parentId = filter ? q[filter.query] : undefined;
      const parent = filter && parentId ? { kind: filter.parent, id: parentId } : undefined;
      return {
        body: await registry.list(kind, {
          limit: q.limit,
          ...(q.cursor ? { cursor: q.cursor } : {}),
          ...(parent ? { parent } : {}),
        }),
      };
    },
    [`get_${kind}`]: async (req: Req): Promise<ApiResult> => {
      const found = await registry.get(kind, (req.params as { id: string }).id);
      return { body: found, headers: etag(found.version) };
    },
    [`create_${kind}`]: async (req: Req): Promise<ApiResult> => {
      const created = await registry.create(kind, req.body as RegistryEntity, principal(req));
      return { status: 201, body: created, headers: etag(created.version) };
    },
    [`replace_${kind}`]: async (req: Req): Promise<ApiResult> => {
      const { id } = req.params as { id: string };
      const replaced = await registry.replace(
        kind,
        id,
        req.body as RegistryEntity,
        ifMatch(req.headers),
        principal(req),
      );
      return { body: replaced, headers: etag(replaced.version) };
    },
  };
}

const kinds: RegistryKind[] = ['townships', 'enterprises', 'outlets', 'devices'];

export const handler = httpApi(
  registryRoutes,
  {
    ...Object.assign({}, ...kinds.map(implementationsFor)),
    issue_device_certificate: async (req: Req): Promise<ApiResult> => {
      const { params, body } = req as unknown as ApiRequest<DeviceRoute['issue_device_certificate']>;
      const { device, certificate } = await onboarding.issue(params.id, body, principal(req));
      return { status: 201, body: { ...shown(device), certificate }, headers: etag(device.version) };
    },
    decommission_device: async (req: Req): Promise<ApiResult> => {
      const { params } = req as unknown as ApiRequest<DeviceRoute['decommission_device']>;
      const device = await onboarding.decommission(params.id, principal(req));
      return { body: shown(device), headers: etag(device.version) };
    },
    enroll_device_key: async (req: Req): Promise<ApiResult> => {
      const { params, body } = req as unknown as ApiRequest<DeviceRoute['enroll_device_key']>;
      await requireKeys().enroll(params.id, body.sm4Key, principal(req));
      const device = await registry.get('devices', params.id);
      return { body: device, headers: etag(device.version) };
    },
    rotate_device_key: async (req: Req): Promise<ApiResult> => {
      const { params } = req as unknown as ApiRequest<DeviceRoute['rotate_device_key']>;
      if (!pushes) throw new ConflictError('device keys are not configured here (本环境未配置设备密钥)');
      await requireKeys().rotate(params.id, principal(req), pushes.commands);
      const device = await registry.get('devices', params.id);
      return { body: device, headers: etag(device.version) };
    },
    list_pending_loggers: async (req: Req): Promise<ApiResult> => {
      const { query } = req as unknown as ApiRequest<LoggerRoute['list_pending_loggers']>;
      return { body: await loggers.list(query.limit, query.cursor) };
    },
    assign_logger_mn: async (req: Req): Promise<ApiResult> => {
      const { params, body } = req as unknown as ApiRequest<LoggerRoute['assign_logger_mn']>;
      // CN 1002 is a device command: it needs the command path (configured with the device keys)
      if (!pushes) throw new ConflictError('device commands are not configured here (本环境未配置设备命令)');
      const assigned = await loggers.assign(params.address, body, principal(req), pushes.commands);
      return { status: 201, body: assigned };
    },
  },
  { places: registryPlaces(store) },
);
