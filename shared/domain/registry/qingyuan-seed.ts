import type { DeviceInput, Enterprise, LimitValue, Outlet, Township } from './model.ts';
import { usccCheckChar } from './uscc.ts';

/**
 * Reference data the platform starts with: Qingyuan's 19 township-level divisions (docs/domain.md §9.2, 2022: 3 subdistricts,
 * 6 towns, 10 townships) and a small set of SAMPLE discharging units typical of the county's industries (§9.4) with
 * their outlets, devices and permit limits (§4). The units, people and phone numbers are invented for demonstration
 * (示例数据，非真实单位); coordinates are illustrative points inside the county. Device passwords are the HJ 212
 * default `123456`: for local use only, never for a real deployment.
 */
export const SEED_DEVICE_PASSWORD = '123456';

const t = (id: string, name: string, type: Township['type'], pinyin: string, note?: string): Township => ({
  id,
  name,
  type,
  pinyin,
  ...(note ? { note } : {}),
});

export const TOWNSHIPS: Township[] = [
  t('songyuan', '松源街道', '街道', 'Songyuan Jiedao', '县城核心区'),
  t('mengzhou', '濛洲街道', '街道', 'Mengzhou Jiedao', '办公地址：后田街1号'),
  t('pingdu', '屏都街道', '街道', 'Pingdu Jiedao'),
  t('huangtian', '黄田镇', '镇', 'Huangtian Zhen', '毛竹产区'),
  t('zhukou', '竹口镇', '镇', 'Zhukou Zhen', '食用菌基地'),
  t('hedi', '荷地镇', '镇', 'Hedi Zhen'),
  t('zuoxi', '左溪镇', '镇', 'Zuoxi Zhen'),
  t('xianliang', '贤良镇', '镇', 'Xianliang Zhen'),
  t('baishanzu', '百山祖镇', '镇', 'Baishanzu Zhen', '由百山祖乡设镇（待核实是否并入龙溪乡）'),
  t('lingtou', '岭头乡', '乡', 'Lingtou Xiang'),
  t('wudabao', '五大堡乡', '乡', 'Wudabao Xiang'),
  t('yushang', '淤上乡', '乡', 'Yushang Xiang'),
  t('annan', '安南乡', '乡', 'Annan Xiang', '毛竹产区'),
  t('zhangcun', '张村乡', '乡', 'Zhangcun Xiang'),
  t('longgong', '隆宫乡', '乡', 'Longgong Xiang', '毛竹产区'),
  t('jushui', '举水乡', '乡', 'Jushui Xiang'),
  t('jianggen', '江根乡', '乡', 'Jianggen Xiang'),
  t('hehu', '合湖乡', '乡', 'Hehu Xiang'),
  t('guantang', '官塘乡', '乡', 'Guantang Xiang'),
];

/** A sample USCC: 9 (market regulator) 1 (enterprise) 331126 (Qingyuan) + 9-character body + check character. */
const uscc = (body: string): string => {
  const first17 = `91331126${body}`;
  return first17 + (usccCheckChar(first17) ?? '0');
};

const GB8978_1 = { standard: 'GB 8978-1996', grade: '表4 一级', basis: 'hourly' } as const;
const GB8978_3 = { standard: 'GB 8978-1996', grade: '表4 三级', basis: 'hourly' } as const;
const GB18918_1A = { standard: 'GB 18918-2002', grade: '一级A', basis: 'daily' } as const;
const GB13271_GAS = { standard: 'GB 13271-2014', grade: '表2 新建燃气锅炉', basis: 'hourly' } as const;

const limit = (
  pollutant: string,
  unit: string,
  base: Omit<LimitValue, 'pollutant' | 'unit'>,
  max?: number,
  min?: number,
): LimitValue => ({
  pollutant,
  unit,
  ...base,
  ...(max !== undefined ? { max } : {}),
  ...(min !== undefined ? { min } : {}),
});

export const BAMBOO = uscc('MA2BQY0A1');
export const FUNGI = uscc('MA2BR31K5');
export const PENCIL = uscc('MA2BPC7D2');
export const WWTP = uscc('MA2BW0T89');
export const BOILER = uscc('MA2BG4R36');

