import { type EvalState, emptyEvalState, evaluate } from '#shared/domain/alarms/engine.ts';
import { FalsificationRules } from '#shared/domain/alarms/falsification.ts';
import type { AlarmSource, PacketRef } from '#shared/domain/alarms/model.ts';
import { defaultRuleSet, type RuleSet } from '#shared/domain/alarms/rules.ts';
import type { Reading, ReadingValues } from '#shared/domain/readings/model.ts';
import { buildReading } from '#shared/domain/readings/normalize.ts';
import type { LimitValue } from '#shared/domain/registry/model.ts';

/**
 * Pure alarm-evaluation throughput on one core: `evaluate` (every rule, the falsification pack included) over a mixed
 * stream of 200 devices for 2 simulated hours. 100 water outlets (flow, pH, COD, NH3-N, SS, plus the treatment
 * facility status SB1 and the production current i33200) and 100 boiler stacks (flow, temperature, O2, SO2, NOx and
 * particulate with converted values), real-time every 30 s and hourly averages, interleaved across devices as they
 * would arrive; 1 % of packets are delivered twice. Values wander around 20–70 % of the limits, with exceedance
 * episodes, a D-flag stretch and a stopped treatment facility on a few devices so that rules fire as well.
 *
 * Each pass starts from empty states (the watermarks would skip everything otherwise). readings/s come from the
 * median CPU time of the process over 7 passes after 2 warm-ups (CPU rather than wall time, so that other work on a
 * shared machine does not count against it; the wall-time figure is reported beside it). Also reported: the engine
 * without the falsification pack, the same stream with readings built by object spreads as normalize.ts once did
 * (a hidden class per reading: every property read is a megamorphic inline-cache miss), and the evaluator state size
 * in bytes (JSON) per device after a pass.
 */
const DEVICES = 200;
const HOURS = 2;
const REALTIME_S = 30;
const PASSES = 7;
const TARGET = 500_000;

const START = Date.parse('2026-11-29T00:00:00Z');

const lim = (pollutant: string, unit: string, max: number, min?: number): LimitValue => ({
  pollutant,
  unit,
  max,
  ...(min !== undefined ? { min } : {}),
  standard: 'GB',
  grade: '-',
  basis: 'hourly',
});

function sourceOf(i: number): AlarmSource {
  const water = i % 2 === 0;
  const mn = `33112600000000000000${String(i).padStart(4, '0')}`;
  const enterpriseId = `91331126MA2B${String(i).padStart(5, '0')}X`;
  return {
    mn,
    enterpriseId,
    enterpriseName: `示例单位${i}`,
    outletId: `${enterpriseId}-${water ? 'DW001' : 'DA001'}`,
    outletCode: water ? 'DW001' : 'DA001',
    outletName: water ? '废水总排口' : '锅炉烟囱',
    medium: water ? 'water' : 'air',
    townshipId: 'songyuan',
    industry: water ? 'bamboo_wood' : 'boiler_heating',
    regulator: '庆元县经济商务科技局',
    permitClass: i % 5 === 0 ? 'key' : 'simplified',
    inDrinkingWaterProtectionZone: false,
    limits: water
      ? {
          w01018: lim('w01018', 'mg/L', 100),
          w21003: lim('w21003', 'mg/L', 15),
          w01012: lim('w01012', 'mg/L', 70),
          w01001: lim('w01001', '无量纲', 9, 6),
        }
      : {
          a34013: lim('a34013', 'mg/m³', 20),
          a21026: lim('a21026', 'mg/m³', 50),
          a21002: lim('a21002', 'mg/m³', 200),
        },
    intervals: { realtimeSeconds: REALTIME_S, minuteMinutes: 10, hourly: true },
    equipment: water
      ? [
          { code: 'i33200', role: 'production', name: '生产线电流', runningAbove: 10 },
          { code: 'SB1', role: 'treatment', name: '污水处理设施' },
        ]
      : [],
    deviceStatus: 'active',
  };
}

/** A deterministic wander in [0, 1): a slow wave plus jitter, different per device and pollutant. */
const wander = (i: number, k: number, step: number) =>
  0.5 +
  0.35 * Math.sin((step + i * 13 + k * 7) / 40) * Math.cos((i + k) / 3) +
  ((step * 7919 + i * 104729 + k) % 97) / 970;

/** A reading as the decoder builds it (normalize.ts buildReading: one fixed shape for every reading). */
function reading(
  src: AlarmSource,
  pollutant: string,
  subject: Reading['subject'],
  kind: Reading['kind'],
  dataTime: string,
  values: ReadingValues,
  flag: string | undefined,
  receivedAt: string,
): Reading {
  const base = {
    mn: src.mn,
    enterpriseId: src.enterpriseId,
    outletId: src.outletId,
    kind,
    dataTime,
    source: 'mqtt',
    receivedAt,
  };
  return buildReading(base, pollutant, subject, values, { flag });
}

