import mqtt, { type MqttClient } from 'mqtt';
import type { SendOutcome } from './tcp-link.ts';

/**
 * One device's MQTT connection (client id = MN, as the IoT thing name): QoS 1 publishes, "acked" = PUBACK from the
 * broker. Over MQTT the platform cannot answer per packet, so rejections (bad CRC, unknown MN) show up only in the
 * archive and metrics, not here. mqtt.js reconnects by itself and keeps QoS 1 messages queued while offline.
 */
export class MqttLink {
  private readonly client: MqttClient;
  private pending = 0;

  constructor(
    url: string,
    readonly mn: string,
    onConnectionChange?: (connected: boolean, detail: string) => void,
  ) {
    this.client = mqtt.connect(url, { clientId: mn, username: mn, reconnectPeriod: 2000, connectTimeout: 10_000 });
    this.client.on('connect', () => onConnectionChange?.(true, `connected to ${url}`));
    this.client.on('offline', () => onConnectionChange?.(false, 'offline; mqtt.js reconnects every 2 s'));
    this.client.on('error', () => {});
  }

  get isConnected(): boolean {
    return this.client.connected;
  }

  get backlog(): number {
    return this.pending;
  }

  async publish(topic: string, payload: string): Promise<SendOutcome> {
    this.pending++;
    try {
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
    while (this.client.connected && this.pending > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    await this.client.endAsync(true);
  }
}
