import type { EvaluationOutcome } from '#shared/domain/alarms/evaluator.ts';
import type { SealedArchive } from '#shared/domain/archive/archive.ts';
import { chainFor, sha256Hex } from '#shared/domain/archive/record.ts';
import { decodeFrame, decodeSegment } from '#shared/domain/hj212/codec.ts';
import { SplitReassembler } from '#shared/domain/hj212/split.ts';
import type { DecodeResult, Hj212Packet } from '#shared/domain/hj212/types.ts';
import type { RetentionPolicy } from '#shared/domain/readings/model.ts';
import { type DeviceRef, type Normalized, normalizeJson, normalizePacket } from '#shared/domain/readings/normalize.ts';
import { type IngestEnvelope, JsonTelemetry } from './envelope.ts';
import type {
  CommandAnswers,
  DeviceDirectory,
  DeviceKeyOpener,
  KeyRequests,
  ReadingStore,
  ReadingsEvaluation,
} from './ports.ts';

/**
 * The ingest use-case: one envelope in (from an IoT rule: MQTT HJ 212, MQTT JSON, or the TCP gateway), and
 *  1. a verdict: decode (HJ 212 frame or JSON telemetry), the MN of the packet must be the MN of the topic
 *     ('mn-mismatch'), the device must be registered ('unknown-mn'); the gateway's own refusal (accepted=false) is kept;
 *  2. the sealed archive: every message, accepted or not, appended to its device's hash chain (unknown devices and
 *     garbage to the `_unknown` chain) before anything else;
 *  3. for accepted data: normalized readings stored once each, and the device's per-kind state;
 *  4. a device's 9011 / 9012 answers to the platform's commands recorded against the command (by QN), and an MQTT
 *     device's own key request (HJ 212-2025 CN 1014 without NewSK, decrypted) answered with a key push through the
 *     device-command path, as the gateway answers a TCP device's (`keyRequests`; docs/devices.md §2.2);
 *  5. with `alarms`, the same accepted readings evaluated by the alarm engine, from the same decoded message and
 *     verdict (one decode, one device lookup, one invocation per message). The evaluation runs alongside 2–4, so an
 *     alarm is as quick as when the evaluator was the rules' second action; the message fails (and is retried whole)
 *     when either fails. A retry is harmless: the archive recognises the replay, readings are first-write-wins, the
 *     evaluator skips readings it has seen (its watermark) and sends nothing twice.
 *
 * HJ 212-2025 (docs/devices.md §2.1): the frame of a device registered as encrypting is decoded again with its keys
 * (`keys`, the registry's sealed ring opened by KMS; once more with the device read fresh when they do not open, a
 * read the directory may spare for a while once it did not open them either): data in clear is refused
 * (`plaintext-refused`), a frame that does not open is refused (`decrypt-failed`), both archived as received. Without
 * `keys`, such a frame is refused as `no-key`.
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
  /** a 9011 / 9012 that answered one of the platform's commands */
  answered?: boolean;
  /**
   * an MQTT device's key request: the push it got (`resent` when the pending one was sent again), `none` when the
   * request limits sent nothing, `failed` when the push could not be made (the message itself is kept; the device asks again)
   */
  keyRequest?: { version: number; qn: string; resent: boolean } | 'none' | 'failed';
  /** why the key request's push failed (the error's message, which names no key) */
  keyRequestError?: string;
  /** what the alarm engine made of the readings (with `alarms` in the deps, accepted readings only) */
  alarms?: EvaluationOutcome;
}

export interface IngestDeps {
  devices: DeviceDirectory;
  readings: ReadingStore;
  archive: SealedArchive;
  retention: RetentionPolicy;
  /** where a device's 9011 / 9012 answers to the platform's commands go (the device-command capability) */
  answers?: CommandAnswers;
  /** opens HJ 212-2025 device keys; without it encrypted frames are refused as `no-key` */
  keys?: DeviceKeyOpener;
  /** answers an MQTT device's own key request (CN 1014 without NewSK); without it such a request is only archived */
  keyRequests?: KeyRequests;
  /** the alarm engine: accepted readings are evaluated in the same invocation (step 5) */
  alarms?: ReadingsEvaluation<EvaluationOutcome>;
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
  /** the packet is the device's own key request (CN 1014 without NewSK) */
  keyRequest?: true;
};