interface Packet {
  device: number;
  readings: Reading[];
  ref: PacketRef;
}

function workload(sources: AlarmSource[]): { packets: Packet[]; readings: number } {
  const packets: Packet[] = [];
  let readings = 0;
  const steps = (HOURS * 3600) / REALTIME_S;
  for (let step = 0; step < steps; step++) {
    const t = START + step * REALTIME_S * 1000;
    const dataTime = new Date(t).toISOString();
    const receivedAt = new Date(t + 2000).toISOString();
    const hourEnd = (step + 1) % (3600 / REALTIME_S) === 0;
    for (let i = 0; i < DEVICES; i++) {
      const src = sources[i] as AlarmSource;
      const episode = i % 20 === 1 && step % 240 > 150; // exceedance episodes on 5 % of the devices
      const faulty = i % 50 === 4 && step % 240 > 200; // a D-flag stretch on a water outlet's COD
      const out: Reading[] = [];
      const pol = (pollutant: string, values: ReadingValues, flag = 'N') =>
        out.push(reading(src, pollutant, 'pollutant', 'realtime', dataTime, values, flag, receivedAt));
      if (src.medium === 'water') {
        const cod = 100 * (episode ? 1.1 + wander(i, 1, step) / 2 : 0.3 + wander(i, 1, step) * 0.5);
        pol('w00000', { rtd: 10 + 10 * wander(i, 0, step) });
        pol('w01001', { rtd: 7 + wander(i, 2, step) });
        pol('w01018', { rtd: cod }, faulty ? 'D' : 'N');
        pol('w21003', { rtd: 15 * (0.2 + wander(i, 3, step) * 0.5) });
        pol('w01012', { rtd: 70 * (0.2 + wander(i, 4, step) * 0.5) });
        const stopped = i % 40 === 2 && step > 60; // treatment off while producing
        out.push(reading(src, 'SB1', 'facility', 'realtime', dataTime, { rs: stopped ? 0 : 1 }, undefined, receivedAt));
        out.push(reading(src, 'i33200', 'info', 'realtime', dataTime, { info: 40 }, undefined, receivedAt));
      } else {
        const o2 = 8 + 2 * wander(i, 5, step);
        const f = (21 - 3.5) / (21 - o2);
        const so2 = 50 * (episode ? 0.9 + wander(i, 6, step) / 2 : 0.2 + wander(i, 6, step) * 0.5);
        const nox = 200 * (0.3 + wander(i, 7, step) * 0.4);
        const dust = 20 * (0.2 + wander(i, 8, step) * 0.4);
        pol('a00000', { rtd: 3 + wander(i, 9, step) });
        pol('a01012', { rtd: 120 + 10 * wander(i, 10, step) });
        pol('a19001', { rtd: o2 });
        pol('a21026', { rtd: so2 / f, zsRtd: so2 });
        pol('a21002', { rtd: nox / f, zsRtd: nox });
        pol('a34013', { rtd: dust / f, zsRtd: dust });
      }
      const ref: PacketRef = { receivedAt, source: 'mqtt', rawSha256: `${String(i).padStart(8, '0')}${step}` };
      packets.push({ device: i, readings: out, ref });
      readings += out.length;
      if ((step * DEVICES + i) % 100 === 7) {
        packets.push({ device: i, readings: out, ref }); // redelivery
        readings += out.length;
      }
      if (hourEnd) {
        // the hour's averages, DataTime = start of the hour, sent just after it ends
        const hourStart = new Date(t + REALTIME_S * 1000 - 3_600_000).toISOString();
        const hr: Reading[] = out
          .filter((r) => r.subject === 'pollutant')
          .map((r) => {
            const v = r.values;
            const values: ReadingValues = { avg: v.rtd ?? 0, min: (v.rtd ?? 0) * 0.8, max: (v.rtd ?? 0) * 1.2 };
            if (v.zsRtd !== undefined) values.zsAvg = v.zsRtd;
            return reading(src, r.pollutant, 'pollutant', 'hour', hourStart, values, 'N', receivedAt);
          });
        packets.push({ device: i, readings: hr, ref });
        readings += hr.length;
      }
    }
  }
  return { packets, readings };
}

