/**
 * The local stand-in for AWS IoT Core:
 * - an MQTT broker (aedes; MQTT 3.1.1 natively, MQTT 5 through a translating bridge), QoS 0 and 1 as in AWS (a QoS 2
 *   publish closes the connection; a QoS 2 subscription is acknowledged as such by aedes, where AWS grants QoS 1, but
 *   only QoS 0/1 messages ever flow);
 * - device identities (`identity`): MQTT over TLS where a client must present a certificate of the local CA
 *   (iot/local-ca.ts) that the control plane knows, that is ACTIVE, and whose attached policies (the template's
 *   AWS::IoT::Policy documents, evaluated by iot/policy.ts as IoT Core does) allow iot:Connect for its client id, then
 *   iot:Publish, iot:Subscribe and iot:Receive per message; a certificate that is deactivated or detached while
 *   connected is disconnected. Plus the control plane (iot/control-plane.ts) that onboarding calls through
 *   `@aws-sdk/client-iot`;
 * - plain MQTT (`mqttPort`) without authentication or policies, for debugging only: IoT Core has none, so the platform
 *   starts it only when asked (`npm start -- --plain-mqtt`);
 * - the rules engine for the template's topic rules (AWS IoT SQL 2016-03-23 subset, see iot/iot-sql.ts), run on every
 *   message published by MQTT clients, through the data plane, or by a republish action;
 * - Basic Ingest: `$aws/rules/<ruleName>/<rest>` reaches only that rule and no subscriber
 *   (subscribing to `$aws/rules/…` is refused, as in AWS);
 * - an IoT Data Plane HTTP facade for `IoTDataPlaneClient` (Publish only).
 *
 * principal() is the certificate id over TLS, the MQTT username (or the client id) over plain MQTT and, over HTTP, the
 * SigV4 access key id. Limits vs AWS: no device shadows, no retained-message API, no persistent sessions across
 * restarts, no custom authorizers or WebSockets. See iot/rule-engine.ts for action limits.
 */

import type { Server as HttpServer } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import {
  type InvokeFn,
  type IotPolicySpec,
  LOCAL_ACCOUNT,
  LOCAL_PARTITION,
  LOCAL_REGION,
  type LocalService,
  type TopicRuleSpec,
} from '#infra/local/spec.ts';
import { startControlPlane } from './iot/control-plane.ts';
import { startDataPlane } from './iot/data-plane.ts';
import { IotIdentities } from './iot/identities.ts';
import { certificateIdOf, loadOrCreateCa } from './iot/local-ca.ts';
import { acceptMqttConnection } from './iot/mqtt-connection.ts';
import { authorize, type IotAction } from './iot/policy.ts';
import { type CompiledRule, compileRule, createRuleEngine, parseBasicIngestTopic } from './iot/rule-engine.ts';

export { type CompiledRule, compileRule, queueUrlFromArn } from './iot/rule-engine.ts';

export interface IotService extends LocalService {
  /** plain MQTT, e.g. mqtt://127.0.0.1:1883: only when started with `mqttPort` (debugging) */
  mqttUrl?: string;
  /** MQTT over TLS with client certificates, e.g. mqtts://127.0.0.1:8883: with `identity` */
  mqttsUrl?: string;
  /** the local CA's certificate (PEM file) that clients trust to verify the broker: with `identity` */
  caFile?: string;
  /** base URL for `new IoTClient({ endpoint })` (AWS_ENDPOINT_URL_IOT): with `identity` */
  controlPlaneEndpoint?: string;
  /** base URL for `new IoTDataPlaneClient({ endpoint })` */
  dataPlaneEndpoint: string;
  /**
   * An in-process subscriber (QoS 1) for services that run inside the platform, as the gateway task subscribes over
   * its own MQTT connection in AWS (its role's IoT permissions are not evaluated here); returns the unsubscribe.
   */
  subscribe(filter: string, deliver: (topic: string, payload: Buffer) => void): Promise<() => Promise<void>>;
}

export interface IotIdentityOptions {
  /** MQTT over TLS; 0 = a free port */
  mqttsPort: number;
  /** the control plane (HTTP); 0 = a free port */
  controlPlanePort: number;
  /** the CA and the registry of things and certificates are kept under `<dataDir>/iot/` */
  dataDir: string;
  /** the IoT policies that exist (the template's) */
  policies: IotPolicySpec[];
}

