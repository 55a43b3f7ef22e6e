import * as z from 'zod';
import { pollutant, unitFactor } from '#shared/domain/pollutants.ts';
import { lineText, multilineText } from '#shared/domain/text.ts';
import type { DeviceKeyRing } from './device-key-types.ts';
import { DeviceLogger } from './logger-link.ts';
import { isValidUscc } from './uscc.ts';

/**
 * The registry: townships, enterprises (排污单位), outlets (排放口) with their permit limits, and monitoring devices
 * (数采仪, by HJ 212 MN). Every other capability reads it. These schemas are the single definition of each entity:
 * the API validates with them, the OpenAPI document is generated from them, and the seed data is checked by them.
 */

/** Qingyuan's extent (docs/domain.md §9.1): E 118°50′–119°30′, N 27°25′–27°51′, with a small margin for border sites. */
export const COUNTY_BOUNDS = { minLat: 27.4, maxLat: 27.87, minLng: 118.8, maxLng: 119.52 } as const;

export const Location = z
  .object({
    lat: z.number().min(-90).max(90).describe('纬度 latitude, WGS-84'),
    lng: z.number().min(-180).max(180).describe('经度 longitude, WGS-84'),
  })
  .refine(
    (l) =>
      l.lat >= COUNTY_BOUNDS.minLat &&
      l.lat <= COUNTY_BOUNDS.maxLat &&
      l.lng >= COUNTY_BOUNDS.minLng &&
      l.lng <= COUNTY_BOUNDS.maxLng,
    { message: 'location is outside Qingyuan county (坐标不在庆元县范围内)' },
  );
export type Location = z.infer<typeof Location>;

const text = lineText;
const UNKNOWN_POLLUTANT = 'unknown HJ 212-2017 pollutant code (不是 HJ 212-2017 的污染物代码)';
const INVALID_USCC = 'invalid unified social credit code (统一社会信用代码无效)';
const MEDIUM_ZH: Record<string, string> = { water: '废水', air: '废气', process: '工况', info: '状态信息' };
const phone = z
  .string()
  .regex(
    /^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/,
    'phone must be a mainland mobile or landline number (请填写正确的 11 位手机号码或固定电话号码)',
  );

export const TownshipType = z.enum(['街道', '镇', '乡']);
export const Township = z.object({
  id: z
    .string()
    .regex(/^[a-z]{2,20}$/, 'township id is its pinyin in lower case, e.g. songyuan (乡镇编号为小写拼音，如 songyuan)'),
  name: text(20),
  type: TownshipType,
  pinyin: text(40),
  /** 12-digit statistical division code, when the bureau fills it in */
  adminCode: z
    .string()
    .regex(/^331126\d{6}$/, 'division code is 331126 and 6 digits (区划代码为 331126 加 6 位数字)')
    .optional(),
  centre: Location.optional(),
  note: multilineText(200).optional(),
});
export type Township = z.infer<typeof Township>;

export const PermitClass = z
  .enum(['key', 'simplified', 'registration'])
  .describe('排污许可管理类别：重点管理/简化管理/登记管理');
export const PERMIT_CLASS_LABELS: Record<z.infer<typeof PermitClass>, string> = {
  key: '重点管理',
  simplified: '简化管理',
  registration: '登记管理',
};

export const Industry = z
  .enum([
    'bamboo_wood',
    'edible_fungi',
    'pencil',
    'wastewater_treatment',
    'boiler_heating',
    'paper',
    'chemical',
    'waste_incineration',
    'other',
  ])
  .describe('行业（waste_incineration 生活垃圾焚烧：炉膛温度告警规则只用于此类单位）');
export const INDUSTRY_LABELS: Record<z.infer<typeof Industry>, string> = {
  bamboo_wood: '竹木制品',
  edible_fungi: '食用菌',
  pencil: '铅笔制造',
  wastewater_treatment: '污水处理',
  boiler_heating: '锅炉供热',
  paper: '造纸',
  chemical: '化工',
  waste_incineration: '生活垃圾焚烧',
  other: '其他',
};

