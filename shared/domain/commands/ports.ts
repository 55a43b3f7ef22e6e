import type { AuditEntry, Page } from '#shared/domain/registry/store.ts';
import type { DeviceCommand } from './model.ts';

export type { AuditEntry, Page };

/** What sending a command needs to know of a registered device. */
export interface CommandDevice {
  mn: string;
  st: string;
  protocol: 'hj212-2025' | 'hj212-2017' | 'hj212-2005' | 'json-mqtt';
  transport: 'tcp' | 'mqtt';
  status: 'active' | 'maintenance' | 'retired';
  /** the HJ 212 version the device last used, when the registry knows it */
  version?: '2005' | '2017' | '2025';
}

export interface CommandDevices {
  device(mn: string): Promise<CommandDevice | undefined>;
}

/** Commands by device and QN (one item each). */
export interface CommandStore {
  /** stores a new command with its audit entry; false when the device already has a command with this QN */
  create(command: DeviceCommand, audit: AuditEntry): Promise<boolean>;
  get(mn: string, qn: string): Promise<DeviceCommand | undefined>;
  /** replaces a command if it still has `answersBefore` answers and its stored state (optimistic); false otherwise */
  update(command: DeviceCommand, before: Pick<DeviceCommand, 'state' | 'answers'>): Promise<boolean>;
  /** newest first */
  list(mn: string, limit: number, cursor?: string): Promise<Page<DeviceCommand>>;
}

/** Publishes one message on an IoT topic (QoS 1). */
export interface CommandChannel {
  publish(topic: string, payload: string | Uint8Array): Promise<void>;
}