export const ENTERPRISES: Enterprise[] = [
  {
    id: BAMBOO,
    name: '庆元县示例竹木制品有限公司',
    townshipId: 'huangtian',
    industry: 'bamboo_wood',
    address: '庆元县黄田镇工业功能区（示例）',
    location: { lat: 27.668, lng: 118.982 },
    permitClass: 'simplified',
    regulator: '庆元县经济商务科技局',
    responsiblePerson: { name: '吴建国（示例）', phone: '13800000101' },
    status: 'operating',
  },
  {
    id: FUNGI,
    name: '庆元县示例香菇食品有限公司',
    townshipId: 'zhukou',
    industry: 'edible_fungi',
    address: '庆元县竹口镇食用菌产业园（示例）',
    location: { lat: 27.707, lng: 118.907 },
    permitClass: 'simplified',
    regulator: '庆元县农业农村局',
    responsiblePerson: { name: '叶小芳（示例）', phone: '13800000102' },
    status: 'operating',
  },
  {
    id: PENCIL,
    name: '庆元县示例铅笔制造有限公司',
    townshipId: 'pingdu',
    industry: 'pencil',
    address: '庆元县屏都街道工业区（示例）',
    location: { lat: 27.598, lng: 119.027 },
    permitClass: 'simplified',
    regulator: '庆元县经济商务科技局',
    responsiblePerson: { name: '陈立新（示例）', phone: '13800000103' },
    status: 'operating',
  },
  {
    id: WWTP,
    name: '庆元县示例城镇污水处理有限公司',
    townshipId: 'mengzhou',
    industry: 'wastewater_treatment',
    address: '庆元县濛洲街道松源溪畔（示例）',
    location: { lat: 27.622, lng: 119.083 },
    permitClass: 'key',
    regulator: '庆元县住房和城乡建设局',
    responsiblePerson: { name: '周海明（示例）', phone: '13800000104' },
    status: 'operating',
  },
  {
    id: BOILER,
    name: '庆元县示例集中供热站',
    townshipId: 'songyuan',
    industry: 'boiler_heating',
    address: '庆元县松源街道（示例）',
    location: { lat: 27.615, lng: 119.058 },
    permitClass: 'key',
    regulator: '庆元县经济商务科技局',
    responsiblePerson: { name: '刘志强（示例）', phone: '13800000105' },
    status: 'operating',
  },
];

const waterLimitsGrade1 = [
  limit('w01018', 'mg/L', GB8978_1, 100),
  limit('w21003', 'mg/L', GB8978_1, 15),
  limit('w01012', 'mg/L', GB8978_1, 70),
  limit('w01001', '无量纲', GB8978_1, 9, 6),
];
const gasBoilerLimits = [
  limit('a34013', 'mg/m³', GB13271_GAS, 20),
  limit('a21026', 'mg/m³', GB13271_GAS, 50),
  limit('a21002', 'mg/m³', GB13271_GAS, 200),
];

export const OUTLETS: Outlet[] = [
  {
    id: `${BAMBOO}-DW001`,
    enterpriseId: BAMBOO,
    code: 'DW001',
    name: '蒸煮废水总排口',
    medium: 'water',
    location: { lat: 27.667, lng: 118.984 },
    receivingWater: '松源溪',
    inDrinkingWaterProtectionZone: false,
    limits: waterLimitsGrade1,
  },
  {
    id: `${FUNGI}-DW001`,
    enterpriseId: FUNGI,
    code: 'DW001',
    name: '生产废水总排口',
    medium: 'water',
    location: { lat: 27.706, lng: 118.905 },
    receivingWater: '竹口溪',
    inDrinkingWaterProtectionZone: false,
    limits: waterLimitsGrade1,
  },
  {
    id: `${FUNGI}-DA001`,
    enterpriseId: FUNGI,
    code: 'DA001',
    name: '灭菌锅炉烟囱',
    medium: 'air',
    location: { lat: 27.707, lng: 118.906 },
    stackHeightM: 15,
    inDrinkingWaterProtectionZone: false,
    limits: gasBoilerLimits,
  },
  {
    id: `${PENCIL}-DW001`,
    enterpriseId: PENCIL,
    code: 'DW001',
    name: '污水纳管排口',
    medium: 'water',
    location: { lat: 27.598, lng: 119.028 },
    receivingWater: '市政污水管网',
    inDrinkingWaterProtectionZone: false,
    limits: [
      limit('w01018', 'mg/L', GB8978_3, 500),
      limit('w01012', 'mg/L', GB8978_3, 400),
      limit('w01001', '无量纲', GB8978_3, 9, 6),
    ],
  },
  {
    // the coating line's NMHC limit comes from the unit's permit; it is left for the bureau to enter
    id: `${PENCIL}-DA001`,
    enterpriseId: PENCIL,
    code: 'DA001',
    name: '涂装废气排气筒',
    medium: 'air',
    location: { lat: 27.599, lng: 119.027 },
    stackHeightM: 20,
    inDrinkingWaterProtectionZone: false,
    limits: [],
  },
  {
    id: `${WWTP}-DW001`,
    enterpriseId: WWTP,
    code: 'DW001',
    name: '尾水排放口',
    medium: 'water',
    location: { lat: 27.621, lng: 119.085 },
    receivingWater: '松源溪',
    inDrinkingWaterProtectionZone: false,
    limits: [
      limit('w01018', 'mg/L', GB18918_1A, 50),
      limit('w21003', 'mg/L', GB18918_1A, 5),
      limit('w21001', 'mg/L', GB18918_1A, 15),
      limit('w21011', 'mg/L', GB18918_1A, 0.5),
      limit('w01012', 'mg/L', GB18918_1A, 10),
      limit('w01001', '无量纲', GB18918_1A, 9, 6),
    ],
  },
  {
    id: `${BOILER}-DA001`,
    enterpriseId: BOILER,
    code: 'DA001',
    name: '燃气锅炉烟囱',
    medium: 'air',
    location: { lat: 27.615, lng: 119.059 },
    stackHeightM: 18,
    inDrinkingWaterProtectionZone: false,
    limits: gasBoilerLimits,
  },
];

