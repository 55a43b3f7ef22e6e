import { DEVICES, ENTERPRISES, OUTLETS } from '#shared/domain/registry/qingyuan-seed.ts';

/**
 * The simulated DAQs: the seeded devices of shared/domain/registry/qingyuan-seed.ts (MN, protocol, pollutants,
 * intervals, password, the outlet's permit limits) plus optional synthetic clones whose MNs are NOT registered
 * (the platform must reject them; that is what they are for).
 *
 * Two seeded DAQs have been upgraded in place to HJ 212-2025 (UPGRADED_TO_2025): the WWTP's AB01 and the heating
 * station's GA01 (whose ST=44 electricity meters are a 2025 system anyway). They encrypt their data with SM4 under a
 * key the simulator enters through the registry as their installer would (credentials.ts `registryKeys`); the others
 * stay HJ 212-2017 (and the pencil factory's PW01 HJ/T 212-2005).
 */
export type Protocol = 'hj212-2025' | 'hj212-2017' | 'hj212-2005' | 'json-mqtt';
/** how the device's day looks: a factory on day shift, the town's WWTP, the heating station running around the clock */
export type Pattern = 'factory' | 'wwtp' | 'heating';

export interface Limit {
  max?: number;
  min?: number;
}

export interface SimDevice {
  mn: string;
  /** short name used in output and accepted in commands: the MN's last 4 characters (e.g. BW01) */
  label: string;
  st: string;
  protocol: Protocol;
  password: string;
  pollutants: string[];
  realtimeSeconds: number;
  minuteMinutes: number;
  medium: 'water' | 'air';
  pattern: Pattern;
  /** sends SB1 (production) and SB2 (treatment facility) running status */
  facilities: boolean;
  /**
   * HJ 212-2025 electricity monitoring (ST=44): the device's registered production (`d2xxxx`) and treatment
   * (`d3xxxx`) meters, sent as their own ST=44 real-time packet beside each real-time packet
   */
  power?: { production: string; treatment: string };
  limits: Record<string, Limit>;
  enterpriseName: string;
  registered: boolean;
  clonedFrom?: string;
}

/** an HJ 212-2025 device: SM4-encrypted data, 9015 heartbeats, RF=1 re-sent data, answers to CN 1014 key pushes */
export const speaks2025 = (d: Pick<SimDevice, 'protocol'>): boolean => d.protocol === 'hj212-2025';

export const UNREGISTERED_PREFIX = '3311260000000000SIM';

/** seeded DAQs the simulator runs as HJ 212-2025 (SM4-encrypted), upgraded in place from HJ 212-2017 */
export const UPGRADED_TO_2025: readonly string[] = ['33112600000000000000AB01', '33112600000000000000GA01'];

function patternOf(industry: string | undefined): Pattern {
  if (industry === 'wastewater_treatment') return 'wwtp';
  if (industry === 'boiler_heating') return 'heating';
  return 'factory';
}

/** The seeded devices, in seed order. */
export function seededDevices(): SimDevice[] {
  return DEVICES.map((d) => {
    const enterprise = ENTERPRISES.find((e) => e.id === d.enterpriseId);
    const outlet = OUTLETS.find((o) => o.id === d.outletId);
    const limits: Record<string, Limit> = {};
    for (const l of outlet?.limits ?? []) {
      limits[l.pollutant] = {
        ...(l.max !== undefined ? { max: l.max } : {}),
        ...(l.min !== undefined ? { min: l.min } : {}),
      };
    }
    const pattern = patternOf(enterprise?.industry);
    const meter = (side: '2' | '3') => d.equipment?.find((e) => e.code.startsWith(`d${side}`))?.code;
    const production = meter('2');
    const treatment = meter('3');
    return {
      mn: d.mn,
      label: d.mn.slice(-4),
      st: d.st,
      protocol: UPGRADED_TO_2025.includes(d.mn) ? 'hj212-2025' : d.protocol,
      password: d.password ?? '123456',
      pollutants: [...d.pollutants],
      realtimeSeconds: d.intervals.realtimeSeconds,
      minuteMinutes: d.intervals.minuteMinutes,
      medium: outlet?.medium === 'air' ? 'air' : 'water',
      pattern,
      facilities: pattern !== 'wwtp' && (d.equipment ?? []).some((e) => e.code.startsWith('SB')),
      ...(production !== undefined && treatment !== undefined ? { power: { production, treatment } } : {}),
      limits,
      enterpriseName: enterprise?.name ?? d.enterpriseId,
      registered: true,
    };
  });
}

/** `count` clones of the seeded devices (round robin) with unregistered MNs `3311260000000000SIM00001`, …. */
export function syntheticDevices(count: number): SimDevice[] {
  const seeded = seededDevices();
  const out: SimDevice[] = [];
  for (let i = 1; i <= count; i++) {
    const from = seeded[(i - 1) % seeded.length] as SimDevice;
    const mn = `${UNREGISTERED_PREFIX}${String(i).padStart(5, '0')}`;
    out.push({ ...from, mn, label: `SIM${String(i).padStart(5, '0')}`, registered: false, clonedFrom: from.mn });
  }
  return out;
}

/**
 * Finds a device by full MN or by a unique suffix (`BW01`), case-insensitive.
 * Returns an error text naming the choices when nothing or more than one matches.
 */
export function findDevice(devices: SimDevice[], text: string): SimDevice | string {
  const want = text.toUpperCase();
  const exact = devices.find((d) => d.mn.toUpperCase() === want || d.label.toUpperCase() === want);
  if (exact) return exact;
  const hits = devices.filter((d) => d.mn.toUpperCase().endsWith(want));
  if (hits.length === 1) return hits[0] as SimDevice;
  const names = devices.map((d) => d.label).join(', ');
  return hits.length === 0
    ? `no simulated device "${text}"; devices: ${names}`
    : `"${text}" matches ${hits.length} devices (${hits.map((d) => d.label).join(', ')}); give more of the MN`;
}
