/**
 * Every price the cost model uses, in one table (docs/cost.md). One row per charge: the unit it is priced in, the
 * global price (US East, N. Virginia, USD) and the China-region price (cn-north-1 Beijing / cn-northwest-1 Ningxia,
 * CNY), each with its source and the date it was taken. Change a price here and re-run `npm run bench -- cost`.
 *
 * `checked` says how the figure was taken:
 *   'page'      read on the AWS price page (or a copy of it) on `asOf`
 *   'published' the figure AWS publishes for that charge, as the author knew it on `asOf`, not re-read that day:
 *               check it against `source` before relying on it
 *   'operator'  China-region figures: the bureau's operator enters the prices of its own account (www.amazonaws.cn
 *               pages and its agreement with the China-region operator, 光环新网 Sinnet or 西云数据 NWCD); the values here
 *               are placeholders of the right order, not confirmed
 * Free tiers and volume discounts are left out: the model prices every unit at the first (highest) tier.
 */
export type Checked = 'page' | 'published' | 'operator';

export interface Price {
  price: number;
  currency: 'USD' | 'CNY';
  source: string;
  asOf: string;
  checked: Checked;
}

export interface PriceRow {
  /** what is charged */
  what: string;
  /** the unit `price` is for */
  unit: string;
  global: Price;
  china: Price;
}

const AS_OF = '2026-12-06';
const usd = (price: number, source: string, checked: Checked = 'published'): Price => ({
  price,
  currency: 'USD',
  source,
  asOf: AS_OF,
  checked,
});
const cny = (price: number, source: string): Price => ({
  price,
  currency: 'CNY',
  source,
  asOf: AS_OF,
  checked: 'operator',
});

const IOT = 'https://aws.amazon.com/iot-core/pricing/';
const IOT_CN = 'https://www.amazonaws.cn/en/iot-core/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const LAMBDA_CN = 'https://www.amazonaws.cn/en/lambda/pricing/';
const DDB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const DDB_CN = 'https://www.amazonaws.cn/en/dynamodb/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const S3_CN = 'https://www.amazonaws.cn/en/s3/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';
const KMS_CN = 'https://www.amazonaws.cn/en/kms/pricing/';
const FARGATE = 'https://aws.amazon.com/fargate/pricing/';
const FARGATE_CN = 'https://www.amazonaws.cn/en/fargate/pricing/';
const ELB = 'https://aws.amazon.com/elasticloadbalancing/pricing/';
const ELB_CN = 'https://www.amazonaws.cn/en/elasticloadbalancing/pricing/';
const SNS = 'https://aws.amazon.com/sns/pricing/';
const SMS = 'https://aws.amazon.com/end-user-messaging/pricing/';
const LOGS = 'https://aws.amazon.com/cloudwatch/pricing/';
const LOGS_CN = 'https://www.amazonaws.cn/en/cloudwatch/pricing/';

