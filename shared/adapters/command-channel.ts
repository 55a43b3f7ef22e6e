import { type IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import type { CommandChannel } from '#shared/domain/commands/ports.ts';

/** Commands to devices through the IoT Data Plane (QoS 1): the gateway's per-device topic or the device's own. */
export class IotCommandChannel implements CommandChannel {
  constructor(private readonly iot: IoTDataPlaneClient) {}

  async publish(topic: string, payload: string | Uint8Array): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    await this.iot.send(new PublishCommand({ topic, qos: 1, payload: bytes }));
  }
}
