import { Construct } from 'constructs';
import { ENV } from '#shared/config/env-names.ts';
import { casesRoutes } from '#shared/contracts/cases.ts';
import type { CaseWorkflows } from './case-workflows.ts';
import { EnvWatchFunction } from './envwatch-function.ts';
import type { EnvWatchHttpApi } from './http-api.ts';
import type { DataTable } from './tables.ts';

/**
 * The officials' cases API: open cases from tips, alarms, clues and patrol findings; team, evidence, decisions; the
 * workflow tasks waiting for the caller's roles (acting on one answers its Step Functions task token); deadlines.
 * It starts the reward and transfer state machines and may answer their tasks, nothing else.
 */
export interface CasesApiProps {
  api: EnvWatchHttpApi;
  casesTable: DataTable;
  auditTable: DataTable;
  tipsTable: DataTable;
  alarmsTable: DataTable;
  registryTable: DataTable;
  workflows: CaseWorkflows;
  stage: string;
  logRetentionDays: number;
}

export class CasesApi extends Construct {
  public readonly apiFunction: EnvWatchFunction;

  constructor(scope: Construct, id: string, props: CasesApiProps) {
    super(scope, id);
    this.apiFunction = new EnvWatchFunction(this, 'Api', {
      name: 'cases-api',
      stage: props.stage,
      logRetentionDays: props.logRetentionDays,
      description: 'EnvWatch cases API: cases, decisions, workflow tasks and deadlines',
    })
      .bindTable(props.casesTable, ENV.casesTable, 'readwrite')
      .bindTable(props.auditTable, ENV.auditTable, 'append')
      .bindTable(props.tipsTable, ENV.tipsTable, 'readwrite')
      .bindTable(props.alarmsTable, ENV.alarmsTable, 'read')
      .bindTable(props.registryTable, ENV.registryTable, 'read');
    // the state machines' ARNs, StartExecution and the task responses (SendTaskSuccess/Failure/Heartbeat)
    props.workflows.bindApi(this.apiFunction);
    props.api.addContracts('Cases', casesRoutes, this.apiFunction.fn);
  }
}
