/**
 * Names of the environment variables that wire functions to resources.
 * The CDK code sets them (bind helpers) and the runtime reads them (config.ts): one list for both.
 */
export const ENV = {
  stage: 'ENVWATCH_STAGE',
  serviceName: 'ENVWATCH_SERVICE',
  logLevel: 'LOG_LEVEL',
  registryTable: 'REGISTRY_TABLE',
  auditTable: 'AUDIT_TABLE',
  tipsTable: 'TIPS_TABLE',
  casesTable: 'CASES_TABLE',
  manifestsTable: 'MANIFESTS_TABLE',
  readingsTable: 'READINGS_TABLE',
  alarmsTable: 'ALARMS_TABLE',
  evidenceBucket: 'EVIDENCE_BUCKET',
  bureauTopic: 'BUREAU_TOPIC_ARN',
  regulatorTopic: 'REGULATOR_TOPIC_ARN',
  enterpriseTopic: 'ENTERPRISE_TOPIC_ARN',
  opsTopic: 'OPS_TOPIC_ARN',
  identityKey: 'IDENTITY_KEY_ARN',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