/** The same packets with readings built by object spreads, as normalize.ts did before buildReading (for the ratio). */
function spreadBuilt(packets: Packet[]): Packet[] {
  return packets.map((p) => {
    const first = p.readings[0];
    if (first === undefined) return p;
    const base = {
      mn: first.mn,
      enterpriseId: first.enterpriseId,
      outletId: first.outletId,
      kind: first.kind,
      dataTime: first.dataTime,
      ...{ source: first.source, receivedAt: first.receivedAt },
    };
    const readings = p.readings.map(
      (r): Reading => ({
        ...base,
        pollutant: r.pollutant,
        subject: r.subject,
        values: r.values,
        ...(r.flag !== undefined ? { flag: r.flag } : {}),
      }),
    );
    return { ...p, readings };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

interface PassResult {
  cpuMs: number;
  wallMs: number;
  transitions: number;
  states: EvalState[];
}

/** One pass over the stream from empty states. CPU time is the process's (user + system), GC threads included. */
function pass(packets: Packet[], sources: AlarmSource[], rules: RuleSet): PassResult {
  const states = sources.map(() => emptyEvalState());
  let ids = 0;
  const newId = () => `a${++ids}`;
  let transitions = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const p of packets) {
    const r = evaluate(states[p.device] as EvalState, p.readings, sources[p.device] as AlarmSource, rules, {
      packet: p.ref,
      newId,
    });
    transitions += r.transitions.length;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs, transitions, states };
}

interface Variant {
  packets: Packet[];
  rules: RuleSet;
  passes: number;
}

/**
 * Runs the variants' passes interleaved (A B C, A B C, …) after two warm-up rounds, so that a busy machine slows all
 * of them alike, and returns readings/s from the median CPU time and the median wall time of each.
 */
function rates(variants: Variant[], sources: AlarmSource[], readings: number) {
  for (const v of variants) {
    pass(v.packets, sources, v.rules);
    pass(v.packets, sources, v.rules);
  }
  const runs = variants.map(() => [] as PassResult[]);
  const rounds = Math.max(...variants.map((v) => v.passes));
  for (let r = 0; r < rounds; r++) {
    variants.forEach((v, i) => {
      if (r < v.passes) runs[i]?.push(pass(v.packets, sources, v.rules));
    });
  }
  return runs.map((rs) => ({
    perCpuSecond: Math.round(readings / (median(rs.map((x) => x.cpuMs)) / 1000)),
    perWallSecond: Math.round(readings / (median(rs.map((x) => x.wallMs)) / 1000)),
    last: rs[rs.length - 1] as PassResult,
  }));
}

const FALSIFICATION_OFF = [
  'flatValues',
  'nearLimit',
  'drop',
  'flagsAfterHigh',
  'zeroFlowChanging',
  'ambientO2',
  'productionZeroFlow',
  'identicalSeries',
];

export async function run(): Promise<Record<string, unknown>> {
  const sources = Array.from({ length: DEVICES }, (_, i) => sourceOf(i));
  const { packets, readings } = workload(sources);
  const rules = defaultRuleSet();
  const engineOnly: RuleSet = {
    ...rules,
    falsification: FalsificationRules.parse(Object.fromEntries(FALSIFICATION_OFF.map((k) => [k, { enabled: false }]))),
  };
  const [all, noFals, spread] = rates(
    [
      { packets, rules, passes: PASSES },
      { packets, rules: engineOnly, passes: PASSES },
      { packets: spreadBuilt(packets), rules, passes: 3 },
    ],
    sources,
    readings,
  );
  if (!all || !noFals || !spread) throw new Error('missing variant');
  const sizes = all.last.states.map((s) => Buffer.byteLength(JSON.stringify(s))).sort((a, b) => a - b);
  const openAtEnd: Record<string, number> = {};
  for (const s of all.last.states) {
    for (const key of Object.keys(s.open)) {
      const type = key.slice(0, key.indexOf('#'));
      openAtEnd[type] = (openAtEnd[type] ?? 0) + 1;
    }
  }
  return {
    workload: {
      devices: DEVICES,
      simulatedHours: HOURS,
      realtimeSeconds: REALTIME_S,
      packets: packets.length,
      readings,
      transitionsPerPass: all.last.transitions,
      openAlarmsAtEnd: openAtEnd,
    },
    readingsPerSecond: all.perCpuSecond,
    readingsPerWallSecond: all.perWallSecond,
    readingsPerSecondWithoutFalsification: noFals.perCpuSecond,
    readingsPerSecondSpreadBuiltReadings: spread.perCpuSecond,
    stateBytesPerDevice: {
      p50: sizes[Math.floor(sizes.length / 2)],
      max: sizes[sizes.length - 1],
    },
    targets: [
      {
        name: 'readings evaluated per second (one core)',
        target: TARGET,
        value: all.perCpuSecond,
        pass: all.perCpuSecond >= TARGET,
      },
    ],
  };
}
