/**
 * Hands TCP connections to the aedes broker. aedes 1.2.0 speaks MQTT 3.1 / 3.1.1 only (it refuses a
 * protocol-level-5 CONNECT), so connections are sniffed: 3.x clients go to aedes untouched, and MQTT 5
 * clients go through a small translating bridge that re-encodes packets between 5 and 3.1.1.
 *
 * Limits of the MQTT 5 bridge: MQTT 5 properties (user properties, content type, response topic,
 * message expiry, subscription options such as no-local) are dropped; reason codes are mapped from the
 * 3.1.1 return codes; AUTH (enhanced authentication) closes the connection. Topic aliases sent by the
 * client are resolved (the broker advertises none, so it never sends any).
 */

import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import mqttPacket, { type Packet } from 'mqtt-packet';

export type HandleConnection = (stream: Duplex) => unknown;

/** MQTT 3.1.1 CONNACK return code → MQTT 5 reason code. */
const CONNACK_REASON: Record<number, number> = { 0: 0x00, 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87 };

/** Route one accepted socket to the broker, bridging MQTT 5 clients. */
export function acceptMqttConnection(socket: Socket, handle: HandleConnection): void {
  const sniffer = mqttPacket.parser();
  const chunks: Buffer[] = [];
  let decided = false;
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    sniffer.parse(chunk);
  };
  const onEarlyError = () => socket.destroy();
  sniffer.on('packet', (packet) => {
    if (decided) return;
    decided = true;
    socket.off('data', onData);
    socket.pause();
    const initial = Buffer.concat(chunks);
    queueMicrotask(() => {
      socket.off('error', onEarlyError);
      if (packet.cmd === 'connect' && packet.protocolVersion === 5) {
        bridgeMqtt5(socket, handle, initial);
      } else {
        socket.unshift(initial);
        handle(socket);
      }
    });
  });
  sniffer.on('error', () => socket.destroy());
  socket.on('data', onData);
  socket.on('error', onEarlyError);
}

/** Client (MQTT 5) → broker (MQTT 3.1.1). Returns undefined to drop the packet, 'close' to hang up. */
function toMqtt311(p: Packet, aliases: Map<number, string>, unsubscribeSizes: Map<number, number>) {
  switch (p.cmd) {
    case 'connect':
      return {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clientId: p.clientId,
        clean: p.clean,
        keepalive: p.keepalive,
        username: p.username,
        password: p.password,
        will: p.will
          ? { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain }
          : undefined,
      } as Packet;
    case 'publish': {
      let topic = p.topic;
      const alias = p.properties?.topicAlias;
      if (alias !== undefined) {
        if (topic) aliases.set(alias, topic);
        else topic = aliases.get(alias) ?? '';
      }
      return {
        cmd: 'publish',
        topic,
        payload: p.payload,
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        messageId: p.messageId,
      } as Packet;
    }
    case 'subscribe':
      return {
        cmd: 'subscribe',
        messageId: p.messageId,
        subscriptions: p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos })),
      } as Packet;
    case 'unsubscribe':
      if (p.messageId !== undefined) unsubscribeSizes.set(p.messageId, p.unsubscriptions.length);
      return { cmd: 'unsubscribe', messageId: p.messageId, unsubscriptions: p.unsubscriptions } as Packet;
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { cmd: p.cmd, messageId: p.messageId } as Packet;
    case 'pingreq':
    case 'disconnect':
      return { cmd: p.cmd } as Packet;
    case 'auth':
      return 'close' as const;
    default:
      return undefined;
  }
}

/** Broker (MQTT 3.1.1) → client (MQTT 5). */
function toMqtt5(p: Packet, unsubscribeSizes: Map<number, number>): Packet | undefined {
  switch (p.cmd) {
    case 'connack':
      return {
        cmd: 'connack',
        sessionPresent: p.sessionPresent,
        reasonCode: CONNACK_REASON[p.returnCode ?? 0] ?? 0x80,
      };
    case 'suback':
      return { cmd: 'suback', messageId: p.messageId, granted: p.granted };
    case 'unsuback': {
      const size = unsubscribeSizes.get(p.messageId ?? -1) ?? 1;
      unsubscribeSizes.delete(p.messageId ?? -1);
      return { cmd: 'unsuback', messageId: p.messageId, granted: new Array<number>(size).fill(0) };
    }
    case 'publish':
      return {
        cmd: 'publish',
        topic: p.topic,
        payload: p.payload,
        qos: p.qos,
        retain: p.retain,
        dup: p.dup,
        messageId: p.messageId,
      };
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { cmd: p.cmd, messageId: p.messageId, reasonCode: 0 };
    case 'pingresp':
      return { cmd: 'pingresp' };
    default:
      return undefined;
  }
}

function bridgeMqtt5(socket: Socket, handle: HandleConnection, initial: Buffer): void {
  const fromClient = mqttPacket.parser(); // learns protocol level 5 from the CONNECT
  const fromBroker = mqttPacket.parser({ protocolVersion: 4 });
  const aliases = new Map<number, string>();
  const unsubscribeSizes = new Map<number, number>();

  const inner = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      fromBroker.parse(chunk);
      callback();
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });

  fromBroker.on('packet', (packet) => {
    const out = toMqtt5(packet, unsubscribeSizes);
    if (out && !socket.destroyed) socket.write(mqttPacket.generate(out, { protocolVersion: 5 }));
  });
  fromBroker.on('error', (err: Error) => inner.destroy(err));
  fromClient.on('packet', (packet) => {
    const out = toMqtt311(packet, aliases, unsubscribeSizes);
    if (out === 'close') socket.destroy();
    else if (out) inner.push(mqttPacket.generate(out));
  });
  fromClient.on('error', (err: Error) => inner.destroy(err));

  socket.on('data', (chunk: Buffer) => fromClient.parse(chunk));
  socket.on('end', () => inner.push(null));
  socket.on('close', () => inner.destroy());
  socket.on('error', () => inner.destroy());
  handle(inner);
  fromClient.parse(initial);
  socket.resume();
}
