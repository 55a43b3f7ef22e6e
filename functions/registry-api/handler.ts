import { dynamo } from '#shared/adapters/dynamodb.ts';
import { DynamoRegistryStore } from '#shared/adapters/registry-store.ts';
import { readConfig } from '#shared/config/config.ts';
import { ENV } from '#shared/config/env-names.ts';
import { PARENT_FILTERS, registryRoutes } from '#shared/contracts/registry.ts';
import type { RegistryKind } from '#shared/domain/registry/store.ts';
import type { RegistryEntity } from '#shared/domain/registry/use-cases.ts';
import { RegistryService } from '#shared/domain/registry/use-cases.ts';
import { type ApiRequest, type ApiResult, httpApi } from '#shared/http/api-handler.ts';
import type { RouteContract } from '#shared/http/contract.ts';
import { etag, ifMatch } from '#shared/http/versioning.ts';
import { registryPlaces } from '#shared/wiring/places.ts';

const config = readConfig({ registryTable: ENV.registryTable, auditTable: ENV.auditTable });
const store = new DynamoRegistryStore(dynamo, config.registryTable, config.auditTable);
const registry = new RegistryService(store);

type Req = ApiRequest<RouteContract>;

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
      const created = await registry.create(kind, req.body as RegistryEntity, { sub: req.principal?.sub ?? 'unknown' });
      return { status: 201, body: created, headers: etag(created.version) };
    },
    [`replace_${kind}`]: async (req: Req): Promise<ApiResult> => {
      const { id } = req.params as { id: string };
      const replaced = await registry.replace(kind, id, req.body as RegistryEntity, ifMatch(req.headers), {
        sub: req.principal?.sub ?? 'unknown',
      });
      return { body: replaced, headers: etag(replaced.version) };
    },
  };
}

const kinds: RegistryKind[] = ['townships', 'enterprises', 'outlets', 'devices'];

export const handler = httpApi(registryRoutes, Object.assign({}, ...kinds.map(implementationsFor)), {
  places: registryPlaces(store),
});
