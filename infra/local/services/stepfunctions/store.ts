/**
 * Persists execution records as one JSON file each under `${dataDir}/stepfunctions/executions/`.
 * Writes are coalesced (a few ms) and atomic (temp file + rename); `flush()` writes everything pending,
 * `saveNow()` writes at once (used when a task token is handed out, so a crash cannot lose it).
 * `ValidationCache` remembers which definitions passed asl-validator (0.2–0.6 s each), so restarts skip it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { ExecutionRecord } from './history.ts';

export class ExecutionStore {
  private readonly dir: string;
  private readonly pending = new Map<string, ExecutionRecord>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    dataDir: string,
    private readonly log: (line: string) => void,
  ) {
    this.dir = join(dataDir, 'stepfunctions', 'executions');
    mkdirSync(this.dir, { recursive: true });
  }

  loadAll(): ExecutionRecord[] {
    const out: ExecutionRecord[] = [];
    for (const file of readdirSync(this.dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        const rec = JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as ExecutionRecord;
        if (typeof rec.executionArn === 'string' && Array.isArray(rec.history)) out.push(rec);
      } catch (err) {
        this.log(`stepfunctions: skipping unreadable ${file}: ${String(err)}`);
      }
    }
    return out;
  }

  save(rec: ExecutionRecord): void {
    this.pending.set(rec.executionArn, rec);
    this.timer ??= setTimeout(() => this.flush(), 10);
  }

  saveNow(rec: ExecutionRecord): void {
    this.pending.delete(rec.executionArn);
    this.write(rec);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const recs = [...this.pending.values()];
    this.pending.clear();
    for (const rec of recs) this.write(rec);
  }

  private write(rec: ExecutionRecord): void {
    const file = join(this.dir, `${createHash('sha256').update(rec.executionArn).digest('hex').slice(0, 40)}.json`);
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(rec));
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.log(`stepfunctions: could not persist ${rec.executionArn}: ${String(err)}`);
    }
  }
}

/** asl-validator results by definition hash, kept in `${dataDir}/stepfunctions/validated.json`. */
export class ValidationCache {
  private readonly file: string;
  private readonly passed: Set<string>;

  constructor(dataDir: string) {
    this.file = join(dataDir, 'stepfunctions', 'validated.json');
    let hashes: unknown = [];
    try {
      if (existsSync(this.file)) hashes = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch {
      hashes = [];
    }
    this.passed = new Set(Array.isArray(hashes) ? hashes.filter((h): h is string => typeof h === 'string') : []);
  }

  /** undefined when the definition is valid, else the validator's message. */
  check(definition: Record<string, unknown>): string | undefined {
    const hash = createHash('sha256').update(JSON.stringify(definition)).digest('hex');
    if (this.passed.has(hash)) return undefined;
    try {
      // asl-validator writes QueryLanguage into the states it checks: validate a copy
      new StateMachine(structuredClone(definition) as never, {
        validationOptions: { checkArn: false, checkPaths: true },
      });
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
    this.passed.add(hash);
    mkdirSync(join(this.file, '..'), { recursive: true });
    writeFileSync(this.file, JSON.stringify([...this.passed]));
    return undefined;
  }
}
