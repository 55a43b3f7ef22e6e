/**
 * Names of the environment variables that wire functions to resources.
 * The CDK code sets them (bind helpers) and the runtime reads them (config.ts): one list for both.
 */
export const ENV = {
  stage: 'ENVWATCH_STAGE',
  /** the function's folder name (or `hj212-gateway`): the bench and the local platform find a resource by it */
  serviceName: 'ENVWATCH_SERVICE',
  /** the same name for Powertools (log lines' `service`, the metrics' `service` dimension, the X-Ray annotation) */
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  /** `false` turns the Powertools Tracer off (the local platform has no X-Ray daemon); on in Lambda by default */
  traceEnabled: 'POWERTOOLS_TRACE_ENABLED',
  /** `false`: handler responses never become X-Ray metadata (they can hold a receipt or an identity) */
  tracerCaptureResponse: 'POWERTOOLS_TRACER_CAPTURE_RESPONSE',
  /** debug | info | warn | error */
  logLevel: 'LOG_LEVEL',
  registryTable: 'REGISTRY_TABLE',
  auditTable: 'AUDIT_TABLE',
  tipsTable: 'TIPS_TABLE',
  /** sealed reporter identities (tips); only the tips functions get it */
  identityTable: 'IDENTITY_TABLE',
  casesTable: 'CASES_TABLE',
  /** the reward-approval and judicial-transfer state machines (the cases API starts them and answers their tasks) */
  rewardStateMachine: 'REWARD_STATE_MACHINE_ARN',
  transferStateMachine: 'TRANSFER_STATE_MACHINE_ARN',
  manifestsTable: 'MANIFESTS_TABLE',
  readingsTable: 'READINGS_TABLE',
  alarmsTable: 'ALARMS_TABLE',
  evidenceBucket: 'EVIDENCE_BUCKET',
  /** temporary citizen uploads (presigned PUT), expired after 2 days */
  evidenceUploadsBucket: 'EVIDENCE_UPLOADS_BUCKET',
  bureauTopic: 'BUREAU_TOPIC_ARN',
  regulatorTopic: 'REGULATOR_TOPIC_ARN',
  enterpriseTopic: 'ENTERPRISE_TOPIC_ARN',
  opsTopic: 'OPS_TOPIC_ARN',
  identityKey: 'IDENTITY_KEY_ARN',
  /** the KMS key that seals HJ 212-2025 devices' SM4 keys (registry device-keys.ts) */
  deviceKeysKey: 'DEVICE_KEYS_KEY_ARN',
  realtimeRetentionDays: 'READINGS_REALTIME_RETENTION_DAYS',
  /** days an archive record stays in the readings table after receipt (sealed to the bucket hourly long before) */
  archiveTailDays: 'ARCHIVE_TAIL_DAYS',
  /** minutes after the end of an hour before the sealing job seals its records */
  archiveSealGraceMinutes: 'ARCHIVE_SEAL_GRACE_MINUTES',
  /** minutes after the end of a readings period before the roll-up writes its blocks (shared/domain/readings/roll-up.ts) */
  readingsRollUpGraceMinutes: 'READINGS_ROLL_UP_GRACE_MINUTES',
  minuteRetentionDays: 'READINGS_MINUTE_RETENTION_DAYS',
  registryCacheSeconds: 'REGISTRY_CACHE_SECONDS',
  /** a device whose frames its registry record did not open either: not read again for this long */
  registryFreshReadSeconds: 'REGISTRY_FRESH_READ_SECONDS',
  /** alarm rules (the versioned RuleSet) cached per container for this long */
  alarmRulesCacheSeconds: 'ALARM_RULES_CACHE_SECONDS',
  /** SMS for alarms: `sns` (SNS direct SMS; not in AWS China regions) or `http` (a domestic SMS provider) */
  smsGateway: 'SMS_GATEWAY',
  /** http SMS provider: endpoint URL (https; http only for localhost) */
  smsHttpUrl: 'SMS_HTTP_URL',
  /** http SMS provider: HMAC signing secret, ≥ 16 characters (from Secrets Manager at deploy time) */
  smsHttpSecret: 'SMS_HTTP_SECRET',
  /** http SMS provider: request timeout in ms (optional, default 5000) */
  smsHttpTimeoutMs: 'SMS_HTTP_TIMEOUT_MS',
  /** SNS SMS sender id (optional) */
  smsSenderId: 'SMS_SENDER_ID',
  /** the IoT policy every MQTT device certificate gets (device onboarding, registry API) */
  iotDevicePolicy: 'IOT_DEVICE_POLICY',
  /** HJ 212 gateway: full Basic Ingest topic prefix `$aws/rules/<ruleName>/envwatch/gateway` */
  gatewayIngestTopic: 'GATEWAY_INGEST_TOPIC',
  /** HJ 212 gateway: TCP port it listens on */
  gatewayPort: 'GATEWAY_PORT',
  /** HJ 212 gateway: idle timeout in seconds (optional) */
  gatewayIdleTimeoutSeconds: 'GATEWAY_IDLE_TIMEOUT_SECONDS',
  /** HJ 212 gateway: maximum open connections (optional) */
  gatewayMaxConnections: 'GATEWAY_MAX_CONNECTIONS',
  /** dead-letter redrive: the two dead-letter queues it empties and the queue it parks poison messages on */
  ingestDeadLetterQueue: 'INGEST_DEAD_LETTER_QUEUE_URL',
  alarmsDeadLetterQueue: 'ALARMS_DEAD_LETTER_QUEUE_URL',
  parkedQueue: 'PARKED_QUEUE_URL',
  /** dead-letter redrive: comma-separated MQTT filters of the topics it may publish to (its IAM grant is the same list) */
  redriveReplayTopics: 'REDRIVE_REPLAY_TOPICS',
  /** dead-letter redrive policy (optional; defaults in shared/domain/redrive/model.ts) */
  redriveCapPerRun: 'REDRIVE_CAP_PER_RUN',
  redriveMaxReplays: 'REDRIVE_MAX_REPLAYS',
  redriveBackoffMaxMinutes: 'REDRIVE_BACKOFF_MAX_MINUTES',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
