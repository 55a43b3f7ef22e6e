import { DataGapRules } from '#shared/domain/alarms/gaps.ts';
import { decodeFrame } from '#shared/domain/hj212/codec.ts';
import type { Hj212Packet } from '#shared/domain/hj212/types.ts';
import { answerCommand, answerKeyPush } from './answers.ts';
import { type Command, HELP, parseCommand } from './commands.ts';
import type { DeviceKeyAccess } from './credentials.ts';
import { findDevice, type SimDevice, seededDevices, speaks2025, syntheticDevices } from './devices.ts';
import { MqttLink, type MqttTls } from './mqtt-link.ts';
import {
  buildHeartbeat,
  buildHj212,
  buildJson,
  buildKeyRequest,
  buildPower,
  type FrameOptions,
  qnClock,
} from './packets.ts';
import { TcpLink } from './tcp-link.ts';
import { type Emission, Timeline } from './timeline.ts';
import { emptyInjections, type Injections, type Sample, ValueGenerator } from './values.ts';

/**
 * The simulation: a tick loop (simulated time = start + elapsed wall time × speed) that asks each device's Timeline for
 * what is due, builds the packet and sends it over the device's transport:
 *   hj212-2017 / hj212-2005 → TCP to the gateway (or, with `mqttHj212`, HJ 212 text to `envwatch/devices/{mn}/hj212`),
 *   json-mqtt → JSON to `envwatch/devices/{mn}/telemetry`.
 * Injection commands change a device's `Injections`; counts per device feed the minute report and the summary.
 *
 * HJ 212-2025 devices (devices.ts UPGRADED_TO_2025) start once their SM4 keys are known (`keys`: entered in the
 * registry as an installer would) and encrypt every data packet under their current key. A key push (CN 1014, on the
 * TCP connection or the device's MQTT command topic) is answered 9011/9012 with its QN and the device encrypts with the
 * new key from then on. `quiet` sends only 9015 heartbeats while the device keeps its data, then re-sends it with RF=1
 * in time order before going on.
 */
export type Transport = 'tcp' | 'mqtt-hj212' | 'mqtt-json';

export interface Endpoints {
  /** mqtts://host:port: MQTT devices connect with their certificates (SimulationOptions.credentials) */
  mqtts?: string;
  /** mqtt://host:port: plain MQTT (the platform's --plain-mqtt debugging listener), when there is no mqtts */
  mqtt?: string;
  /** tcp://host:port of the HJ 212 gateway */
  hj212?: string;
}

export interface SimulationOptions {
  /** simulated seconds per real second (default 1) */
  speed?: number;
  /** stop by itself after this much wall time */
  durationMs?: number;
  /** RNG seed (default: random) */
  seed?: number;
  /** simulated start, epoch ms (default: now) */
  start?: number;
  /** HJ 212 devices publish over MQTT instead of TCP */
  mqttHj212?: boolean;
  /** the key and certificate an MQTT device connects with over mqtts (credentials.ts gets them from the registry) */
  credentials?: (device: SimDevice) => Promise<MqttTls>;
  /** add `extraDevices` synthetic devices with unregistered MNs (default 1 when set) */
  includeUnregistered?: boolean;
  extraDevices?: number;
  /** only these devices (MN or suffix) */
  only?: string[];
  /** commands applied at start, e.g. `exceed BW01 cod 2` */
  inject?: string[];
  /** how often the loop runs (default 200 ms) */
  tickMs?: number;
  /** per-device report lines every this many ms of wall time (default 60 000; 0 = none) */
  reportEveryMs?: number;
  ackTimeoutMs?: number;
  retries?: number;
  backoffBaseMs?: number;
  /** HJ 212-2025 devices' SM4 keys (credentials.ts registryKeys); without it those devices are skipped */
  keys?: DeviceKeyAccess;
  /** the local platform's data-gap job, fired as of an instant (credentials.ts localDataGapJob), for `datagaps` */
  dataGapJob?: (at: Date) => Promise<string>;
  /** when the platform last stored real-time data of a device as arrived (credentials.ts realtimeArrivals) */
  arrivals?: (mn: string) => Promise<number | undefined>;
  /** how long `datagaps` waits for the platform to store the devices' data (default 120 s) */
  dataGapWaitMs?: number;
  /** wall ms between heartbeats in a quiet period (default: a simulated minute, at least 2 s) */
  heartbeatMs?: number;
  log?: (line: string) => void;
}

