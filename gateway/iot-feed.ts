import { createHash, createHmac, randomUUID } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '#shared/observability/logger.ts';
import { COMMAND_FILTER, type CommandFeed } from './commands.ts';

/**
 * The gateway task's command feed on AWS IoT Core: MQTT over WebSocket (wss://<ATS endpoint>/mqtt) signed with the
 * task role's credentials (SigV4, service `iotdevicegateway`), client id `envwatch-gateway-<uuid>` (the task role may
 * connect only with that prefix), one QoS 1 subscription to `envwatch/gateway/cmd/+`. mqtt.js reconnects and
 * re-subscribes by itself; each (re)connection uses a freshly signed URL, refreshed in the background because
 * `transformWsUrl` must answer synchronously. `start` resolves at once: data keeps flowing while IoT Core is away,
 * commands resume when it is back.
 */
/** AWS credentials as the SDK clients' `config.credentials()` gives them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface IotFeedOptions {
  /** the account's `iot:Data-ATS` endpoint host */
  endpoint: string;
  region: string;
  credentials: () => Promise<AwsCredentials>;
  logger: Logger;
  /** how often the signed URL is renewed (default 4 min; it is signed for 5) */
  resignMs?: number;
}

/** string, ArrayBuffer or a view: what the signer hands a hash */
type Source = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Source): string | Uint8Array =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);

/** SHA-256 / HMAC-SHA-256 for the signer, from node:crypto */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: Source) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Source): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** A presigned `wss://…/mqtt` URL; IoT Core wants the session token added after signing. */
export async function signedIotUrl(
  endpoint: string,
  region: string,
  credentials: AwsCredentials,
  now = new Date(),
): Promise<string> {
  const { sessionToken, ...longTerm } = credentials;
  const signer = new SignatureV4({ service: 'iotdevicegateway', region, credentials: longTerm, sha256: NodeSha256 });
  const signed = await signer.presign(
    { method: 'GET', protocol: 'wss:', hostname: endpoint, path: '/mqtt', headers: { host: endpoint }, query: {} },
    { expiresIn: 300, signingDate: now },
  );
  const query = new URLSearchParams(signed.query as Record<string, string>);
  if (sessionToken) query.set('X-Amz-Security-Token', sessionToken);
  return `wss://${endpoint}/mqtt?${query.toString()}`;
}

export function iotCommandFeed(opts: IotFeedOptions): CommandFeed {
  let client: MqttClient | undefined;
  let url = '';
  let timer: NodeJS.Timeout | undefined;
  const resign = async () => {
    url = await signedIotUrl(opts.endpoint, opts.region, await opts.credentials());
  };
  return {
    async start(deliver) {
      await resign();
      timer = setInterval(() => {
        resign().catch((err: unknown) => opts.logger.warn('command feed: signing failed', { error: err }));
      }, opts.resignMs ?? 240_000);
      timer.unref();
      client = mqtt.connect(url, {
        clientId: `envwatch-gateway-${randomUUID()}`,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 5_000,
        transformWsUrl: () => url,
      });
      client.on('connect', () => {
        client?.subscribe(COMMAND_FILTER, { qos: 1 }, (err) => {
          if (err) opts.logger.error('command feed: subscribe failed', { error: err });
          else opts.logger.info('command feed subscribed', { filter: COMMAND_FILTER });
        });
      });
      client.on('message', (topic, payload) => deliver(topic, payload));
      client.on('error', (err) => opts.logger.warn('command feed: connection error', { error: err }));
    },
    async stop() {
      if (timer) clearInterval(timer);
      await client?.endAsync();
    },
  };
}