export class IngestService {
  constructor(private readonly deps: IngestDeps) {}

  /** `message`: the envelope decoded once (decodeMessage), when the caller has it already. */
  async ingest(envelope: IngestEnvelope, message: DecodedMessage = decodeMessage(envelope)): Promise<IngestOutcome> {
    const verdict = await judgeMessage(message, this.deps.devices, this.deps.keys);
    const [outcome, alarms] = await both(this.store(envelope, message, verdict), this.evaluate(message, verdict));
    return alarms ? { ...outcome, alarms } : outcome;
  }

  /** 5. The alarm engine on the verdict's readings (accepted data of a registered device only). */
  private async evaluate(message: DecodedMessage, verdict: Verdict): Promise<EvaluationOutcome | undefined> {
    const readings = verdict.normalized?.readings ?? [];
    if (!this.deps.alarms || !verdict.accepted || !verdict.device || readings.length === 0) return undefined;
    const packet = {
      receivedAt: message.receivedAt,
      source: message.envelope.source,
      rawSha256: sha256Hex(message.raw),
    };
    return this.deps.alarms.evaluate(verdict.device.mn, readings, packet);
  }

  /** 2–4: the sealed archive first, then the answers, then the readings and the device state together. */
  private async store(envelope: IngestEnvelope, message: DecodedMessage, verdict: Verdict): Promise<IngestOutcome> {
    const { raw, receivedAt } = message;
    const chain = chainFor(verdict.device?.mn, verdict.device !== undefined);
    const detail = archiveDetail(verdict);
    const appended = await this.deps.archive.append(chain, {
      mn: verdict.claimedMn,
      receivedAt,
      source: envelope.source,
      ...(envelope.clientId !== undefined ? { clientId: envelope.clientId } : {}),
      accepted: verdict.accepted,
      ...(verdict.reason !== undefined ? { reason: verdict.reason } : {}),
      ...(detail !== undefined ? { detail: detail.slice(0, 500) } : {}),
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
    const answered = await this.recordAnswer(verdict, message);
    if (answered) outcome.answered = true;
    if (!appended.replay) Object.assign(outcome, await this.answerKeyRequest(envelope, verdict));
    const normalized = verdict.normalized;
    if (!verdict.accepted || !normalized || !verdict.device || normalized.readings.length === 0 || !normalized.kind) {
      return outcome;
    }
    const readings = normalized.readings;
    const first = readings[0];
    // the readings and the device's latest values are independent writes, both after the archive: at once
    const [{ stored, duplicates }, stateUpdated] = await both(
      this.deps.readings.put(readings, this.deps.retention),
      first
        ? this.deps.readings.updateState(verdict.device.mn, normalized.kind, first.dataTime, receivedAt, readings)
        : Promise.resolve(false),
    );
    return { ...outcome, readings: readings.length, stored, duplicates, stateUpdated };
  }

  /** 4. An accepted 9011 (QnRtn) or 9012 (ExeRtn) from a registered device answers one of the platform's commands. */
  private async recordAnswer(verdict: Verdict, message: DecodedMessage): Promise<boolean> {
    const answers = this.deps.answers;
    const decoded = message.content.kind === 'hj212' ? message.content.decoded : undefined;
    if (!answers || !verdict.accepted || !verdict.device || !decoded?.ok) return false;
    const p = decoded.packet;
    if (p.cn !== '9011' && p.cn !== '9012') return false;
    const code = Number(p.cp.params[p.cn === '9011' ? 'QnRtn' : 'ExeRtn']);
    if (!Number.isInteger(code)) return false;
    return answers.answer(verdict.device.mn, p.qn, { cn: p.cn, code, at: message.receivedAt });
  }

  /**
   * 4. An MQTT device's own key request (accepted: decrypted with its keys, from its certificate's topic), answered once
   * per message received: a replayed message (a retry, a dead letter) is not answered again, and a failed push does
   * not fail the message (archived already; the device asks again). The gateway answers a TCP device's request.
   */
  private async answerKeyRequest(
    envelope: IngestEnvelope,
    verdict: Verdict,
  ): Promise<Pick<IngestOutcome, 'keyRequest' | 'keyRequestError'>> {
    const keyRequests = this.deps.keyRequests;
    if (!keyRequests || envelope.source !== 'mqtt-hj212' || !verdict.accepted || !verdict.keyRequest) return {};
    if (!verdict.device?.sm4?.encrypting) return {};
    try {
      return { keyRequest: (await keyRequests.request(verdict.device.mn)) ?? 'none' };
    } catch (err) {
      const why = err instanceof Error ? `${err.name}: ${err.message}` : 'unknown error';
      return { keyRequest: 'failed', keyRequestError: why.slice(0, 200) };
    }
  }
}

/**
 * One envelope decoded once: its exact bytes, when it arrived, and what the bytes hold (an HJ 212 frame, a gateway's
 * reassembled split message, or JSON telemetry), before any device is looked up. The ingest use-case and the alarm
 * evaluator judge this same value (judgeMessage); a caller running both on one message decodes it once.
 */
export interface DecodedMessage {
  envelope: IngestEnvelope;
  raw: Buffer;
  /** ISO */
  receivedAt: string;
  content:
    | { kind: 'hj212'; decoded: DecodeResult }
    | { kind: 'split'; decoded: { ok: true; packet: Hj212Packet } | { ok: false; detail: string } }
    | { kind: 'json'; decoded: { ok: true; telemetry: JsonTelemetry } | { ok: false; reason: string; detail: string } };
}

/** Decodes an envelope's bytes (pure; never throws on what a device sent). */
export function decodeMessage(
  envelope: IngestEnvelope,
  raw: Buffer = Buffer.from(envelope.raw, 'base64'),
  receivedAt = toIso(envelope.receivedAt),
): DecodedMessage {
  if (envelope.source === 'mqtt-json')
    return { envelope, raw, receivedAt, content: { kind: 'json', decoded: json(raw) } };
  if (envelope.kind === 'split-message')
    return { envelope, raw, receivedAt, content: { kind: 'split', decoded: reassembled(raw) } };
  // HJ 212 (MQTT, or TCP through the gateway): the exact bytes are decoded again, whatever the gateway found
  return { envelope, raw, receivedAt, content: { kind: 'hj212', decoded: decodeFrame(raw) } };
}

function json(raw: Buffer): Extract<DecodedMessage['content'], { kind: 'json' }>['decoded'] {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'bad-json', detail: err instanceof Error ? err.message : 'not JSON' };
  }
  const parsed = JsonTelemetry.safeParse(value);
  if (parsed.success) return { ok: true, telemetry: parsed.data };
  const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return { ok: false, reason: 'invalid-telemetry', detail };
}