export interface DeviceStats {
  mn: string;
  label: string;
  protocol: SimDevice['protocol'];
  transport: Transport;
  registered: boolean;
  connected: boolean;
  sent: number;
  acked: number;
  rejected: number;
  failed: number;
  dropped: number;
  retries: number;
  byCn: Record<'2011' | '2051' | '2061', number>;
  /** HJ 212-2025: heartbeats sent, data packets re-sent with RF=1, keys switched to after a push */
  heartbeats: number;
  resent: number;
  keyChanges: number;
  rejectReasons: Record<string, number>;
  injections: string[];
}

export interface SimSummary {
  seed: number;
  speed: number;
  simStart: string;
  simNow: string;
  elapsedMs: number;
  skipped: string[];
  devices: DeviceStats[];
  totals: { sent: number; acked: number; rejected: number; failed: number; dropped: number };
}

export interface Simulation {
  readonly devices: SimDevice[];
  /** runs one command line; returns what to show the user */
  command(line: string): string;
  stats(): SimSummary;
  /** stops (waiting up to `drainMs`, default 1 s, for in-flight acknowledgements) and returns the summary */
  stop(drainMs?: number): Promise<SimSummary>;
  /** settles when the simulation has stopped (duration reached, `quit`, or stop()) */
  readonly done: Promise<SimSummary>;
}

interface Running {
  device: SimDevice;
  transport: Transport;
  timeline: Timeline;
  inj: Injections;
  qn: (t: number) => string;
  tcp?: TcpLink;
  mqtt?: MqttLink;
  stats: DeviceStats;
  reported: { sent: number; acked: number; rejected: number };
  /** HJ 212-2025: SM4 keys, newest (current) first */
  keys?: Buffer[];
  /** links started (an HJ 212-2025 device waits for its keys); what fell due before is held */
  ready: boolean;
  held: Emission[];
  /** data kept during a quiet period, re-sent with RF=1 after it */
  backlog: Emission[];
  lastBeatAt: number;
  /** wall ms of the last data packet sent */
  lastDataAt?: number;
}

/** what a DAQ keeps while it cannot send (its memory) */
const MAX_KEPT = 2000;

function transportOf(d: SimDevice, mqttHj212: boolean): Transport {
  if (d.protocol === 'json-mqtt') return 'mqtt-json';
  return mqttHj212 ? 'mqtt-hj212' : 'tcp';
}

function parseTcp(url: string): { host: string; port: number } | undefined {
  try {
    const u = new URL(url);
    const port = Number(u.port);
    return u.hostname && port > 0 ? { host: u.hostname, port } : undefined;
  } catch {
    return undefined;
  }
}

function describeInjections(inj: Injections): string[] {
  const out: string[] = [];
  for (const [c, f] of inj.exceed) out.push(`exceed ${c}×${f}`);
  for (const [c, l] of inj.flags) out.push(`flag ${c}=${l}`);
  for (const c of inj.flat.keys()) out.push(`flat ${c}`);
  if (inj.treatmentOff) out.push('treatment-off');
  if (inj.badCrc > 0) out.push(`badcrc ×${inj.badCrc}`);
  if (inj.quietUntil !== undefined) out.push('quiet (heartbeats only)');
  return out;
}

/** Selects the devices; throws with a user-facing message when the selection is wrong. */
export function selectDevices(
  opts: Pick<SimulationOptions, 'only' | 'includeUnregistered' | 'extraDevices'>,
): SimDevice[] {
  if ((opts.extraDevices ?? 0) > 0 && !opts.includeUnregistered) {
    throw new Error('synthetic devices use MNs that are not registered: add --include-unregistered to send them');
  }
  let devices = seededDevices();
  if (opts.includeUnregistered) devices = devices.concat(syntheticDevices(opts.extraDevices ?? 1));
  if (opts.only && opts.only.length > 0) {
    const picked: SimDevice[] = [];
    for (const name of opts.only) {
      const d = findDevice(devices, name);
      if (typeof d === 'string') throw new Error(d);
      if (!picked.includes(d)) picked.push(d);
    }
    devices = picked;
  }
  return devices;
}

