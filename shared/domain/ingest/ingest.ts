import type { SealedArchive } from '#shared/domain/archive/archive.ts';
import { chainFor } from '#shared/domain/archive/record.ts';
import { decodeFrame, decodeSegment } from '#shared/domain/hj212/codec.ts';
import { SplitReassembler } from '#shared/domain/hj212/split.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import type { RetentionPolicy } from '#shared/domain/readings/model.ts';
import { type DeviceRef, type Normalized, normalizeJson, normalizePacket } from '#shared/domain/readings/normalize.ts';
import { type IngestEnvelope, JsonTelemetry } from './envelope.ts';
import type { DeviceDirectory, ReadingStore } from './ports.ts';

/**
 * The ingest use-case: one envelope in (from an IoT rule: MQTT HJ 212, MQTT JSON, or the TCP gateway), and
 *  1. a verdict: decode (HJ 212 frame or JSON telemetry), the MN of the packet must be the MN of the topic
 *     ('mn-mismatch'), the device must be registered ('unknown-mn'); the gateway's own refusal (accepted=false) is kept;
 *  2. the sealed archive: every message, accepted or not, appended to its device's hash chain (unknown devices and
 *     garbage to the `_unknown` chain) before anything else;
 *  3. for accepted data: normalized readings stored once each, and the device's per-kind state.
 *
 * Authentication: MQTT devices are authenticated by IoT Core (X.509 certificate, thing name = MN, a policy that lets a
 * device publish only under its own MN), so the PW inside an MQTT message is informational and not checked here
 * (checking a scrypt hash per message would be the costliest step of ingestion). TCP devices are authenticated by the
 * gateway (MN + PW against the registry); its verdict arrives as accepted/reason.
 */
export interface IngestOutcome {
  source: IngestEnvelope['source'];
  mn: string;
  accepted: boolean;
  reason?: string;
  detail?: string;
  chain: string;
  seq: number;
  archiveKey: string;
  replay: boolean;
  readings: number;
  stored: number;
  duplicates: number;
  stateUpdated?: boolean;
  cn?: string;
  warnings?: string[];
}

export interface IngestDeps {
  devices: DeviceDirectory;
  readings: ReadingStore;
  archive: SealedArchive;
  retention: RetentionPolicy;
}

export const toIso = (at: string | number): string => new Date(at).toISOString();

/** What the platform makes of one envelope: accepted or not, why, and the normalized readings. */
export type Verdict = {
  accepted: boolean;
  reason?: string;
  detail?: string;
  device?: DeviceRef;
  claimedMn: string;
  normalized?: Extract<Normalized, { ok: true }>;
  cn?: string;
  dataTime?: string;
  warnings?: string[];
};

export class IngestService {
  constructor(private readonly deps: IngestDeps) {}

  async ingest(envelope: IngestEnvelope): Promise<IngestOutcome> {
    const receivedAt = toIso(envelope.receivedAt);
    const raw = Buffer.from(envelope.raw, 'base64');
    const verdict = await judgeEnvelope(envelope, raw, receivedAt, this.deps.devices);
    const chain = chainFor(verdict.device?.mn, verdict.device !== undefined);
    const appended = await this.deps.archive.append(chain, {
      mn: verdict.claimedMn,
      receivedAt,
      source: envelope.source,
      ...(envelope.clientId !== undefined ? { clientId: envelope.clientId } : {}),
      accepted: verdict.accepted,
      ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}),
      ...(verdict.detail !== undefined ? { detail: verdict.detail.slice(0, 500) } : {}),
      raw,
    });
    const outcome: IngestOutcome = {
      source: envelope.source,
      mn: verdict.claimedMn,
      accepted: verdict.accepted,
      ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}),
      ...(verdict.detail !== undefined ? { detail: verdict.detail } : {}),
      chain,
      seq: appended.record.seq,
      archiveKey: appended.key,
      replay: appended.replay,
      readings: 0,
      stored: 0,
      duplicates: 0,
      ...(verdict.cn !== undefined ? { cn: verdict.cn } : {}),
      ...(verdict.warnings?.length ? { warnings: verdict.warnings } : {}),
    };
    const normalized = verdict.normalized;
    if (!verdict.accepted || !normalized || !verdict.device || normalized.readings.length === 0 || !normalized.kind) {
      return outcome;
    }
    const readings = normalized.readings;
    const { stored, duplicates } = await this.deps.readings.put(readings, this.deps.retention);
    const first = readings[0];
    const stateUpdated = first
      ? await this.deps.readings.updateState(verdict.device.mn, normalized.kind, first.dataTime, receivedAt, readings)
      : false;
    return { ...outcome, readings: readings.length, stored, duplicates, stateUpdated };
  }
}