/** A gateway-reassembled split message: each part's segment decoded (their CRCs were checked) and merged. */
function reassembled(raw: Buffer): Extract<DecodedMessage['content'], { kind: 'split' }>['decoded'] {
  const reassembler = new SplitReassembler();
  let complete: Hj212Packet | undefined;
  for (const segment of raw.toString('utf8').split('\n')) {
    const part = decodeSegment(segment);
    if (!part.ok) return { ok: false, detail: `${part.reason}: ${part.detail}` };
    complete = reassembler.add(part.packet, 0).complete ?? complete;
  }
  return complete ? { ok: true, packet: complete } : { ok: false, detail: 'the parts do not make a whole message' };
}

/** What the archive record says: the verdict's detail, and for an accepted message what was tolerated or dropped. */
function archiveDetail(v: Verdict): string | undefined {
  if (!v.accepted || !v.warnings?.length) return v.detail;
  const warnings = `warnings: ${v.warnings.join('; ')}`;
  return v.detail !== undefined ? `${v.detail}; ${warnings}` : warnings;
}

/** Decodes and judges an envelope (see decodeMessage and judgeMessage). */
export function judgeEnvelope(
  envelope: IngestEnvelope,
  raw: Buffer,
  receivedAt: string,
  devices: DeviceDirectory,
  keys?: DeviceKeyOpener,
): Promise<Verdict> {
  return judgeMessage(decodeMessage(envelope, raw, receivedAt), devices, keys);
}