export const PRICES = {
  iotMessage: {
    what: 'IoT Core messaging (MQTT publish from a device, per 5 KB)',
    unit: 'million messages',
    global: usd(1.0, IOT),
    china: cny(8.1, IOT_CN),
  },
  iotConnectivity: {
    what: 'IoT Core connectivity (an MQTT device connected)',
    unit: 'million connection-minutes',
    global: usd(0.08, IOT),
    china: cny(0.65, IOT_CN),
  },
  iotRule: {
    what: 'IoT Core rules triggered (per 5 KB processed)',
    unit: 'million rules',
    global: usd(0.15, IOT),
    china: cny(1.22, IOT_CN),
  },
  iotAction: {
    what: 'IoT Core rule actions executed',
    unit: 'million actions',
    global: usd(0.15, IOT),
    china: cny(1.22, IOT_CN),
  },
  lambdaRequest: {
    what: 'Lambda requests',
    unit: 'million requests',
    global: usd(0.2, LAMBDA, 'page'),
    china: cny(1.36, LAMBDA_CN),
  },
  lambdaArmGbSecond: {
    what: 'Lambda duration, Arm (arm64)',
    unit: 'GB-second',
    global: usd(0.0000133334, LAMBDA, 'page'),
    china: cny(0.00009078, LAMBDA_CN),
  },
  dynamoWrite: {
    what: 'DynamoDB on-demand write request units (1 KB; 2 per KB in a transaction)',
    unit: 'million WRU',
    global: usd(0.625, DDB, 'page'),
    china: cny(5.51, DDB_CN),
  },
  dynamoRead: {
    what: 'DynamoDB on-demand read request units (4 KB strongly consistent; ½ eventually consistent)',
    unit: 'million RRU',
    global: usd(0.125, DDB, 'page'),
    china: cny(1.1, DDB_CN),
  },
  dynamoStorage: {
    what: 'DynamoDB storage (Standard table class)',
    unit: 'GB-month',
    global: usd(0.25, DDB),
    china: cny(2.03, DDB_CN),
  },
  s3Put: {
    what: 'S3 Standard PUT, COPY, POST, LIST requests',
    unit: 'thousand requests',
    global: usd(0.005, S3),
    china: cny(0.00405, S3_CN),
  },
  s3Get: {
    what: 'S3 Standard GET, SELECT and other requests',
    unit: 'thousand requests',
    global: usd(0.0004, S3),
    china: cny(0.00135, S3_CN),
  },
  s3Storage: {
    what: 'S3 Standard storage (first 50 TB)',
    unit: 'GB-month',
    global: usd(0.023, S3),
    china: cny(0.1755, S3_CN),
  },
  kmsRequest: {
    what: 'KMS requests (symmetric)',
    unit: '10 thousand requests',
    global: usd(0.03, KMS),
    china: cny(0.2, KMS_CN),
  },
  fargateArmVcpu: {
    what: 'Fargate Linux/ARM vCPU',
    unit: 'vCPU-hour',
    global: usd(0.03238, FARGATE, 'page'),
    china: cny(0.2554, FARGATE_CN),
  },
  fargateArmGb: {
    what: 'Fargate Linux/ARM memory',
    unit: 'GB-hour',
    global: usd(0.00356, FARGATE, 'page'),
    china: cny(0.0281, FARGATE_CN),
  },
  nlbHour: {
    what: 'Network Load Balancer',
    unit: 'hour',
    global: usd(0.0225, ELB),
    china: cny(0.156, ELB_CN),
  },
  nlbLcu: {
    what: 'Network Load Balancer capacity units (TCP: 800 new flows/s, 100,000 active flows, 1 GB/h)',
    unit: 'NLCU-hour',
    global: usd(0.006, ELB),
    china: cny(0.042, ELB_CN),
  },
  snsPublish: {
    what: 'SNS publishes to the audience topics (per 64 KB)',
    unit: 'million publishes',
    global: usd(0.5, SNS),
    china: cny(3.66, 'https://www.amazonaws.cn/en/sns/pricing/'),
  },
  sms: {
    what: 'SMS to a mainland China number (global: SNS / End User Messaging; China regions: the domestic provider)',
    unit: 'message part',
    global: usd(0.0278, SMS),
    china: cny(0.045, 'the domestic SMS provider contract (China regions have no SNS SMS; docs/alarm-notification.md)'),
  },
  logsIngest: {
    what: 'CloudWatch Logs ingestion (standard)',
    unit: 'GB',
    global: usd(0.5, LOGS),
    china: cny(3.5, LOGS_CN),
  },
} as const satisfies Record<string, PriceRow>;

export type PriceId = keyof typeof PRICES;

/** Price of `quantity` units of the row's own unit (million, thousand, … are folded in). */
export function unitScale(unit: string): number {
  if (unit.startsWith('million')) return 1_000_000;
  if (unit.startsWith('10 thousand')) return 10_000;
  if (unit.startsWith('thousand')) return 1_000;
  return 1;
}

/** The price of one item of the row (one request, one message, one WRU, one GB-second …). */
export function perItem(id: PriceId, region: 'global' | 'china'): number {
  const row: PriceRow = PRICES[id];
  return row[region].price / unitScale(row.unit);
}