export async function judgeEnvelope(
  envelope: IngestEnvelope,
  raw: Buffer,
  receivedAt: string,
  devices: DeviceDirectory,
): Promise<Verdict> {
  const topicMn = envelope.mn;
  const at = { source: envelope.source, receivedAt };
  if (envelope.source === 'mqtt-json') {
    const device = await devices.get(topicMn);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      return {
        accepted: false,
        reason: 'bad-json',
        detail: err instanceof Error ? err.message : 'not JSON',
        claimedMn: topicMn,
        ...dev(device),
      };
    }
    const parsed = JsonTelemetry.safeParse(json);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      return { accepted: false, reason: 'invalid-telemetry', detail, claimedMn: topicMn, ...dev(device) };
    }
    if (!device)
      return { accepted: false, reason: 'unknown-mn', detail: `MN ${topicMn} is not registered`, claimedMn: topicMn };
    const normalized = normalizeJson(parsed.data, device, at);
    if (!normalized.ok)
      return { accepted: false, reason: normalized.reason, detail: normalized.detail, claimedMn: topicMn, device };
    return { accepted: true, claimedMn: topicMn, device, normalized, cn: parsed.data.cn };
  }

  if (envelope.kind === 'split-message') return judgeSplitMessage(envelope, raw, devices);
  // HJ 212 (MQTT, or TCP through the gateway): decode the exact bytes again; the codec is pure and cheap
  const decoded = decodeFrame(raw);
  const packetMn = decoded.ok ? decoded.packet.mn : decoded.header.mn;
  const claimedMn = envelope.source === 'tcp-gateway' ? (packetMn ?? topicMn) : topicMn;
  const device = await devices.get(claimedMn);
  if (envelope.source === 'tcp-gateway' && envelope.accepted === false) {
    return {
      accepted: false,
      reason: envelope.reason ?? 'gateway-rejected',
      ...(envelope.detail !== undefined ? { detail: envelope.detail } : {}),
      claimedMn,
      ...dev(device),
    };
  }
  if (!decoded.ok)
    return { accepted: false, reason: decoded.reason, detail: decoded.detail, claimedMn, ...dev(device) };
  const packet = decoded.packet;
  if (packet.mn !== topicMn && !(envelope.source === 'tcp-gateway' && topicMn === 'unknown')) {
    return {
      accepted: false,
      reason: 'mn-mismatch',
      detail: `the packet says MN ${packet.mn} but arrived for ${topicMn}`,
      claimedMn,
      ...dev(device),
      cn: packet.cn,
    };
  }
  if (!device)
    return {
      accepted: false,
      reason: 'unknown-mn',
      detail: `MN ${claimedMn} is not registered`,
      claimedMn,
      cn: packet.cn,
    };
  if (packet.split) {
    // one part of a split message: archived as received; its readings come from the reassembled message
    const detail = `split part ${packet.pno}/${packet.pnum}; readings come from the reassembled message`;
    return { accepted: true, claimedMn, device, cn: packet.cn, detail, warnings: packet.warnings };
  }
  const normalized = normalizePacket(packet, device, at);
  if (!normalized.ok)
    return {
      accepted: false,
      reason: normalized.reason,
      detail: normalized.detail,
      claimedMn,
      device,
      cn: packet.cn,
    };
  return { accepted: true, claimedMn, device, normalized, cn: packet.cn, warnings: packet.warnings };
}

/** A gateway-reassembled split message: decode each part's segment, merge, normalize (parts' CRCs were checked). */
async function judgeSplitMessage(envelope: IngestEnvelope, raw: Buffer, devices: DeviceDirectory): Promise<Verdict> {
  const at = { source: envelope.source, receivedAt: toIso(envelope.receivedAt) };
  const reassembler = new SplitReassembler();
  let complete: Hj212Packet | undefined;
  for (const segment of raw.toString('utf8').split('\n')) {
    const part = decodeSegment(segment);
    if (!part.ok)
      return {
        accepted: false,
        reason: 'malformed-split',
        detail: `${part.reason}: ${part.detail}`,
        claimedMn: envelope.mn,
      };
    complete = reassembler.add(part.packet, 0).complete ?? complete;
  }
  if (!complete)
    return {
      accepted: false,
      reason: 'malformed-split',
      detail: 'the parts do not make a whole message',
      claimedMn: envelope.mn,
    };
  const device = await devices.get(complete.mn);
  if (!device || complete.mn !== envelope.mn) {
    return {
      accepted: false,
      reason: device ? 'mn-mismatch' : 'unknown-mn',
      detail: `MN ${complete.mn}`,
      claimedMn: envelope.mn,
      ...dev(device),
    };
  }
  const normalized = normalizePacket(complete, device, at);
  if (!normalized.ok)
    return {
      accepted: false,
      reason: normalized.reason,
      detail: normalized.detail,
      claimedMn: complete.mn,
      device,
      cn: complete.cn,
    };
  return {
    accepted: true,
    claimedMn: complete.mn,
    device,
    normalized,
    cn: complete.cn,
    detail: envelope.detail ?? 'reassembled split message',
  };
}

const dev = (device: DeviceRef | undefined) => (device ? { device } : {});
