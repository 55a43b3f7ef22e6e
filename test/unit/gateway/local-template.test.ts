import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deriveSpec } from '#infra/local/template.ts';

/** Container services in the local platform's template derivation: the gateway is found by ENVWATCH_SERVICE. */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function assembly(environment: { Name: string; Value: unknown }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'envwatch-gw-template-'));
  dirs.push(dir);
  const template = {
    Resources: {
      Registry: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'registry-local' } },
      Task: {
        Type: 'AWS::ECS::TaskDefinition',
        Properties: {
          ContainerDefinitions: [
            { Name: 'Gateway', Environment: environment, PortMappings: [{ ContainerPort: 9212, Protocol: 'tcp' }] },
          ],
        },
        Metadata: { 'aws:cdk:path': 'S/Gateway/Task/Resource' },
      },
    },
  };
  writeFileSync(join(dir, 'S.template.json'), JSON.stringify(template));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } },
    }),
  );
  return dir;
}

const endpoints = { http: 'http://127.0.0.1:1', sqs: 'http://127.0.0.1:2' };

describe('deriveSpec containers', () => {
  it('derives the gateway container with its environment resolved and its port', () => {
    const spec = deriveSpec(
      assembly([
        { Name: 'ENVWATCH_SERVICE', Value: 'hj212-gateway' },
        { Name: 'REGISTRY_TABLE', Value: { Ref: 'Registry' } },
      ]),
      endpoints,
    );
    expect(spec.containers).toEqual([
      {
        id: 'S/Task/Gateway',
        containerName: 'Gateway',
        service: 'hj212-gateway',
        environment: { ENVWATCH_SERVICE: 'hj212-gateway', REGISTRY_TABLE: 'registry-local' },
        containerPort: 9212,
        path: 'S/Gateway/Task/Resource',
      },
    ]);
  });

  it('fails clearly on a container the platform cannot run', () => {
    expect(() => deriveSpec(assembly([{ Name: 'ENVWATCH_SERVICE', Value: 'something-else' }]), endpoints)).toThrow(
      /S\/Task.*container Gateway \(ENVWATCH_SERVICE=something-else\) has no local implementation/,
    );
  });
});