/** The platform's verdict on a decoded message: MN, registered device, normalized readings. */
export async function judgeMessage(
  message: DecodedMessage,
  devices: DeviceDirectory,
  keys?: DeviceKeyOpener,
): Promise<Verdict> {
  const { envelope, receivedAt, content } = message;
  const topicMn = envelope.mn;
  const at = { source: envelope.source, receivedAt };
  if (content.kind === 'json') {
    const device = await devices.get(topicMn);
    const decoded = content.decoded;
    if (!decoded.ok)
      return { accepted: false, reason: decoded.reason, detail: decoded.detail, claimedMn: topicMn, ...dev(device) };
    if (!device)
      return { accepted: false, reason: 'unknown-mn', detail: `MN ${topicMn} is not registered`, claimedMn: topicMn };
    const normalized = normalizeJson(decoded.telemetry, device, at);
    if (!normalized.ok)
      return { accepted: false, reason: normalized.reason, detail: normalized.detail, claimedMn: topicMn, device };
    return {
      accepted: true,
      claimedMn: topicMn,
      device,
      normalized,
      cn: decoded.telemetry.cn,
      ...(normalized.warnings ? { warnings: normalized.warnings } : {}),
    };
  }

  if (content.kind === 'split') return judgeSplitMessage(envelope, content.decoded, receivedAt, devices);
  let decoded = content.decoded;
  const packetMn = decoded.ok ? decoded.packet.mn : decoded.header.mn;
  const claimedMn = envelope.source === 'tcp-gateway' ? (packetMn ?? topicMn) : topicMn;
  let device = await devices.get(claimedMn);
  if (device?.sm4?.encrypting && keys && envelope.accepted !== false) {
    decoded = decodeFrame(message.raw, { keys: await keys.open(device), requireEncryption: true });
  }
  const stale = !decoded.ok && (decoded.reason === 'decrypt-failed' || (decoded.reason === 'no-key' && device));
  if (stale && keys && devices.fresh && envelope.accepted !== false) {
    // the keys may have changed since the device was cached (a rotation, or a key registered for a device cached
    // without one): once more, read now
    const fresh = await devices.fresh(claimedMn);
    if (fresh?.sm4?.encrypting) {
      device = fresh;
      decoded = decodeFrame(message.raw, { keys: await keys.open(fresh), requireEncryption: true });
    }
    // the registry's record does not open it either (no key, a wrong one): the directory may spare the next messages
    // of this device that read for a while
    if (!decoded.ok) devices.unopened?.(claimedMn);
  }
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
  return {
    accepted: true,
    claimedMn,
    device,
    normalized,
    cn: packet.cn,
    warnings: normalized.warnings ? [...packet.warnings, ...normalized.warnings] : packet.warnings,
    ...(packet.cn === '1014' && packet.cp.params.NewSK === undefined ? { keyRequest: true as const } : {}),
  };
}

/** A gateway-reassembled split message: normalized from the merged parts. */
async function judgeSplitMessage(
  envelope: IngestEnvelope,
  decoded: Extract<DecodedMessage['content'], { kind: 'split' }>['decoded'],
  receivedAt: string,
  devices: DeviceDirectory,
): Promise<Verdict> {
  const at = { source: envelope.source, receivedAt };
  if (!decoded.ok)
    return { accepted: false, reason: 'malformed-split', detail: decoded.detail, claimedMn: envelope.mn };
  const complete = decoded.packet;
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
  const warnings = normalized.warnings ? [...complete.warnings, ...normalized.warnings] : complete.warnings;
  return {
    accepted: true,
    claimedMn: complete.mn,
    device,
    normalized,
    cn: complete.cn,
    detail: envelope.detail ?? 'reassembled split message',
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}

const dev = (device: DeviceRef | undefined) => (device ? { device } : {});

/** Both results once both have settled (nothing left running unobserved); the first failure when either failed. */
async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}
