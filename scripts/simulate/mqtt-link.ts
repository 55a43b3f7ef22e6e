import mqtt, { type MqttClient } from 'mqtt';
import type { SendOutcome } from './tcp-link.ts';

/** What a device presents over TLS: its key and certificate, and the CA it trusts for the broker. */
export interface MqttTls {
  key: string;
  cert: string;
  ca: string;
}

/**
 * One device's MQTT connection (client id = MN, as the IoT thing name): QoS 1 publishes, "acked" = PUBACK from the
 * broker. With `tls` (mqtts://) it first obtains its certificate, then connects as a device does to IoT Core; without,
 * it connects to a plain MQTT listener (the platform's --plain-mqtt, for debugging). Over MQTT the platform cannot answer
 * per packet, so rejections (bad CRC, unknown MN) show up only in the archive and metrics, not here. mqtt.js reconnects
 * by itself and keeps QoS 1 messages queued while offline. With `onCommand` it subscribes to its command topic and
 * answers the platform's commands on its hj212 topic.
 */
export class MqttLink {
  private client: MqttClient | undefined;
  private readonly ready: Promise<void>;
  private pending = 0;

  constructor(
    url: string,
    readonly mn: string,
    onConnectionChange?: (connected: boolean, detail: string) => void,
    tls?: () => Promise<MqttTls>,
    /** a command on the device's topic `envwatch/devices/<MN>/cmd` (bytes: a key push is encrypted): the frames to
     * answer with on its hj212 topic */
    onCommand?: (frame: Buffer) => string[],
  ) {
    const open = (credentials?: MqttTls) => {
      const client = mqtt.connect(url, {
        clientId: mn,
        username: mn,
        reconnectPeriod: 2000,
        connectTimeout: 10_000,
        ...credentials,
      });
      client.on('connect', () =>
        onConnectionChange?.(true, `connected to ${url}${credentials ? ' with its certificate' : ''}`),
      );
      client.on('offline', () => onConnectionChange?.(false, 'offline; mqtt.js reconnects every 2 s'));
      client.on('error', (err) => {
        if (/Not authorized/.test(err.message)) onConnectionChange?.(false, `refused: ${err.message}`);
      });
      if (onCommand) {
        const commands = `envwatch/devices/${mn}/cmd`;
        client.on('connect', () => void client.subscribeAsync(commands, { qos: 1 }).catch(() => {}));
        client.on('message', (topic, payload) => {
          if (topic !== commands) return;
          for (const answer of onCommand(payload)) void this.publish(`envwatch/devices/${mn}/hj212`, answer);
        });
      }
      this.client = client;
    };
    this.ready = tls
      ? tls().then(open, (err: unknown) =>
          onConnectionChange?.(false, `no certificate: ${err instanceof Error ? err.message : String(err)}`),
        )
      : Promise.resolve(open());
  }

  get isConnected(): boolean {
    return this.client?.connected ?? false;
  }

  get backlog(): number {
    return this.pending;
  }

  async publish(topic: string, payload: string | Buffer): Promise<SendOutcome> {
    this.pending++;
    try {
      await this.ready;
      if (!this.client) return { result: 'failed', reason: 'no certificate' };
      await this.client.publishAsync(topic, payload, { qos: 1 });
      return { result: 'acked' };
    } catch (e) {
      return { result: 'failed', reason: e instanceof Error ? e.message : String(e) };
    } finally {
      this.pending--;
    }
  }

  async close(drainMs = 0): Promise<void> {
    const until = Date.now() + drainMs;
    await Promise.race([this.ready, new Promise((r) => setTimeout(r, drainMs))]);
    const client = this.client;
    if (!client) return;
    while (client.connected && this.pending > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    await client.endAsync(true);
  }
}