export const Enterprise = z.object({
  id: z
    .string()
    .refine(isValidUscc, 'must be a valid 18-character unified social credit code (须为有效的 18 位统一社会信用代码)')
    .describe('统一社会信用代码'),
  name: text(100),
  townshipId: z
    .string()
    .regex(/^[a-z]{2,20}$/, 'township id is its pinyin in lower case, e.g. songyuan (乡镇编号为小写拼音，如 songyuan)'),
  industry: Industry,
  address: text(200),
  location: Location,
  permitClass: PermitClass,
  permitNumber: z
    .string()
    .regex(
      /^[0-9A-Z]{18}\d{3}[A-Z]$/,
      'permit number is the USCC + 3 digits + a letter, e.g. 91331126…001P (排污许可证编号为统一社会信用代码加 3 位数字和 1 个字母)',
    )
    .optional(),
  /** Zhejiang's 2025 credit grades are not confirmed (docs/domain.md §8.2): kept as the bureau's own label. */
  credit: z.object({ rating: text(20), ratedAt: z.iso.date().optional() }).optional(),
  /** 行业主管部门 that hears this unit's alarms, e.g. 庆元县经济商务科技局 */
  regulator: text(60),
  responsiblePerson: z.object({ name: text(40), phone }),
  status: z.enum(['operating', 'suspended', 'closed']).default('operating'),
});
export type Enterprise = z.infer<typeof Enterprise>;

export const LimitValue = z
  .object({
    pollutant: z.string().refine((c) => pollutant(c) !== undefined, UNKNOWN_POLLUTANT),
    /** upper limit; for pH both min and max */
    max: z.number().positive().optional(),
    min: z.number().nonnegative().optional(),
    unit: text(20),
    standard: text(60).describe('e.g. GB 8978-1996'),
    grade: text(40).describe('e.g. 一级 / 表2 新建燃气锅炉'),
    /** averaging period the limit is judged on */
    basis: z.enum(['hourly', 'daily', 'instant']).default('hourly'),
  })
  .refine((l) => l.max !== undefined || l.min !== undefined, {
    message: 'a limit needs max, min or both (限值须填写上限、下限或两者)',
  })
  .refine((l) => l.min === undefined || l.max === undefined || l.min < l.max, {
    message: 'min must be below max (下限须小于上限)',
  });
export type LimitValue = z.infer<typeof LimitValue>;

export const OutletCode = z
  .string()
  .regex(
    /^D[WA]\d{3}$/,
    'outlet code is DW### for water or DA### for air, as in the permit (排放口代码为 DW###（废水）或 DA###（废气），与排污许可证一致)',
  );

export const Outlet = z
  .object({
    id: z
      .string()
      .regex(/^[0-9A-Z]{18}-D[WA]\d{3}$/, 'outlet id is `<USCC>-<code>` (排放口编号为“统一社会信用代码-排放口代码”)'),
    enterpriseId: z.string().refine(isValidUscc, INVALID_USCC),
    code: OutletCode,
    name: text(60),
    medium: z.enum(['water', 'air']),
    location: Location,
    receivingWater: text(40).optional().describe('受纳水体, e.g. 松源溪'),
    stackHeightM: z.number().positive().max(300).optional(),
    inDrinkingWaterProtectionZone: z.boolean().default(false),
    limits: z.array(LimitValue).max(40).default([]),
  })
  .superRefine((o, ctx) => {
    if (o.id !== `${o.enterpriseId}-${o.code}`) {
      ctx.addIssue({
        code: 'custom',
        path: ['id'],
        message: 'id must equal `<enterpriseId>-<code>` (编号须为“单位代码-排放口代码”)',
      });
    }
    if ((o.medium === 'water') !== o.code.startsWith('DW')) {
      ctx.addIssue({
        code: 'custom',
        path: ['code'],
        message: 'DW codes are water outlets, DA codes air outlets (DW 为废水排放口，DA 为废气排放口)',
      });
    }
    const seen = new Set<string>();
    o.limits.forEach((l, i) => {
      if (seen.has(l.pollutant)) {
        ctx.addIssue({
          code: 'custom',
          path: ['limits', i, 'pollutant'],
          message: 'one limit per pollutant (每个污染物只能有一个限值)',
        });
      }
      seen.add(l.pollutant);
      const reported = pollutant(l.pollutant)?.unit;
      if (reported && unitFactor(l.unit, reported) === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['limits', i, 'unit'],
          message: `limit unit ${l.unit} cannot be compared with ${reported}, the unit HJ 212 devices report ${l.pollutant} in (限值单位与监测单位不一致)`,
        });
      }
      const medium = pollutant(l.pollutant)?.medium;
      if (medium && medium !== o.medium) {
        ctx.addIssue({
          code: 'custom',
          path: ['limits', i, 'pollutant'],
          message: `a ${medium} pollutant on a ${o.medium} outlet (${MEDIUM_ZH[medium]}污染物不能用于${MEDIUM_ZH[o.medium]}排放口)`,
        });
      }
    });
  });
