import type { DeviceCommand } from '#shared/domain/commands/model.ts';
import type {
  AuditEntry,
  CommandChannel,
  CommandDevice,
  CommandDevices,
  CommandStore,
  Page,
} from '#shared/domain/commands/ports.ts';

/** In-memory command ports for the command use-cases' tests. */
export class MemoryCommandStore implements CommandStore {
  readonly items = new Map<string, DeviceCommand>();
  readonly audits: AuditEntry[] = [];

  async create(command: DeviceCommand, audit: AuditEntry): Promise<boolean> {
    const key = `${command.mn}#${command.qn}`;
    if (this.items.has(key)) return false;
    this.items.set(key, structuredClone(command));
    this.audits.push(audit);
    return true;
  }

  async get(mn: string, qn: string): Promise<DeviceCommand | undefined> {
    const c = this.items.get(`${mn}#${qn}`);
    return c && structuredClone(c);
  }

  async update(command: DeviceCommand, before: Pick<DeviceCommand, 'state' | 'answers'>): Promise<boolean> {
    const key = `${command.mn}#${command.qn}`;
    const now = this.items.get(key);
    if (!now || now.state !== before.state || now.answers.length !== before.answers.length) return false;
    this.items.set(key, structuredClone(command));
    return true;
  }

  async list(mn: string, limit: number): Promise<Page<DeviceCommand>> {
    const all = [...this.items.values()].filter((c) => c.mn === mn).sort((a, b) => b.qn.localeCompare(a.qn));
    return { items: all.slice(0, limit) };
  }
}

export class MemoryDevices implements CommandDevices {
  constructor(readonly devices: CommandDevice[]) {}
  async device(mn: string): Promise<CommandDevice | undefined> {
    return this.devices.find((d) => d.mn === mn);
  }
}

export class MemoryChannel implements CommandChannel {
  readonly published: { topic: string; payload: string; bytes: Buffer }[] = [];
  failing = false;
  /** where a published message goes next (a gateway router in a test), after it was recorded */
  onPublish?: (topic: string, payload: Buffer) => void | Promise<void>;
  async publish(topic: string, payload: string | Uint8Array): Promise<void> {
    if (this.failing) throw new Error('publish failed');
    const bytes = Buffer.from(payload);
    this.published.push({ topic, payload: bytes.toString('latin1'), bytes });
    await this.onPublish?.(topic, bytes);
  }
}