export function runSimulation(opts: SimulationOptions, endpoints: Endpoints): Simulation {
  const log = opts.log ?? (() => {});
  const speed = opts.speed ?? 1;
  if (!(speed > 0)) throw new Error('speed must be positive');
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const realStart = Date.now();
  const simStart = opts.start ?? realStart;
  const simNow = () => simStart + (Date.now() - realStart) * speed;
  const skipped: string[] = [];
  const skipped2025: string[] = [];
  const tcp = endpoints.hj212 ? parseTcp(endpoints.hj212) : undefined;
  const running: Running[] = [];
  const injected = (opts.inject ?? []).map((line) => {
    const p = parseCommand(line);
    if (!p.ok) throw new Error(`--inject "${line}": ${p.error}`);
    return p.command;
  });
  const selected = selectDevices(opts);

  for (const device of selected) {
    const transport = transportOf(device, opts.mqttHj212 ?? false);
    if (transport === 'tcp' && !tcp) {
      skipped.push(device.label);
      continue;
    }
    const mqttUrl = endpoints.mqtts && opts.credentials ? endpoints.mqtts : endpoints.mqtt;
    if (transport !== 'tcp' && !mqttUrl) {
      skipped.push(device.label);
      continue;
    }
    const r: Running = {
      device,
      transport,
      timeline: new Timeline(device, new ValueGenerator(device, seed), simStart),
      inj: emptyInjections(),
      qn: qnClock(),
      stats: {
        mn: device.mn,
        label: device.label,
        protocol: device.protocol,
        transport,
        registered: device.registered,
        connected: false,
        sent: 0,
        acked: 0,
        rejected: 0,
        failed: 0,
        dropped: 0,
        retries: 0,
        byCn: { '2011': 0, '2051': 0, '2061': 0 },
        heartbeats: 0,
        resent: 0,
        keyChanges: 0,
        rejectReasons: {},
        injections: [],
      },
      reported: { sent: 0, acked: 0, rejected: 0 },
      ready: false,
      held: [],
      backlog: [],
      lastBeatAt: 0,
    };
    const onConn = (up: boolean, detail: string) => {
      r.stats.connected = up;
      log(`${device.label} ${transport}: ${detail}`);
    };
    const start = () => {
      r.ready = true;
      openLinks(r, onConn);
    };
    if (speaks2025(device)) {
      const keys = opts.keys;
      if (!keys) {
        skipped2025.push(device.label);
        continue;
      }
      keys.keys(device).then(
        (k) => {
          r.keys = k;
          log(`${device.label}: HJ 212-2025, data SM4-encrypted under its key`);
          if (!stopped) start();
        },
        (err: unknown) =>
          log(`${device.label}: no SM4 key (${err instanceof Error ? err.message : String(err)}); it stays silent`),
      );
    } else start();
    running.push(r);
  }

  /** the device's links; commands from the platform are answered on them */
  function openLinks(r: Running, onConn: (up: boolean, detail: string) => void): void {
    const { device, transport } = r;
    const mqttUrl = endpoints.mqtts && opts.credentials ? endpoints.mqtts : endpoints.mqtt;
    if (transport === 'tcp' && tcp) {
      r.tcp = new TcpLink({
        ...tcp,
        ...(opts.ackTimeoutMs !== undefined ? { ackTimeoutMs: opts.ackTimeoutMs } : {}),
        ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
        ...(opts.backoffBaseMs !== undefined ? { backoffBaseMs: opts.backoffBaseMs } : {}),
        onConnectionChange: onConn,
        onRetry: () => {
          r.stats.retries++;
        },
        onRequest: (p) => onCommand(r, p),
        decodeOptions: () => (r.keys ? { keys: r.keys } : undefined),
        onUnmatchedReply: (p) => {
          // e.g. a 9011 answering a 2005 packet, which has no QN to match
          if (p.cn === '9011' && p.cp.params.QnRtn !== '1') reject(r, `QnRtn=${p.cp.params.QnRtn ?? '?'}`);
        },
      });
      r.tcp.start();
    } else if (mqttUrl) {
      const credentials = mqttUrl === endpoints.mqtts ? opts.credentials : undefined;
      const fromPlatform =
        transport === 'mqtt-hj212'
          ? (frame: Buffer) => {
              const d = decodeFrame(frame, r.keys ? { keys: r.keys } : undefined);
              return d.ok ? onCommand(r, d.packet) : [];
            }
          : undefined;
      r.mqtt = new MqttLink(mqttUrl, device.mn, onConn, credentials && (() => credentials(device)), fromPlatform);
    }
  }

  /** a frame from the platform that is not a reply: a key push (CN 1014) or another command */
  function onCommand(r: Running, p: Hj212Packet): string[] {
    if (p.cn !== '1014') return answered(r, answerCommand(r.device, p), p.cn);
    const a = answerKeyPush(r.device, p);
    if (a.frames.length === 0) return [];
    const codes = a.frames.map((f) => /(QnRtn|ExeRtn)=\d+/.exec(f)?.[0]).join(', ');
    if (a.newKey) {
      const key = a.newKey;
      r.keys = [key, ...(r.keys ?? []).filter((k) => !k.equals(key))].slice(0, 3);
      opts.keys?.save(r.device, r.keys);
      r.stats.keyChanges++;
    }
    log(
      `${r.device.label}: key push CN=1014 (QN ${p.qn ?? '?'}) → ${codes}` +
        (a.newKey ? '; encrypting with the new key from now on' : `; refused: ${a.refused}`),
    );
    return a.frames;
  }

  if (skipped2025.length > 0)
    log(`skipping ${skipped2025.join(', ')}: HJ 212-2025 devices need the registry for their SM4 keys`);
  if (skipped.length > 0) {
    const why = !tcp
      ? endpoints.hj212
        ? `hj212 endpoint "${endpoints.hj212}" is not tcp://host:port`
        : 'no hj212 endpoint in endpoints.json (the platform has no HJ 212 gateway yet)'
      : 'no mqtts endpoint with credentials, nor a plain mqtt one';
    log(`skipping ${skipped.join(', ')}: ${why}`);
  }

  /** logs a platform command and the answers going back */
  function answered(r: Running, frames: string[], cn: string): string[] {
    if (frames.length > 0) {
      const codes = frames.map((f) => /(QnRtn|ExeRtn)=\d+/.exec(f)?.[0]).join(', ');
      log(`${r.device.label}: platform command CN=${cn} → ${codes}`);
    }
    return frames;
  }

  function reject(r: Running, reason: string): void {
    r.stats.rejected++;
    r.stats.rejectReasons[reason] = (r.stats.rejectReasons[reason] ?? 0) + 1;
  }

  function count(r: Running, outcome: { result: string; reason?: string }): void {
    const s = r.stats;
    if (outcome.result === 'acked') s.acked++;
    else if (outcome.result === 'rejected') reject(r, outcome.reason ?? 'rejected');
    else if (outcome.result === 'failed') s.failed++;
    else if (outcome.result === 'dropped') s.dropped++;
  }

  function send(r: Running, e: Emission, resent = false): void {
    const d = r.device;
    r.stats.sent++;
    r.stats.byCn[e.cn]++;
    r.lastDataAt = Date.now();
    if (resent) r.stats.resent++;
    if (r.transport === 'mqtt-json') {
      void r.mqtt
        ?.publish(`envwatch/devices/${d.mn}/telemetry`, JSON.stringify(buildJson(d, e)))
        .then((o) => count(r, o));
      return;
    }
    const corrupt = r.inj.badCrc > 0;
    if (corrupt) r.inj.badCrc--;
    const qn = r.qn(simNow());
    const frame = buildHj212(d, e, qn, { ...frameOptions(r, resent), corruptCrc: corrupt });
    if (r.transport === 'mqtt-hj212') {
      void r.mqtt?.publish(`envwatch/devices/${d.mn}/hj212`, frame).then((o) => count(r, o));
    } else {
      const legacy = d.protocol === 'hj212-2005';
      void r.tcp?.send(frame, legacy ? undefined : qn, !legacy).then((o) => count(r, o));
    }
    if (e.cn === '2011') sendPower(r, e.sample, resent);
  }

  /** an HJ 212-2025 device encrypts under its current key, and marks re-sent data RF=1 */
  function frameOptions(r: Running, resent: boolean): FrameOptions {
    const key = speaks2025(r.device) ? r.keys?.[0] : undefined;
    return { ...(key ? { key } : {}), ...(resent ? { resent } : {}) };
  }

  /** the ST=44 electricity packet beside a real-time packet (devices with meters) */
  function sendPower(r: Running, sample: Sample, resent: boolean): void {
    const qn = r.qn(simNow());
    const frame = buildPower(r.device, sample, qn, frameOptions(r, resent));
    if (frame === undefined) return;
    r.stats.sent++;
    if (r.transport === 'mqtt-hj212') {
      void r.mqtt?.publish(`envwatch/devices/${r.device.mn}/hj212`, frame).then((o) => count(r, o));
    } else if (r.transport === 'tcp') {
      void r.tcp?.send(frame, qn, true).then((o) => count(r, o));
    }
  }

  /** an HJ 212-2025 heartbeat (9015, answered 9013 over TCP): the link is alive, but it is not data */
  function heartbeat(r: Running): void {
    r.lastBeatAt = Date.now();
    r.stats.heartbeats++;
    const qn = r.qn(simNow());
    const frame = buildHeartbeat(r.device, qn);
    if (r.transport === 'tcp') void r.tcp?.send(frame, qn, true);
    else void r.mqtt?.publish(`envwatch/devices/${r.device.mn}/hj212`, frame);
  }

  const keep = (list: Emission[], more: Emission[]) => {
    list.push(...more);
    if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT);
  };
  const heartbeatMs = opts.heartbeatMs ?? Math.max(2000, 60_000 / speed);

  let stopped = false;
  const tick = () => {
    const now = simNow();
    for (const r of running) {
      const due = r.timeline.advance(now, r.inj);
      if (!r.ready) {
        keep(r.held, due);
        continue;
      }
      if (r.held.length > 0) due.unshift(...r.held.splice(0));
      if (r.inj.quietUntil !== undefined) {
        if (now < r.inj.quietUntil) {
          keep(r.backlog, due);
          if (Date.now() - r.lastBeatAt >= heartbeatMs) heartbeat(r);
          continue;
        }
        r.inj.quietUntil = undefined;
        const backlog = r.backlog.splice(0);
        log(`${r.device.label}: quiet period over; re-sending ${backlog.length} stored packet(s) with RF=1`);
        for (const e of backlog) send(r, e, true);
      }
      for (const e of due) send(r, e);
    }
  };

  /** HJ/T 212-2005 packets have no Flag, so TCP gives no acknowledgement to count */
  const noAck = (r: Running) => r.transport === 'tcp' && r.device.protocol === 'hj212-2005';

  const report = () => {
    const clock = new Date().toISOString().slice(11, 19);
    const sim = new Date(simNow() + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    for (const r of running) {
      const s = r.stats;
      const d = (k: 'sent' | 'acked' | 'rejected') => s[k] - r.reported[k];
      const inj = describeInjections(r.inj);
      log(
        `${clock} [sim ${sim}] ${r.device.label.padEnd(8)} ${r.transport.padEnd(10)} ` +
          `sent +${d('sent')} acked ${noAck(r) ? 'n/a' : `+${d('acked')}`} rejected +${d('rejected')}  ` +
          `(total ${s.sent}/${s.acked}/${s.rejected}${s.failed ? `, ${s.failed} unanswered` : ''})` +
          `${s.connected ? '' : ' [not connected]'}${inj.length ? ` {${inj.join(', ')}}` : ''}`,
      );
      r.reported = { sent: s.sent, acked: s.acked, rejected: s.rejected };
    }
  };

  const stats = (): SimSummary => {
    const devices = running.map((r) => ({ ...r.stats, injections: describeInjections(r.inj) }));
    const sum = (k: 'sent' | 'acked' | 'rejected' | 'failed' | 'dropped') => devices.reduce((a, d) => a + d[k], 0);
    return {
      seed,
      speed,
      simStart: new Date(simStart).toISOString(),
      simNow: new Date(simNow()).toISOString(),
      elapsedMs: Date.now() - realStart,
      skipped,
      devices,
      totals: {
        sent: sum('sent'),
        acked: sum('acked'),
        rejected: sum('rejected'),
        failed: sum('failed'),
        dropped: sum('dropped'),
      },
    };
  };

  function status(): string {
    const lines = [
      `simulated time ${new Date(simNow() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ')} (Beijing), speed ×${speed}, seed ${seed}`,
    ];
    for (const r of running) {
      const s = r.stats;
      const gap = r.inj.gapUntil !== undefined && r.inj.gapUntil > simNow() ? ['silent (gap)'] : [];
      const inj = [...describeInjections(r.inj), ...gap];
      lines.push(
        `  ${r.device.label.padEnd(8)} ${r.device.protocol.padEnd(10)} ${r.transport.padEnd(10)} ${s.connected ? 'up  ' : 'down'} ` +
          `sent ${s.sent} acked ${s.acked} rejected ${s.rejected} unanswered ${s.failed}` +
          `${r.device.registered ? '' : ' (unregistered MN)'}${inj.length ? `  {${inj.join(', ')}}` : ''}`,
      );
    }
    return lines.join('\n');
  }

  let resolveDone: (s: SimSummary) => void = () => {};
  const done = new Promise<SimSummary>((r) => {
    resolveDone = r;
  });

  function apply(c: Command): string {
    if (c.kind === 'help') return HELP;
    if (c.kind === 'status') return status();
    if (c.kind === 'quit') {
      void stop();
      return 'stopping…';
    }
    const found = findDevice(
      running.map((r) => r.device),
      c.device,
    );
    if (typeof found === 'string') return found;
    const r = running.find((x) => x.device === found) as Running;
    const d = r.device;
    const hasPollutant = (code: string): string | undefined =>
      d.pollutants.includes(code)
        ? undefined
        : `${d.label} does not measure ${code}; it measures ${d.pollutants.join(', ')}`;
    switch (c.kind) {
      case 'exceed': {
        const missing = hasPollutant(c.pollutant);
        if (missing) return missing;
        const limit = d.limits[c.pollutant]?.max;
        if (limit === undefined) {
          const limited = Object.keys(d.limits).filter((k) => d.limits[k]?.max !== undefined);
          return `${d.label}'s outlet has no limit for ${c.pollutant}; limits exist for ${limited.join(', ') || 'nothing'}`;
        }
        r.inj.exceed.set(c.pollutant, c.factor);
        return `${d.label}: ${c.pollutant} at ${c.factor} × ${limit} = ${+(c.factor * limit).toFixed(3)} until \`normal ${d.label}\``;
      }
      case 'normal':
        r.inj.exceed.clear();
        r.inj.flags.clear();
        r.inj.flat.clear();
        r.inj.treatmentOff = false;
        return `${d.label}: back to normal`;
      case 'gap':
        r.inj.gapUntil = simNow() + c.minutes * 60_000;
        return `${d.label}: silent for ${c.minutes} simulated minutes (${Math.round((c.minutes * 60) / speed)} s real)`;
      case 'flag': {
        const missing = hasPollutant(c.pollutant);
        if (missing) return missing;
        if (c.letter === 'N') r.inj.flags.delete(c.pollutant);
        else r.inj.flags.set(c.pollutant, c.letter);
        return `${d.label}: ${c.pollutant}-Flag=${c.letter}`;
      }
      case 'badcrc':
        if (r.transport === 'mqtt-json') return `${d.label} sends JSON over MQTT: there is no CRC to corrupt`;
        r.inj.badCrc += c.count;
        return `${d.label}: the next ${r.inj.badCrc} packet(s) go out with a wrong CRC`;
      case 'flat': {
        const missing = hasPollutant(c.pollutant);
        if (missing) return missing;
        r.inj.flat.set(c.pollutant, undefined);
        return `${d.label}: ${c.pollutant} flat-lines from the next sample`;
      }
      case 'quiet':
        if (!speaks2025(d)) return `${d.label} speaks ${d.protocol}: heartbeats and RF=1 are HJ 212-2025 (try gap)`;
        r.inj.quietUntil = simNow() + c.minutes * 60_000;
        r.lastBeatAt = 0;
        return `${d.label}: only 9015 heartbeats for ${c.minutes} simulated minutes (${Math.round((c.minutes * 60) / speed)} s real); its data is kept and re-sent with RF=1 after`;
      case 'rotate-key': {
        if (!speaks2025(d)) return `${d.label} speaks ${d.protocol}: only HJ 212-2025 devices have SM4 keys`;
        const keys = opts.keys;
        if (!keys) return 'no registry access for keys';
        keys.rotate(d).then(log, (err: unknown) => log(err instanceof Error ? err.message : String(err)));
        return `${d.label}: asking the registry for a new SM4 key (as an administrator)…`;
      }
      case 'request-key': {
        if (!speaks2025(d)) return `${d.label} speaks ${d.protocol}: only HJ 212-2025 devices have SM4 keys`;
        const key = r.keys?.[0];
        if (!key) return `${d.label} has no SM4 key yet`;
        const qn = r.qn(simNow());
        const frame = buildKeyRequest(d, qn, key);
        if (r.transport === 'tcp') void r.tcp?.send(frame, qn, true);
        else void r.mqtt?.publish(`envwatch/devices/${d.mn}/hj212`, frame);
        return `${d.label}: key request CN=1014 (QN ${qn}) sent over ${r.transport === 'tcp' ? 'TCP' : 'MQTT'}; the platform pushes a new key (or its pending push again) through the command path`;
      }
      case 'datagaps':
        return dataGaps(r);
      case 'treatment-off':
        if (d.power) {
          r.inj.treatmentOff = true;
          return `${d.label}: treatment meter ${d.power.treatment} reads 0 kW while production (${d.power.production}) draws power`;
        }
        if (!d.facilities) return `${d.label} reports no facility status (SB1/SB2) nor electricity meters`;
        r.inj.treatmentOff = true;
        return `${d.label}: SB2-RS=0 (treatment off) while SB1 production runs`;
    }
  }

  /**
   * Fires the platform's data-gap job as of the instant the quiet device's real-time silence passes the platform's
   * default allowance (its last stored arrival + allowance + 2 s): the job measures silence from when data last
   * ARRIVED, in platform time, which a sped-up run cannot wait for. It first waits until the platform has stored data
   * that every other device sent after that (a busy local platform stores data later than it arrives), so that the
   * devices still sending stay within their allowance at that instant; the quiet one's heartbeats are not data.
   */
  function dataGaps(r: Running): string {
    const d = r.device;
    const job = opts.dataGapJob;
    const arrivals = opts.arrivals;
    if (!job || !arrivals) return 'the data-gap job can be run only on the local platform (npm start)';
    if (r.inj.quietUntil === undefined || r.lastDataAt === undefined)
      return `${d.label} is not quiet: \`quiet ${d.label} <minutes>\` first`;
    const rules = DataGapRules.parse({});
    const allowance = Math.max(rules.realtimeMultiple * d.realtimeSeconds * 1000, rules.realtimeMinMinutes * 60_000);
    const others = running.filter((x) => x !== r && x.ready && x.device.registered);
    const quietSince = r.lastDataAt;
    const fail = (why: string) => log(`${d.label}: data-gap job not run: ${why}`);
    void (async () => {
      const until = Date.now() + (opts.dataGapWaitMs ?? 120_000);
      for (;;) {
        if (stopped) return;
        const last = await arrivals(d.mn);
        if (last !== undefined && last > quietSince + 1000)
          return fail('its quiet period ended before the platform had stored what came before it (try a longer quiet)');
        const seen = await Promise.all(others.map((x) => arrivals(x.device.mn)));
        if (last !== undefined && last >= quietSince - 2000 && seen.every((t) => t !== undefined && t > last + 3000)) {
          const at = new Date(last + allowance + 2000);
          const rule = await job(at);
          log(
            `${d.label}: data-gap job ${rule} ran as of ${at.toISOString()} (its last data + ${allowance / 60_000} min + 2 s; the others sent since): look for a data_gap alarm (GET /alarms?type=data_gap)`,
          );
          return;
        }
        if (Date.now() > until) return fail("the platform has not stored the devices' recent data yet (is it busy?)");
        await new Promise((res) => setTimeout(res, 1000));
      }
    })().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
    return `${d.label}: the data-gap job will run as of ${Math.round(allowance / 60_000)} min 2 s after its last data, once the platform has stored the others' newer data…`;
  }

  const command = (line: string): string => {
    const p = parseCommand(line);
    return p.ok ? apply(p.command) : p.error;
  };

  for (const c of injected) log(apply(c));

  const tickTimer = setInterval(tick, opts.tickMs ?? 200);
  const every = opts.reportEveryMs ?? 60_000;
  const reportTimer = every > 0 ? setInterval(report, every) : undefined;
  const durationTimer = opts.durationMs !== undefined ? setTimeout(() => void stop(), opts.durationMs) : undefined;
  setImmediate(tick);

  let stopping: Promise<SimSummary> | undefined;
  function stop(drainMs = 1000): Promise<SimSummary> {
    stopping ??= (async () => {
      stopped = true;
      clearInterval(tickTimer);
      clearInterval(reportTimer);
      clearTimeout(durationTimer);
      await Promise.all(running.map((r) => r.tcp?.close(drainMs) ?? r.mqtt?.close(drainMs)));
      const summary = stats();
      resolveDone(summary);
      return summary;
    })();
    return stopping;
  }

  return {
    devices: running.map((r) => r.device),
    command: (line) => (stopped ? 'the simulation has stopped' : command(line)),
    stats,
    stop,
    done,
  };
}
