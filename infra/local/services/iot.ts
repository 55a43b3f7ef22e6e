/**
 * The local stand-in for AWS IoT Core:
 * - an MQTT broker (aedes over node `net`; MQTT 3.1.1 natively, MQTT 5 through a translating bridge),
 *   QoS 0 and 1 as in AWS (a QoS 2 publish closes the connection; a QoS 2 subscription is acknowledged
 *   as such by aedes, where AWS grants QoS 1, but only QoS 0/1 messages ever flow);
 * - the rules engine for the template's topic rules (AWS IoT SQL 2016-03-23 subset, see iot/iot-sql.ts),
 *   run on every message published by MQTT clients, through the data plane, or by a republish action;
 * - Basic Ingest: `$aws/rules/<ruleName>/<rest>` reaches only that rule and no subscriber
 *   (subscribing to `$aws/rules/…` is refused, as in AWS);
 * - an IoT Data Plane HTTP facade for `IoTDataPlaneClient` (Publish only).
 *
 * Limits vs AWS: no authentication or IoT policies (any client id/username connects); principal() is the
 * MQTT username (or the client id) and, over HTTP, the SigV4 access key id; no device shadows, no
 * retained-message API, no persistent sessions across restarts. See iot/rule-engine.ts for action limits.
 */

import type { Server as HttpServer } from 'node:http';
import net from 'node:net';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import type { InvokeFn, LocalService, TopicRuleSpec } from '#infra/local/spec.ts';
import { startDataPlane } from './iot/data-plane.ts';
import { acceptMqttConnection } from './iot/mqtt-connection.ts';
import { type CompiledRule, compileRule, createRuleEngine, parseBasicIngestTopic } from './iot/rule-engine.ts';

export { type CompiledRule, compileRule, queueUrlFromArn } from './iot/rule-engine.ts';

export interface IotService extends LocalService {
  /** e.g. mqtt://127.0.0.1:1883 */
  mqttUrl: string;
  /** base URL for `new IoTDataPlaneClient({ endpoint })` */
  dataPlaneEndpoint: string;
}

export interface StartIotOptions {
  host?: string;
  /** 0 = a free port */
  mqttPort: number;
  /** 0 = a free port */
  dataPlanePort: number;
  rules: TopicRuleSpec[];
  /** invoke a Lambda by ARN */
  invoke: InvokeFn;
  /** for sqs / sns rule actions */
  awsEndpoints?: { sqs?: string; sns?: string };
  log?: (line: string) => void;
}

/** Clients that did not arrive over MQTT report this as clientid(), like AWS. */
const NOT_MQTT = 'n/a';

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: net.Server | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
  });
}

export async function startIot(opts: StartIotOptions): Promise<IotService> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  // Compile every rule before anything listens: a rule the stand-in cannot run stops start-up here.
  const rules: CompiledRule[] = opts.rules.map(compileRule);

  const usernames = new WeakMap<Client, string>();
  const broker = await Aedes.createBroker({
    authenticate(client, username, _password, done) {
      if (username) usernames.set(client, username);
      done(null, true);
    },
    authorizeSubscribe(client, subscription, done) {
      if (parseBasicIngestTopic(subscription.topic) || subscription.topic.startsWith('$aws/rules/')) {
        log(`iot: refused subscription of ${client.id} to reserved Basic Ingest topic ${subscription.topic}`);
        done(null, null);
        return;
      }
      done(null, subscription);
    },
    authorizePublish(_client, packet, done) {
      if (packet.topic.startsWith('$SYS')) {
        done(new Error('$SYS topics are reserved'));
        return;
      }
      if (packet.qos > 1) {
        done(new Error('QoS 2 is not supported by AWS IoT'));
        return;
      }
      // Basic Ingest bypasses the broker in AWS: never retain such a message.
      if (parseBasicIngestTopic(packet.topic)) packet.retain = false;
      done(null);
    },
  });

  /** Deliver through the broker (unless Basic Ingest), then run the rules. */
  async function publishInternal(
    topic: string,
    payload: Buffer,
    qos: 0 | 1,
    retain: boolean,
    principal: string,
    hops: number,
  ): Promise<void> {
    if (!parseBasicIngestTopic(topic)) {
      const packet: PublishPacket = { cmd: 'publish', topic, payload, qos, retain, dup: false };
      await new Promise<void>((resolve, reject) => {
        broker.publish(packet, (err) => (err ? reject(err) : resolve()));
      });
    }
    engine.dispatch({ topic, payload, clientId: NOT_MQTT, principal, hops });
  }

  const engine = createRuleEngine({
    rules,
    invoke: opts.invoke,
    awsEndpoints: opts.awsEndpoints,
    log,
    republish: (topic, payload, qos, hops) => publishInternal(topic, payload, qos, false, NOT_MQTT, hops),
  });

  broker.on('publish', (packet: AedesPublishPacket, client: Client | null) => {
    // null client: $SYS heartbeats and our own publishInternal (which dispatches itself)
    if (!client) return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    engine.dispatch({
      topic: packet.topic,
      payload,
      clientId: client.id,
      principal: usernames.get(client) ?? client.id,
    });
  });
  broker.on('clientError', (client, err) => log(`iot: mqtt client ${client.id} error: ${err.message}`));

  const sockets = new Set<net.Socket>();
  const mqttServer = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    acceptMqttConnection(socket, broker.handle);
  });

  let dataPlane: HttpServer | undefined;
  let mqttPort: number;
  try {
    mqttPort = await listen(mqttServer, opts.mqttPort, host);
    dataPlane = await startDataPlane({
      host,
      port: opts.dataPlanePort,
      log,
      publish: (m) => publishInternal(m.topic, m.payload, m.qos, m.retain, m.principal, 0),
    });
  } catch (err) {
    broker.close();
    if (mqttServer.listening) await closeServer(mqttServer);
    throw err;
  }
  const dataPlaneAddress = dataPlane.address();
  const dataPlanePort = typeof dataPlaneAddress === 'object' && dataPlaneAddress ? dataPlaneAddress.port : 0;
  const mqttUrl = `mqtt://${host}:${mqttPort}`;
  const dataPlaneEndpoint = `http://${host}:${dataPlanePort}`;
  log(`iot: MQTT broker on ${mqttUrl}, data plane on ${dataPlaneEndpoint}, ${rules.length} topic rule(s)`);

  let stopped = false;
  return {
    name: 'iot',
    mqttUrl,
    dataPlaneEndpoint,
    async stop() {
      if (stopped) return;
      stopped = true;
      const httpServer = dataPlane as HttpServer;
      const closing = [closeServer(mqttServer), closeServer(httpServer)];
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await Promise.all(closing);
      await engine.close();
      log('iot: stopped');
    },
  };
}
