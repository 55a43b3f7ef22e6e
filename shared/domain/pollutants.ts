/**
 * HJ 212-2017 pollutant codes (Appendix B, from HJ 525-2009 water and HJ 524-2009 air) with the HJ/T 212-2005 code
 * they replace. Source: docs/domain.md §1.10. The list covers what county sources and stations send;
 * unknown codes are still accepted by ingestion (kept as-is), but the registry only lets officials set limits on known ones.
 */
export type Medium = 'water' | 'air' | 'process' | 'info';

export interface Pollutant {
  code: string;
  nameZh: string;
  nameEn: string;
  /** HJ/T 212-2005 code, where Appendix B prints one */
  oldCode?: string;
  unit: string;
  medium: Medium;
  /** heavy metal under docs/domain.md §6.3 (crime thresholds at ≥3× / ≥10× the standard) */
  heavyMetal?: boolean;
}

const p = (
  code: string,
  nameZh: string,
  nameEn: string,
  unit: string,
  medium: Medium,
  oldCode?: string,
  heavyMetal?: boolean,
): Pollutant => ({
  code,
  nameZh,
  nameEn,
  unit,
  medium,
  ...(oldCode ? { oldCode } : {}),
  ...(heavyMetal ? { heavyMetal } : {}),
});

export const POLLUTANTS: readonly Pollutant[] = [
  p('w00000', '废水流量', 'wastewater flow', 'L/s', 'water', 'B01'),
  p('w01001', 'pH值', 'pH', '无量纲', 'water', '001'),
  p('w01002', '色度', 'colour', '倍', 'water', '002'),
  p('w01009', '溶解氧', 'dissolved oxygen', 'mg/L', 'water'),
  p('w01010', '水温', 'water temperature', '℃', 'water'),
  p('w01012', '悬浮物', 'suspended solids', 'mg/L', 'water', '003'),
  p('w01014', '电导率', 'conductivity', 'μS/cm', 'water'),
  p('w01017', '五日生化需氧量', 'BOD5', 'mg/L', 'water', '010'),
  p('w01018', '化学需氧量', 'COD', 'mg/L', 'water', '011'),
  p('w01019', '高锰酸盐指数', 'permanganate index', 'mg/L', 'water'),
  p('w01020', '总有机碳', 'TOC', 'mg/L', 'water', '015'),
  p('w02003', '粪大肠菌群', 'fecal coliform', '个/L', 'water', '550'),
  p('w19002', '阴离子表面活性剂', 'anionic surfactant (LAS)', 'mg/L', 'water', '520'),
  p('w20111', '总汞', 'total mercury', 'μg/L', 'water', '020', true),
  p('w20115', '总镉', 'total cadmium', 'μg/L', 'water', '022', true),
  p('w20116', '总铬', 'total chromium', 'mg/L', 'water', '023', true),
  p('w20117', '六价铬', 'hexavalent chromium', 'μg/L', 'water', '024', true),
  p('w20119', '总砷', 'total arsenic', 'μg/L', 'water', '026', true),
  p('w20120', '总铅', 'total lead', 'μg/L', 'water', '027', true),
  p('w20121', '总镍', 'total nickel', 'mg/L', 'water', '028', true),
  p('w20122', '总铜', 'total copper', 'mg/L', 'water', '029', true),
  p('w20123', '总锌', 'total zinc', 'mg/L', 'water', '030', true),
  p('w20124', '总锰', 'total manganese', 'mg/L', 'water', '031'),
  p('w20125', '总铁', 'total iron', 'mg/L', 'water', '032'),
  p('w21001', '总氮', 'total nitrogen', 'mg/L', 'water', '065'),
  p('w21003', '氨氮', 'ammonia nitrogen', 'mg/L', 'water', '060'),
  p('w21006', '亚硝酸盐', 'nitrite', 'mg/L', 'water', '063'),
  p('w21007', '硝酸盐', 'nitrate', 'mg/L', 'water', '064'),
  p('w21011', '总磷', 'total phosphorus', 'mg/L', 'water', '101'),
  p('w21016', '氰化物', 'cyanide', 'mg/L', 'water', '070'),
  p('w21017', '氟化物', 'fluoride', 'mg/L', 'water', '072'),
  p('w21019', '硫化物', 'sulfide', 'mg/L', 'water', '071'),
  p('w21022', '氯化物', 'chloride', 'mg/L', 'water', '090'),
  p('w22001', '石油类', 'petroleum', 'mg/L', 'water', '080'),
  p('w23002', '挥发酚', 'volatile phenol', 'mg/L', 'water', '110'),
  p('a00000', '废气流量', 'flue-gas flow', 'm³/s', 'air', 'B02'),
  p('a01001', '环境温度', 'ambient temperature', '℃', 'air'),
  p('a01002', '环境湿度', 'ambient humidity', '%', 'air'),
  p('a01006', '气压', 'air pressure', 'kPa', 'air'),
  p('a01007', '风速', 'wind speed', 'm/s', 'air'),
  p('a01008', '风向', 'wind direction', '°', 'air'),
  p('a01011', '烟气流速', 'flue-gas velocity', 'm/s', 'air', 'S02'),
  p('a01012', '烟气温度', 'flue-gas temperature', '℃', 'air', 'S03'),
  p('a01013', '烟气压力', 'flue-gas pressure', 'kPa', 'air', 'S08'),
  p('a01014', '烟气湿度', 'flue-gas humidity', '%', 'air', 'S05'),
  p('a05001', '二氧化碳', 'CO2', 'mg/m³', 'air', '30'),
  p('a19001', '氧含量', 'O2 content', '%', 'air', 'S01'),
  p('a21001', '氨', 'NH3', 'mg/m³', 'air', '10'),
  p('a21002', '氮氧化物', 'NOx', 'mg/m³', 'air', '03'),
  p('a21003', '一氧化氮', 'NO', 'mg/m³', 'air'),
  p('a21004', '二氧化氮', 'NO2', 'mg/m³', 'air'),
  p('a21005', '一氧化碳', 'CO', 'mg/m³', 'air', '04'),
  p('a21024', '氯化氢', 'HCl', 'mg/m³', 'air', '08'),
  p('a21026', '二氧化硫', 'SO2', 'mg/m³', 'air', '02'),
  p('a21028', '硫化氢', 'H2S', 'mg/m³', 'air', '05'),
  p('a24087', '碳氢化合物', 'hydrocarbons', 'mg/m³', 'air', '25'),
  p('a24088', '非甲烷总烃', 'non-methane hydrocarbons', 'mg/m³', 'air'),
  p('a25002', '苯', 'benzene', 'mg/m³', 'air'),
  p('a25003', '甲苯', 'toluene', 'mg/m³', 'air', '17'),
  p('a25005', '二甲苯', 'xylene', 'mg/m³', 'air', '18'),
  p('a34001', '总悬浮颗粒物', 'TSP', 'μg/m³', 'air'),
  p('a34002', 'PM10', 'PM10', 'μg/m³', 'air'),
  p('a34004', 'PM2.5', 'PM2.5', 'μg/m³', 'air'),
  p('a34013', '烟尘（颗粒物）', 'particulate (smoke dust)', 'mg/m³', 'air', '01'),
  p('a99051', '二硫化碳', 'CS2', 'mg/m³', 'air', '12'),
];