export interface StartIotOptions {
  host?: string;
  /** plain MQTT without authentication (debugging); 0 = a free port; omitted = off */
  mqttPort?: number;
  /** certificate-authenticated MQTT over TLS and the control plane, as IoT Core */
  identity?: IotIdentityOptions;
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

/** The IoT ARN prefix of the local account: `arn:aws:iot:us-east-1:000000000000:`. */
export const LOCAL_IOT_ARN_PREFIX = `arn:${LOCAL_PARTITION}:iot:${LOCAL_REGION}:${LOCAL_ACCOUNT}:`;

const refusal = (message: string): AuthenticateError =>
  Object.assign(new Error(message), { returnCode: 5 /* NOT_AUTHORIZED */ }) as AuthenticateError;

export async function startIot(opts: StartIotOptions): Promise<IotService> {
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? (() => {});
  if (opts.mqttPort === undefined && !opts.identity) throw new Error('startIot needs mqttPort, identity or both');
  // Compile every rule before anything listens: a rule the stand-in cannot run stops start-up here.
  const rules: CompiledRule[] = opts.rules.map(compileRule);

  const identity = opts.identity;
  const policies = new Map((identity?.policies ?? []).map((p) => [p.policyName, p.document]));
  const ca = identity ? await loadOrCreateCa(join(identity.dataDir, 'iot', 'ca'), [host]) : undefined;
  const identities = identity
    ? new IotIdentities(
        join(identity.dataDir, 'iot', 'registry.json'),
        LOCAL_IOT_ARN_PREFIX,
        LOCAL_ACCOUNT,
        new Set(policies.keys()),
      )
    : undefined;

  /** the certificate id each TLS connection presented, by the stream the broker reads */
  const presented = new WeakMap<object, string>();
  /** principal() of each client: its certificate id (TLS), else its username */
  const principals = new WeakMap<Client, string>();
  /** connected clients that authenticated with a certificate */
  const tlsClients = new Set<Client>();

  /** IoT Core's decision for a TLS client: its certificate must be ACTIVE and its policies allow the action. */
  const decide = (certificateId: string, clientId: string, action: IotAction, resource: string) => {
    const cert = identities?.findCertificate(certificateId);
    if (!cert) return { allowed: false, reason: `certificate ${certificateId} is not registered` };
    if (cert.status !== 'ACTIVE') return { allowed: false, reason: `certificate ${certificateId} is ${cert.status}` };
    const documents = cert.policies.flatMap((policyName) => {
      const document = policies.get(policyName);
      return document ? [{ policyName, document }] : [];
    });
    const thingName = cert.things.includes(clientId) ? clientId : undefined;
    return authorize(documents, action, `${LOCAL_IOT_ARN_PREFIX}${resource}`, {
      clientId,
      ...(thingName ? { thingName } : {}),
    });
  };
  const allowed = (client: Client, action: IotAction, resource: string) => {
    const certificateId = principals.get(client);
    if (!tlsClients.has(client) || !certificateId) return { allowed: true, reason: 'plain MQTT (debugging)' };
    return decide(certificateId, client.id, action, resource);
  };

  const broker = await Aedes.createBroker({
    authenticate(client, username, _password, done) {
      const certificateId = presented.get(client.conn);
      if (certificateId === undefined) {
        if (username) principals.set(client, username);
        done(null, true);
        return;
      }
      const decision = decide(certificateId, client.id, 'iot:Connect', `client/${client.id}`);
      if (!decision.allowed) {
        log(`iot: refused connection of client ${client.id}: ${decision.reason}`);
        done(refusal(decision.reason), false);
        return;
      }
      tlsClients.add(client);
      principals.set(client, certificateId);
      done(null, true);
    },
    authorizeSubscribe(client, subscription, done) {
      if (parseBasicIngestTopic(subscription.topic) || subscription.topic.startsWith('$aws/rules/')) {
        log(`iot: refused subscription of ${client.id} to reserved Basic Ingest topic ${subscription.topic}`);
        done(null, null);
        return;
      }
      const decision = allowed(client, 'iot:Subscribe', `topicfilter/${subscription.topic}`);
      if (!decision.allowed) {
        log(`iot: refused subscription of ${client.id} to ${subscription.topic}: ${decision.reason}`);
        done(null, null);
        return;
      }
      done(null, subscription);
    },
    authorizePublish(client, packet, done) {
      if (packet.topic.startsWith('$SYS')) {
        done(new Error('$SYS topics are reserved'));
        return;
      }
      if (packet.qos > 1) {
        done(new Error('QoS 2 is not supported by AWS IoT'));
        return;
      }
      if (client) {
        // as IoT Core does with MQTT 3.1.1: a publish the policy does not allow ends the connection
        const decision = allowed(client, 'iot:Publish', `topic/${packet.topic}`);
        if (!decision.allowed) {
          log(`iot: disconnected ${client.id}: publish to ${packet.topic} refused: ${decision.reason}`);
          done(new Error(decision.reason));
          return;
        }
      }
      // Basic Ingest bypasses the broker in AWS: never retain such a message.
      if (parseBasicIngestTopic(packet.topic)) packet.retain = false;
      done(null);
    },
    authorizeForward(client, packet) {
      return allowed(client, 'iot:Receive', `topic/${packet.topic}`).allowed ? packet : null;
    },
  });

  // a certificate deactivated, or detached from its thing or policy, loses the connections it no longer allows
  identities?.onChange((certificateId) => {
    for (const client of tlsClients) {
      if (principals.get(client) !== certificateId) continue;
      const decision = decide(certificateId, client.id, 'iot:Connect', `client/${client.id}`);
      if (!decision.allowed) {
        log(`iot: disconnected ${client.id}: ${decision.reason}`);
        client.close();
      }
    }
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
      principal: principals.get(client) ?? client.id,
    });
  });
  broker.on('clientError', (client, err) => log(`iot: mqtt client ${client.id} error: ${err.message}`));
  broker.on('clientDisconnect', (client) => tlsClients.delete(client));

  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const mqttServer =
    opts.mqttPort === undefined
      ? undefined
      : net.createServer((socket) => {
          track(socket);
          acceptMqttConnection(socket, broker.handle);
        });
  const tlsServer =
    ca === undefined
      ? undefined
      : tls.createServer(
          {
            key: ca.server.keyPem,
            cert: ca.server.certPem,
            ca: [ca.caPem],
            requestCert: true,
            rejectUnauthorized: true,
            minVersion: 'TLSv1.2',
          },
          (socket) => {
            track(socket);
            const certificateId = certificateIdOf(socket.getPeerCertificate().raw);
            acceptMqttConnection(socket, (stream) => {
              presented.set(stream, certificateId);
              return broker.handle(stream);
            });
          },
        );
  tlsServer?.on('tlsClientError', (err, socket) => {
    log(`iot: TLS handshake from ${socket.remoteAddress ?? '?'} refused: ${err.message.split('\n')[0]}`);
    socket.destroy();
  });

  const servers: (net.Server | HttpServer)[] = [];
  const port = (server: net.Server | HttpServer) => {
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  let dataPlane: HttpServer;
  let controlPlane: HttpServer | undefined;
  try {
    if (mqttServer && opts.mqttPort !== undefined) {
      await listen(mqttServer, opts.mqttPort, host);
      servers.push(mqttServer);
    }
    if (tlsServer && identity) {
      await listen(tlsServer, identity.mqttsPort, host);
      servers.push(tlsServer);
    }
    dataPlane = await startDataPlane({
      host,
      port: opts.dataPlanePort,
      log,
      publish: (m) => publishInternal(m.topic, m.payload, m.qos, m.retain, m.principal, 0),
    });
    servers.push(dataPlane);
    if (identity && ca && identities) {
      controlPlane = await startControlPlane({ host, port: identity.controlPlanePort, ca, identities, log });
      servers.push(controlPlane);
    }
  } catch (err) {
    broker.close();
    await Promise.all(servers.map(closeServer));
    throw err;
  }
  const mqttUrl = mqttServer ? `mqtt://${host}:${port(mqttServer)}` : undefined;
  const mqttsUrl = tlsServer ? `mqtts://${host}:${port(tlsServer)}` : undefined;
  const dataPlaneEndpoint = `http://${host}:${port(dataPlane)}`;
  const controlPlaneEndpoint = controlPlane ? `http://${host}:${port(controlPlane)}` : undefined;
  log(
    `iot: ${[mqttsUrl && `MQTT over TLS (client certificates) on ${mqttsUrl}`, mqttUrl && `plain MQTT (no authentication, debugging) on ${mqttUrl}`, controlPlaneEndpoint && `control plane on ${controlPlaneEndpoint}`].filter(Boolean).join(', ')}, data plane on ${dataPlaneEndpoint}, ${rules.length} topic rule(s)`,
  );

  let stopped = false;
  return {
    name: 'iot',
    ...(mqttUrl ? { mqttUrl } : {}),
    ...(mqttsUrl ? { mqttsUrl } : {}),
    ...(ca ? { caFile: ca.caFile } : {}),
    ...(controlPlaneEndpoint ? { controlPlaneEndpoint } : {}),
    dataPlaneEndpoint,
    async subscribe(filter, deliver) {
      const fn = (packet: AedesPublishPacket, cb: () => void) => {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        try {
          deliver(packet.topic, payload);
        } finally {
          cb();
        }
      };
      await new Promise<void>((resolve) => broker.subscribe(filter, fn, () => resolve()));
      return () => new Promise<void>((resolve) => broker.unsubscribe(filter, fn, () => resolve()));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const closing = servers.map(closeServer);
      for (const s of servers) if ('closeAllConnections' in s) s.closeAllConnections();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await Promise.all(closing);
      await engine.close();
      log('iot: stopped');
    },
  };
}
