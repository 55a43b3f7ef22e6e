import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { registryRoutes } from '#shared/contracts/registry.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import type { EnvWatchHttpApi } from './http-api.ts';
import type { DataTable } from './tables.ts';

/** The registry capability: its API function and routes. */
export interface RegistryProps {
  api: EnvWatchHttpApi;
  registryTable: DataTable;
  auditTable: DataTable;
  stage: string;
  logRetentionDays: number;
}

export class Registry extends Construct {
  public readonly apiFunction: EnvWatchFunction;

  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    this.apiFunction = new EnvWatchFunction(this, 'Api', {
      name: 'registry-api',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      description: 'EnvWatch registry API: townships, enterprises, outlets, devices',
    })
      .bindTable(props.registryTable, ENV.registryTable, 'readwrite')
      .bindTable(props.auditTable, ENV.auditTable, 'append');
    props.api.addContracts('Registry', registryRoutes, this.apiFunction.fn);
  }
}