export type Outlet = z.infer<typeof Outlet>;

export const MINUTE_INTERVALS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30] as const;

/** System codes (ST) used by county devices; docs/domain.md §1.5. */
export const SystemCode = z.enum(['21', '22', '23', '27', '31', '32', '36', '39', '51', '52']);

/**
 * How a device reaches the platform: `tcp` to the HJ 212 gateway (authenticated by its access password), or `mqtt` to
 * AWS IoT Core (authenticated by an X.509 certificate of its IoT thing, whose name is the MN; docs/devices.md).
 * A `json-mqtt` device is always `mqtt`; HJ 212 devices default to `tcp` and may use `mqtt`.
 */
export const Transport = z
  .enum(['tcp', 'mqtt'])
  .describe('接入方式：tcp（HJ 212 网关）或 mqtt（物联网平台，证书认证）');
export type Transport = z.infer<typeof Transport>;

export function transportOf(device: { protocol: string; transport?: Transport | undefined }): Transport {
  return device.transport ?? (device.protocol === 'json-mqtt' ? 'mqtt' : 'tcp');
}

/**
 * One X.509 certificate IoT Core issued for the device, as recorded on it (never its private key).
 *   pending   created (inactive); its policy, thing attachment and activation may be incomplete
 *   active    attached to the device policy and the thing, and ACTIVE: the device connects with it
 *   retiring  replaced by a newer one; to be deactivated and detached
 *   inactive  deactivated (INACTIVE) and detached from the thing and the policy
 */
export const DeviceCertificate = z.object({
  certificateId: z.string().regex(/^[0-9a-f]{64}$/),
  certificateArn: z.string().max(2048),
  status: z.enum(['pending', 'active', 'retiring', 'inactive']),
  keySource: z.enum(['csr', 'generated']).describe('csr: the installer kept the key; generated: IoT made the key pair'),
  createdAt: z.iso.datetime(),
  activatedAt: z.iso.datetime().optional(),
  retiredAt: z.iso.datetime().optional(),
  retiredBecause: z.enum(['rotated', 'decommissioned', 'incomplete', 'transport-changed']).optional(),
});
export type DeviceCertificate = z.infer<typeof DeviceCertificate>;

/** A device's IoT Core identity: its thing (name = MN) and its certificates, newest last. Set by the platform only. */
export const DeviceIot = z.object({
  thingName: z.string(),
  certificates: z.array(DeviceCertificate),
});
export type DeviceIot = z.infer<typeof DeviceIot>;