const water = { realtimeSeconds: 60, minuteMinutes: 10, hourly: true };
const air = { realtimeSeconds: 30, minuteMinutes: 1, hourly: true };

export const DEVICES: DeviceInput[] = [
  {
    mn: '33112600000000000000BW01',
    enterpriseId: BAMBOO,
    outletId: `${BAMBOO}-DW001`,
    st: '32',
    protocol: 'hj212-2017',
    pollutants: ['w00000', 'w01001', 'w01012', 'w01018', 'w21003'],
    intervals: water,
    equipment: [
      { code: 'SB1', role: 'production', name: '竹材蒸煮线' },
      { code: 'SB2', role: 'treatment', name: '污水处理站' },
    ],
    status: 'active',
    password: SEED_DEVICE_PASSWORD,
  },
  {
    mn: '33112600000000000000FW01',
    enterpriseId: FUNGI,
    outletId: `${FUNGI}-DW001`,
    st: '32',
    protocol: 'json-mqtt',
    pollutants: ['w00000', 'w01001', 'w01018', 'w21003'],
    intervals: water,
    equipment: [
      { code: 'SB1', role: 'production', name: '菌棒灭菌生产线' },
      { code: 'i33200', role: 'treatment', name: '污水处理曝气风机电流', runningAbove: 5 },
    ],
    status: 'active',
    password: SEED_DEVICE_PASSWORD,
  },
  {
    mn: '33112600000000000000FA01',
    enterpriseId: FUNGI,
    outletId: `${FUNGI}-DA001`,
    st: '31',
    protocol: 'hj212-2017',
    pollutants: ['a00000', 'a01012', 'a19001', 'a21002', 'a21026', 'a34013'],
    intervals: air,
    equipment: [
      { code: 'SB1', role: 'production', name: '灭菌锅炉' },
      { code: 'SB2', role: 'treatment', name: '布袋除尘器' },
    ],
    status: 'active',
    password: SEED_DEVICE_PASSWORD,
  },
  {
    mn: '33112600000000000000PW01',
    enterpriseId: PENCIL,
    outletId: `${PENCIL}-DW001`,
    st: '32',
    protocol: 'hj212-2005',
    pollutants: ['w00000', 'w01001', 'w01012', 'w01018'],
    intervals: water,
    equipment: [
      { code: 'SB1', role: 'production', name: '笔杆涂装线' },
      { code: 'SB2', role: 'treatment', name: '污水处理设施' },
    ],
    status: 'active',
    password: SEED_DEVICE_PASSWORD,
  },
  {
    mn: '33112600000000000000PA01',
    enterpriseId: PENCIL,
    outletId: `${PENCIL}-DA001`,
    st: '31',
    protocol: 'hj212-2017',
    pollutants: ['a00000', 'a01012', 'a24088'],
    intervals: air,
    equipment: [
      { code: 'SB1', role: 'production', name: '笔杆涂装线' },
      { code: 'SB2', role: 'treatment', name: '活性炭吸附装置' },
    ],
    status: 'active',
    password: SEED_DEVICE_PASSWORD,
  },
  {
    // the MN of the hourly sample packet in test/fixtures/hj212/samples.txt
    mn: '33112600000000000000AB01',
    enterpriseId: WWTP,
    outletId: `${WWTP}-DW001`,
    st: '32',
    protocol: 'hj212-2017',
    pollutants: ['w00000', 'w01001', 'w01012', 'w01018', 'w21001', 'w21003', 'w21011'],
    intervals: water,
    status: 'active',
    password: SEED_DEVICE_PASSWORD,
  },
  {
    mn: '33112600000000000000GA01',
    enterpriseId: BOILER,
    outletId: `${BOILER}-DA001`,
    st: '31',
    protocol: 'hj212-2017',
    pollutants: ['a00000', 'a01012', 'a19001', 'a21002', 'a21026', 'a34013'],
    intervals: air,
    // HJ 212-2025 electricity monitoring (ST=44): the boiler's and the flue-gas recirculation fan's meters, kW
    equipment: [
      { code: 'd20105', role: 'production', name: '燃气锅炉用电', runningAbove: 10 },
      { code: 'd30106', role: 'treatment', name: '烟气再循环风机用电', runningAbove: 2 },
    ],
    status: 'active',
    password: SEED_DEVICE_PASSWORD,
  },
];
