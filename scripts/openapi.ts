/**
 * Writes docs/openapi.json from the route contracts: `npm run openapi`.
 * A function with an API adds its contract set to CONTRACT_SETS (and its entities to MODELS); nothing else changes.
 * test/unit/http/openapi.test.ts fails when the committed file differs from what this produces.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { alarmsRoutes } from '#shared/contracts/alarms.ts';
import { casesRoutes } from '#shared/contracts/cases.ts';
import { deviceDataRoutes } from '#shared/contracts/devices.ts';
import { evidencePublicRoutes } from '#shared/contracts/evidence.ts';
import { patrolRoutes } from '#shared/contracts/patrols.ts';
import { registryRoutes } from '#shared/contracts/registry.ts';
import { tipsIdentityRoutes, tipsOfficialRoutes, tipsPublicRoutes } from '#shared/contracts/tips.ts';
import { Device, DeviceInput, Enterprise, LimitValue, Outlet, Township } from '#shared/domain/registry/model.ts';
import type { RouteContracts } from '#shared/http/contract.ts';
import { buildOpenApi, type OpenApiDocument } from '#shared/http/openapi.ts';

/** Every API function's contracts, in the order they appear in the document. */
export const CONTRACT_SETS: RouteContracts[] = [
  registryRoutes,
  deviceDataRoutes,
  evidencePublicRoutes,
  tipsPublicRoutes,
  tipsOfficialRoutes,
  alarmsRoutes,
  casesRoutes,
  patrolRoutes,
  tipsIdentityRoutes,
];

/** Schemas published as named components. */
export const MODELS = { Township, Enterprise, Outlet, LimitValue, Device, DeviceInput };

export const OPENAPI_PATH = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export function openApiDocument(): OpenApiDocument {
  return buildOpenApi(
    CONTRACT_SETS,
    {
      title: 'EnvWatch 环境污染问题发现平台 API',
      version: pkg.version,
      description:
        '庆元县生态环境分局 EnvWatch 平台接口。错误按 RFC 9457 返回 application/problem+json；使用说明见 docs/api.md。\n\n' +
        'EnvWatch API for the Qingyuan county ecology-environment bureau. Errors are RFC 9457 problem details; see docs/api.md.',
    },
    {
      servers: [
        { url: 'http://127.0.0.1:4510', description: '本地平台 local platform (`npm start`)' },
        {
          url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
          description:
            '云端 cloud: the `ApiUrl` output of stack EnvWatch-<stage>-Api (amazonaws.com.cn in China regions)',
          variables: {
            apiId: { default: 'abcde12345', description: 'HTTP API id' },
            region: { default: 'cn-northwest-1', description: 'AWS region' },
          },
        },
      ],
      models: MODELS,
    },
  );
}

/** The file's exact text: two-space JSON and a final newline. */
export const renderOpenApi = (doc: OpenApiDocument = openApiDocument()): string => `${JSON.stringify(doc, null, 2)}\n`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  process.stderr.write(`wrote ${OPENAPI_PATH}\n`);
}
