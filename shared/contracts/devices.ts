import * as z from 'zod';
import { COMMAND_STATES, CommandRequest } from '#shared/domain/commands/model.ts';
import { READING_KINDS, READING_SUBJECTS } from '#shared/domain/readings/model.ts';
import { REGISTRY_READERS, type Role } from '#shared/domain/roles.ts';
import { defineRoutes } from '#shared/http/contract.ts';
import { PLACES } from './places.ts';

/**
 * Device data for officials: readings of one device by pollutant, kind and time range; its latest values per kind;
 * verification of its sealed raw archive; commands to the device and its answers. Any official role may read; the
 * DEVICE_COMMANDERS may send commands.
 */
export const DEVICE_DATA_READERS = REGISTRY_READERS;

/** Who may send commands to devices (calibrate, retain a sample, start a check): docs/decisions.md. */
export const DEVICE_COMMANDERS = [
  'admin',
  'duty_officer',
  'section_chief',
  'inspector',
] as const satisfies readonly Role[];

const mn = z
  .string()
  .regex(
    /^[0-9A-Za-z_]{1,24}$/,
    'MN: up to 24 letters or digits; `_unknown` for the unknown-device archive (MN 为 1 至 24 位字母或数字；未登记设备的存档用 _unknown)',
  );
const params = z.strictObject({ mn });
const instant = z.iso.datetime({ offset: true });
const date = z.iso.date();

const Values = z
  .record(z.string(), z.number())
  .describe(
    'rtd avg min max cou zsRtd zsAvg zsMin zsMax (pollutants, electricity meters, conditions), rs rt (facility), info (i-codes), sampleRd standardValue result (kind check: CN 2062 standard-sample checks, result 1 pass / 0 fail)',
  );
const NotComputable = z
  .array(z.string())
  .describe(
    '不可计算: value keys (e.g. zsAvg) the device sent as +9999.99 (HJ 212-2025 §8.1.1 d, a converted value it could not compute); absent from `values`, never judged against a limit',
  );

export const ReadingOut = z.object({
  mn: z.string(),
  enterpriseId: z.string(),
  outletId: z.string(),
  pollutant: z
    .string()
    .describe('HJ 212-2017 code, SBx for a facility, i33xxx for info, d2xxxx/d3xxxx electricity, pxxxxx condition'),
  subject: z
    .enum(READING_SUBJECTS)
    .describe('pollutant, facility (SBx), info (i-codes), power (ST=44 electricity), condition (ST=45)'),
  kind: z.enum(READING_KINDS),
  dataTime: z.iso.datetime(),
  values: Values,
  flag: z.string().optional(),
  eflag: z.string().optional(),
  sentCode: z.string().optional(),
  sampleTime: z.string().optional(),
  notComputable: NotComputable.optional(),
  resent: z.boolean().optional().describe('HJ 212-2025 RF=1: the packet was re-sent (补传)'),
  source: z.string(),
  receivedAt: z.iso.datetime(),
});

export const KindStateOut = z.object({
  kind: z.enum(READING_KINDS),
  lastDataTime: z.iso.datetime(),
  lastReceivedAt: z.iso.datetime(),
  values: z.record(
    z.string(),
    z.object({
      values: Values,
      flag: z.string().optional(),
      subject: z.enum(READING_SUBJECTS),
      notComputable: NotComputable.optional(),
    }),
  ),
});

export const VerifyReportOut = z.object({
  chain: z.string(),
  from: z.string(),
  to: z.string(),
  ok: z.boolean(),
  records: z.number().int(),
  /** of `records`: read from sealed objects in the evidence bucket, and from the unsealed tail in the readings table */
  sealed: z.number().int().optional(),
  tail: z.number().int().optional(),
  firstSeq: z.number().int().optional(),
  lastSeq: z.number().int().optional(),
  head: z.object({ seq: z.number().int(), lastDate: z.string() }).optional(),
  breaks: z.array(
    z.object({
      kind: z.enum(['changed', 'deleted', 'inserted']),
      seq: z.number().int(),
      toSeq: z.number().int().optional(),
      key: z.string().optional(),
      message: z.string(),
    }),
  ),
  summary: z.string(),
});

/** A command as officials see it (a function: each route gets its own schema, as the OpenAPI converter wants). */
export const commandOut = () =>
  z.object({
    mn: z.string(),
    qn: z.string().describe('the request’s QN, echoed by the device’s 9011 / 9012'),
    st: z.string(),
    cn: z.string(),
    flag: z.number().int(),
    cp: z.string().describe('CP as sent (a pushed key is shown redacted)'),
    route: z.enum(['tcp', 'mqtt']),
    status: z.enum(COMMAND_STATES),
    requestedBy: z.string(),
    requestedAt: z.iso.datetime(),
    answerBy: z.iso.datetime(),
    executeBy: z.iso.datetime(),
    answers: z.array(z.object({ cn: z.enum(['9011', '9012']), code: z.number().int(), at: z.iso.datetime() })),
    reason: z.string().optional(),
  });

