import { nullRecord } from '#shared/domain/null-record.ts';
import type { Hj212Packet } from './types.ts';

/**
 * Reassembles split messages (Flag D=1 with PNUM/PNO): parts of one message share MN, ST, CN and QN. When every part
 * has arrived, the parts' CP data are merged into one packet; a repeated part is ignored; a message still incomplete
 * after `timeoutMs` is given up and reported so it can be archived as rejected.
 */
interface Group {
  first: number;
  pnum: number;
  parts: Map<number, Hj212Packet>;
}

export interface ExpiredSplit {
  mn: string;
  qn?: string;
  cn: string;
  pnum: number;
  received: number[];
  parts: Hj212Packet[];
}

export class SplitReassembler {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly timeoutMs = 60_000,
    private readonly maxGroups = 10_000,
  ) {}

  get size(): number {
    return this.groups.size;
  }

  add(p: Hj212Packet, now: number): { complete?: Hj212Packet; duplicate?: boolean; evicted?: ExpiredSplit } {
    if (!p.split || p.pnum === undefined || p.pno === undefined) return { complete: p };
    const key = `${p.mn}|${p.st}|${p.cn}|${p.qn ?? ''}|${p.pnum}`;
    let evicted: ExpiredSplit | undefined;
    let g = this.groups.get(key);
    if (!g) {
      if (this.groups.size >= this.maxGroups) evicted = this.evictOldest();
      g = { first: now, pnum: p.pnum, parts: new Map() };
      this.groups.set(key, g);
    }
    if (g.parts.has(p.pno)) return { duplicate: true, ...(evicted ? { evicted } : {}) };
    g.parts.set(p.pno, p);
    if (g.parts.size < g.pnum) return evicted ? { evicted } : {};
    this.groups.delete(key);
    return {
      complete: merge([...g.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, part]) => part)),
      ...(evicted ? { evicted } : {}),
    };
  }

  expire(now: number): ExpiredSplit[] {
    const out: ExpiredSplit[] = [];
    for (const [key, g] of this.groups) {
      if (now - g.first >= this.timeoutMs) {
        this.groups.delete(key);
        out.push(report(g));
      }
    }
    return out;
  }

  private evictOldest(): ExpiredSplit | undefined {
    const [key, g] = this.groups.entries().next().value ?? [];
    if (!key || !g) return undefined;
    this.groups.delete(key);
    return report(g);
  }
}

function report(g: Group): ExpiredSplit {
  const parts = [...g.parts.values()];
  const any = parts[0] as Hj212Packet;
  return {
    mn: any.mn,
    ...(any.qn ? { qn: any.qn } : {}),
    cn: any.cn,
    pnum: g.pnum,
    received: [...g.parts.keys()].sort((a, b) => a - b),
    parts,
  };
}

function merge(parts: Hj212Packet[]): Hj212Packet {
  const first = parts[0] as Hj212Packet;
  // device-chosen names are keys here too: null records (assigning any key to one only creates an own property)
  const cp: Hj212Packet['cp'] = {
    dataTime: undefined,
    params: nullRecord(),
    pollutants: nullRecord(),
    facilities: nullRecord(),
    info: nullRecord(),
  };
  const warnings: string[] = [];
  for (const part of parts) {
    if (!cp.dataTime && part.cp.dataTime) cp.dataTime = part.cp.dataTime;
    else if (part.cp.dataTime && part.cp.dataTime !== cp.dataTime)
      warnings.push(`part ${part.pno} has another DataTime`);
    Object.assign(cp.params, part.cp.params);
    Object.assign(cp.facilities, part.cp.facilities);
    Object.assign(cp.info, part.cp.info);
    for (const [code, data] of Object.entries(part.cp.pollutants)) {
      const had = cp.pollutants[code];
      cp.pollutants[code] = had ? { ...had, ...data, values: { ...had.values, ...data.values } } : data;
    }
    warnings.push(...part.warnings);
  }
  const { pnum: _pnum, pno: _pno, ...rest } = first;
  return { ...rest, split: false, cp, segment: parts.map((p) => p.segment).join('\n'), warnings };
}
