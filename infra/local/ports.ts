import { createServer } from 'node:net';

/** Ports of the local platform. `npm start` uses fixed defaults (shifted by --port-base); tests ask for free ones. */
export interface PlatformPorts {
  http: number;
  dynamodb: number;
  s3: number;
  messaging: number;
  stepfunctions: number;
  iotData: number;
  /** plain MQTT, only with --plain-mqtt (debugging) */
  mqtt: number;
  /** MQTT over TLS with client certificates (devices connect here, as to IoT Core) */
  mqtts: number;
  /** IoT control plane (AWS_ENDPOINT_URL_IOT: things, certificates, policies) */
  iot: number;
  /** HJ 212 TCP gateway (devices connect here) */
  hj212: number;
  /** KMS facade (AWS JSON 1.1) */
  kms: number;
  /** the local OpenID Connect provider officials sign in with */
  oidc: number;
}

export function defaultPorts(base = 4510): PlatformPorts {
  return {
    http: base,
    dynamodb: base + 1,
    s3: base + 2,
    messaging: base + 3,
    stepfunctions: base + 4,
    iotData: base + 5,
    hj212: base + 6,
    kms: base + 7,
    oidc: base + 8,
    iot: base + 9,
    mqtt: 1883 + (base - 4510),
    mqtts: 8883 + (base - 4510),
  };
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function freePorts(host = '127.0.0.1'): Promise<PlatformPorts> {
  const [http, dynamodb, s3, messaging, stepfunctions, iotData, mqtt, hj212, kms, oidc, mqtts, iot] = await Promise.all(
    Array.from({ length: 12 }, () => freePort(host)),
  );
  return { http, dynamodb, s3, messaging, stepfunctions, iotData, mqtt, hj212, kms, oidc, mqtts, iot } as PlatformPorts;
}

/** Resolves to the first port of `ports` that is taken, or undefined when all are free. */
export async function firstBusyPort(ports: number[], host = '127.0.0.1'): Promise<number | undefined> {
  for (const port of ports) {
    const busy = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(true));
      server.listen(port, host, () => server.close(() => resolve(false)));
    });
    if (busy) return port;
  }
  return undefined;
}