const tags = ['devices'];

export const deviceDataRoutes = defineRoutes({
  device_readings: {
    method: 'GET',
    scope: { kind: 'entity', param: 'mn', place: PLACES.device },
    path: '/devices/{mn}/readings',
    auth: DEVICE_DATA_READERS,
    tags,
    summary: '查询设备监测数据 readings of a device by pollutant, kind and time',
    description:
      'One series: `pollutant` (HJ 212-2017 code; old 2005 codes are stored under the new code) and `kind` ' +
      '(realtime 2011, minute 2051, hour 2061, day 2031). `from`/`to` are ISO instants (default: the last 24 hours), ' +
      'inclusive, compared with DataTime (the start of the period for minute/hour/day data). Pages with `cursor`.',
    params,
    query: z
      .strictObject({
        pollutant: z.string().regex(/^[A-Za-z0-9]{1,12}$/, 'a pollutant code, e.g. w01018 (污染物代码，如 w01018)'),
        kind: z.enum(READING_KINDS).default('hour'),
        from: instant.optional(),
        to: instant.optional(),
        order: z.enum(['asc', 'desc']).default('asc'),
        limit: z.coerce.number().int().min(1).max(500).default(100),
        cursor: z.string().max(2048).optional(),
      })
      .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
        message: 'from must not be after to (开始时间不能晚于结束时间)',
        path: ['from'],
      }),
    response: z.object({ items: z.array(ReadingOut), cursor: z.string().optional() }),
  },
  device_latest: {
    method: 'GET',
    scope: { kind: 'entity', param: 'mn', place: PLACES.device },
    path: '/devices/{mn}/latest',
    auth: DEVICE_DATA_READERS,
    tags,
    summary: '设备最新数据 latest values and last-seen time of a device, per kind',
    params,
    response: z.object({ mn: z.string(), kinds: z.array(KindStateOut) }),
  },
  device_archive_verify: {
    method: 'GET',
    scope: { kind: 'entity', param: 'mn', place: PLACES.device },
    path: '/devices/{mn}/archive/verify',
    auth: DEVICE_DATA_READERS,
    tags,
    summary: '校验原始报文存证链 verify the sealed raw archive of a device',
    description:
      'Recomputes every record hash of the device’s hash chain for the Beijing dates `from`..`to` (at most 31 days), ' +
      'checks seq continuity and links across the hourly sealed batches in the evidence bucket and the records not yet ' +
      'sealed (a record in both must be identical), checks the chain passes through its newest record, its seal mark ' +
      'and the head of before hourly sealing, and reports exactly where the chain breaks. ' +
      'Use `_unknown` as MN for messages from unregistered devices and garbage.',
    params,
    query: z
      .strictObject({ from: date, to: date })
      .refine((q) => q.from <= q.to, {
        message: 'from must not be after to (开始日期不能晚于结束日期)',
        path: ['from'],
      })
      .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 30 * 86_400_000, {
        message: 'at most 31 days per request (每次最多查询 31 天)',
        path: ['to'],
      }),
    response: VerifyReportOut,
  },
  device_command_send: {
    method: 'POST',
    scope: { kind: 'entity', param: 'mn', place: PLACES.device },
    path: '/devices/{mn}/commands',
    auth: DEVICE_COMMANDERS,
    tags,
    summary:
      '向设备下发命令 send a command to a device (3011 calibration, 3022 retain a sample, 3024 standard-sample check)',
    description:
      'Sends an HJ 212 request to a registered HJ 212 device (TCP through the gateway task holding its connection, or ' +
      'MQTT on its command topic) and records it (201, status `sent`, or `undelivered` when it could not be published). ' +
      'The device answers 9011 (QnRtn) and 9012 (ExeRtn); read the command to follow it: `acknowledged`, `executed`, ' +
      '`failed` (with the reason) or `timed_out` (no 9011 within 60 s, no 9012 within 30 min). 404 for an unknown ' +
      'device, 409 for a retired or JSON-over-MQTT device. Audited.',
    params,
    body: CommandRequest,
    response: commandOut(),
    status: 201,
  },
  device_commands: {
    method: 'GET',
    scope: { kind: 'entity', param: 'mn', place: PLACES.device },
    path: '/devices/{mn}/commands',
    auth: DEVICE_DATA_READERS,
    tags,
    summary: '设备命令记录 commands sent to a device, newest first',
    params,
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(2048).optional(),
    }),
    response: z.object({ items: z.array(commandOut()), cursor: z.string().optional() }),
  },
  device_command: {
    method: 'GET',
    scope: { kind: 'entity', param: 'mn', place: PLACES.device },
    path: '/devices/{mn}/commands/{qn}',
    auth: DEVICE_DATA_READERS,
    tags,
    summary: '命令及设备应答 one command and the device’s answers',
    params: z.strictObject({
      mn,
      qn: z.string().regex(/^\d{17}$/, 'QN: 17 digits, YYYYMMDDhhmmsszzz (QN 为 17 位数字)'),
    }),
    response: commandOut(),
  },
});