const BY_CODE = new Map(POLLUTANTS.map((x) => [x.code, x]));
const BY_OLD_CODE = new Map(POLLUTANTS.filter((x) => x.oldCode).map((x) => [x.oldCode as string, x]));

export function pollutant(code: string): Pollutant | undefined {
  return BY_CODE.get(code);
}

/** Maps an HJ/T 212-2005 code (e.g. `011`) to its 2017 code (`w01018`); 2017 codes pass through. */
export function toCurrentCode(code: string): string {
  return BY_CODE.has(code) ? code : (BY_OLD_CODE.get(code)?.code ?? code);
}

/** Concentration units spelled the ways standards and devices write them, to one canonical spelling. */
function canonicalUnit(unit: string): string {
  return unit
    .trim()
    .replace(/^ug\//i, 'μg/')
    .replace(/^µg\//, 'μg/')
    .replace(/m3$/, 'm³')
    .replace(/^mg\/l$/i, 'mg/L')
    .replace(/^μg\/l$/i, 'μg/L');
}

const MASS_SCALE: Record<string, number> = { 'ng/': 1e-6, 'μg/': 1e-3, 'mg/': 1, 'g/': 1e3 };

/**
 * The factor that turns a value in `from` into the unit `to` (e.g. mg/L → μg/L = 1000), or undefined when they do
 * not measure the same thing. Standards print heavy-metal limits in mg/L while HJ 212 devices report μg/L: comparing
 * the raw numbers would be off by a thousand (and a crime-level multiple with it).
 */
export function unitFactor(from: string, to: string): number | undefined {
  const a = canonicalUnit(from);
  const b = canonicalUnit(to);
  if (a === b) return 1;
  const split = (u: string) => {
    const m = /^(ng|μg|mg|g)\/(L|m³)$/.exec(u);
    return m ? { mass: `${m[1]}/`, per: m[2] as string } : undefined;
  };
  const x = split(a);
  const y = split(b);
  if (!x || !y || x.per !== y.per) return undefined;
  return (MASS_SCALE[x.mass] as number) / (MASS_SCALE[y.mass] as number);
}