const DeviceFields = z.object({
  mn: z
    .string()
    .regex(/^[0-9A-Za-z]{1,24}$/, 'MN is up to 24 letters or digits, HJ 212 §6.3.3 (MN 为 1 至 24 位字母或数字)'),
  enterpriseId: z.string().refine(isValidUscc, INVALID_USCC),
  outletId: z
    .string()
    .regex(/^[0-9A-Z]{18}-D[WA]\d{3}$/, 'outlet id is `<USCC>-<code>` (排放口编号为“统一社会信用代码-排放口代码”)'),
  st: SystemCode,
  protocol: z
    .enum(['hj212-2025', 'hj212-2017', 'hj212-2005', 'json-mqtt'])
    .describe('the version the logger was installed with; each HJ 212 packet is read by its own Flag version bits'),
  transport: Transport.optional(),
  pollutants: z
    .array(z.string().refine((c) => pollutant(c) !== undefined, UNKNOWN_POLLUTANT))
    .min(1)
    .max(40),
  intervals: z.object({
    realtimeSeconds: z.number().int().min(30).max(3600).describe('HJ 212 real-time interval, 30–3600 s'),
    minuteMinutes: z
      .number()
      .int()
      .refine(
        (m) => (MINUTE_INTERVALS as readonly number[]).includes(m),
        'minute interval must be 1,2,3,4,5,6,10,12,15,20 or 30 (分钟数据间隔须为 1、2、3、4、5、6、10、12、15、20 或 30)',
      ),
    hourly: z.boolean().default(true),
  }),
  model: text(60).optional(),
  /**
   * Production and treatment equipment this device reports (treatment-facility current monitoring, for units under
   * simplified permit management): HJ 212 facilities `SBx` (status from `SBx-RS`), current / power meters `i332xx`,
   * HJ 212-2025 electricity meters (ST=44: `d2xxxx` production, `d3xxxx` treatment facility) or production
   * conditions (ST=45: `pxxxxx`). One mapping for all of them: the alarm engine's treatment-facility rule reads it.
   */
  equipment: z
    .array(
      z
        .object({
          code: z
            .string()
            .regex(
              /^(SB\w{1,8}|[iI]33[2-4]\d{2}|d[23]\d{4}|p\d{5})$/,
              'SBx facility, i332xx or d2xxxx/d3xxxx meter, or pxxxxx condition code (设施编码为 SBx，电表编码为 i332xx 或 d2xxxx/d3xxxx，工况编码为 pxxxxx)',
            ),
          role: z.enum(['production', 'treatment']).describe('生产设施 / 治污设施'),
          name: text(40),
          runningAbove: z
            .number()
            .nonnegative()
            .optional()
            .describe('meters and conditions: running at or above this (A, kW or the condition mark)'),
        })
        .superRefine((e, ctx) => {
          // HJ 212-2025 electricity codes name their side: d2… production facilities, d3… treatment facilities
          const side = /^d([23])\d{4}$/.exec(e.code)?.[1];
          if (side === undefined || (side === '2') === (e.role === 'production')) return;
          ctx.addIssue({
            code: 'custom',
            path: ['role'],
            message:
              side === '2'
                ? 'a d2xxxx meter is a production facility (d2xxxx 电表属于生产设施)'
                : 'a d3xxxx meter is a treatment facility (d3xxxx 电表属于治污设施)',
          });
        }),
    )
    .max(20)
    .optional(),
  installedAt: z.iso.date().optional(),
  status: z.enum(['active', 'maintenance', 'retired']).default('active'),
});

const mqttIsJson = (d: { protocol: string; transport?: Transport | undefined }, ctx: z.RefinementCtx) => {
  if (d.protocol === 'json-mqtt' && d.transport === 'tcp') {
    ctx.addIssue({
      code: 'custom',
      path: ['transport'],
      message: 'a json-mqtt device connects over mqtt (json-mqtt 设备只能经 mqtt 接入)',
    });
  }
};

/** One version of an HJ 212-2025 device's SM4 key, as the API shows it: its state, never the key (device-keys.ts). */
export const DeviceKeyVersionView = z.object({
  version: z.number().int(),
  status: z.enum(['pending', 'current', 'previous', 'failed']),
  source: z.enum(['registration', 'device-request', 'scheduled', 'admin']),
  createdAt: z.iso.datetime(),
  activatedAt: z.iso.datetime().optional(),
  supersededAt: z.iso.datetime().optional(),
  pushQn: z.string().optional(),
  pushedAt: z.iso.datetime().optional(),
});

/** An HJ 212-2025 device's encryption, set by the platform only: whether it must encrypt, and its keys' states. */
export const DeviceKeysView = z
  .object({
    encrypting: z.boolean().describe('须 SM4 加密上传数据（明文数据拒收）'),
    nextRotationAt: z.iso.datetime().optional().describe('当前密钥到期轮换时间（90 天）'),
    rotationRequestedAt: z.iso.datetime().optional(),
    versions: z.array(DeviceKeyVersionView),
  })
  .describe('HJ 212-2025 SM4 加密与密钥状态（不含密钥本身）');

