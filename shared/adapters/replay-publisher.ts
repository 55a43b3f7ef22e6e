import { type IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import type { ReplayPublisher } from '#shared/domain/redrive/ports.ts';

/** Publishes a replay through the IoT data plane (QoS 1): the topic's rules run again as for the first delivery. */
export function iotReplayPublisher(iot: IoTDataPlaneClient): ReplayPublisher {
  return {
    async publish(topic, payload) {
      await iot.send(new PublishCommand({ topic, qos: 1, payload }));
    },
  };
}
