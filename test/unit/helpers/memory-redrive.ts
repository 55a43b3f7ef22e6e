import type { BackoffState, DeadLetter, ParkInfo, SourceName } from '#shared/domain/redrive/model.ts';
import type {
  DeadLetterQueue,
  DependencyProbe,
  ParkedQueue,
  RedriveLedger,
  ReplayPublisher,
} from '#shared/domain/redrive/ports.ts';

/** In-memory fakes of the redrive's ports: a queue with visibility, the parked queue, a publisher, a ledger, probes. */
export class MemoryQueue implements DeadLetterQueue {
  private visible: DeadLetter[] = [];
  readonly inFlight = new Map<string, DeadLetter>();
  private next = 1;
  failReceive: Error | undefined;

  push(body: string): DeadLetter {
    const id = `m${this.next++}`;
    const m = { messageId: id, body, handle: `h-${id}` };
    this.visible.push(m);
    return m;
  }

  get waiting(): DeadLetter[] {
    return [...this.visible];
  }

  async depth() {
    return this.visible.length;
  }

  async receive(max: number) {
    if (this.failReceive) throw this.failReceive;
    const out = this.visible.splice(0, Math.min(10, max));
    for (const m of out) this.inFlight.set(m.handle, m);
    return out;
  }

  async remove(m: DeadLetter) {
    if (!this.inFlight.delete(m.handle)) throw new Error(`${m.messageId} is not in flight`);
  }

  async release(ms: readonly DeadLetter[]) {
    for (const m of ms) {
      if (this.inFlight.delete(m.handle)) this.visible.push(m);
    }
  }
}

export class MemoryParked implements ParkedQueue {
  readonly parked: { message: DeadLetter; info: ParkInfo }[] = [];
  fail: Error | undefined;

  async park(message: DeadLetter, info: ParkInfo) {
    if (this.fail) throw this.fail;
    this.parked.push({ message, info });
  }
}

export class MemoryPublisher implements ReplayPublisher {
  readonly published: { topic: string; payload: string }[] = [];
  fail: Error | undefined;
  /** what the replayed work does: e.g. fail again by putting a new dead letter in a queue */
  onPublish: ((topic: string, payload: Buffer) => void) | undefined;

  async publish(topic: string, payload: Buffer) {
    if (this.fail) throw this.fail;
    this.published.push({ topic, payload: payload.toString('utf8') });
    this.onPublish?.(topic, payload);
  }
}

export class MemoryLedger implements RedriveLedger {
  readonly state = new Map<SourceName, BackoffState>();
  readonly counts = new Map<string, number>();
  stateWrites = 0;
  fail: Error | undefined;

  async states() {
    if (this.fail) throw this.fail;
    return Object.fromEntries(this.state) as Partial<Record<SourceName, BackoffState>>;
  }

  async saveState(source: SourceName, s: BackoffState) {
    this.stateWrites++;
    this.state.set(source, s);
  }

  async replays(keys: readonly string[]) {
    if (this.fail) throw this.fail;
    return new Map(keys.flatMap((k) => (this.counts.has(k) ? [[k, this.counts.get(k) as number] as const] : [])));
  }

  async recordReplay(key: string) {
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n;
  }
}

export class SwitchProbe implements DependencyProbe {
  checks = 0;
  constructor(
    readonly name: string,
    public up = true,
  ) {}

  async check() {
    this.checks++;
    if (!this.up) throw new Error('does not answer');
  }
}