/**
 * The HJ 212 version of the device's last accepted packet (HJ 212-2025 §6: a logger may be upgraded in place, so the
 * version belongs to each packet), set by the platform when it changes.
 */
export const ProtocolSeen = z.object({
  version: z.enum(['2005', '2017', '2025', 'unknown']),
  at: z.iso.datetime(),
});

/**
 * A device as the API shows it: `transport` is always filled in, `iot` once it has an IoT identity, `sm4` once it
 * encrypts, `protocolSeen` once it has sent.
 */
export const Device = DeviceFields.extend({
  iot: DeviceIot.optional(),
  sm4: DeviceKeysView.optional(),
  protocolSeen: ProtocolSeen.optional(),
  logger: DeviceLogger.optional().describe('经 CN 1001/1002 关联的数采仪硬件标识（平台设置）'),
}).superRefine(mqttIsJson);
export type Device = z.infer<typeof Device>;

const password = z
  .string()
  .min(6)
  .max(32)
  .regex(/^[\x21-\x7e]+$/, 'password is 6–32 printable ASCII characters (密码为 6 至 32 位可打印 ASCII 字符)');

/** What a caller sends to replace a device: a password instead of its hash; never `iot`, which the platform keeps. */
export const DeviceInput = DeviceFields.extend({ password: password.optional() }).superRefine(mqttIsJson);
export type DeviceInput = z.infer<typeof DeviceInput>;

/** A PEM certificate signing request (PKCS #10), as `openssl req -new` writes it. */
export const Csr = z
  .string()
  .max(16_384)
  .regex(
    /^\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END (NEW )?CERTIFICATE REQUEST-----\s*$/,
    'csr must be one PEM certificate signing request, -----BEGIN CERTIFICATE REQUEST----- (须为一个 PEM 格式的证书签名请求)',
  )
  .describe('PEM 证书签名请求（设备自行生成密钥时提供）');

/**
 * What a caller sends to register a device: as DeviceInput, and for an MQTT device optionally the CSR of a key the
 * installer made on the device (without one, IoT Core generates the key pair and the answer carries the private key once).
 */
export const DeviceRegistration = DeviceFields.extend({
  password: password.optional(),
  csr: Csr.optional(),
  sm4Key: z
    .string()
    .max(64)
    .optional()
    .describe('HJ 212-2025 设备的 SM4 初始密钥（16 位字符）；填写即表示该设备加密上传，平台只保存其密文，不再返回'),
})
  .superRefine(mqttIsJson)
  .superRefine((d, ctx) => {
    if (d.sm4Key !== undefined && d.protocol === 'json-mqtt') {
      ctx.addIssue({
        code: 'custom',
        path: ['sm4Key'],
        message: 'SM4 keys are for HJ 212 devices (SM4 密钥只用于 HJ 212 设备)',
      });
    }
    if (d.csr !== undefined && transportOf(d) !== 'mqtt') {
      ctx.addIssue({
        code: 'custom',
        path: ['csr'],
        message: 'only an mqtt device gets a certificate (只有经 mqtt 接入的设备才签发证书)',
      });
    }
  });
export type DeviceRegistration = z.infer<typeof DeviceRegistration>;

/**
 * A device as stored: the access password only as a salted scrypt hash; an HJ 212-2025 device's SM4 keys only sealed
 * (device-keys.ts). Neither is ever in an API answer.
 */
export type StoredDevice = Omit<Device, 'sm4'> & { passwordHash: string; sm4?: DeviceKeyRing };

/** What the platform answers once when IoT Core issued a certificate: the private key only when IoT generated it. */
export const IssuedCertificate = z.object({
  thingName: z.string().describe('IoT 物名 = MN；MQTT client id 必须与之相同'),
  certificateId: z.string(),
  certificateArn: z.string(),
  certificatePem: z.string(),
  keySource: z.enum(['csr', 'generated']),
  privateKey: z.string().optional().describe('仅在平台生成密钥时返回一次，平台不保存'),
  publicKey: z.string().optional(),
  policyName: z.string().describe('attached IoT policy'),
});
export type IssuedCertificate = z.infer<typeof IssuedCertificate>;
