import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The IoT Core registry of the local platform: things, certificates (with status and PEM, never a private key),
 * which certificates are attached to which things, and which policies to which certificates. Kept in one file under the
 * data dir, a journal of JSON lines: each change appends the changed record (a thing or a certificate, whole), so
 * thousands of registrations cost one short append each, not the whole registry rewritten each time, and a restart
 * loses nothing. Loading replays the lines (the last of a record wins), passes over a line a crash left torn, and
 * writes the journal anew, one line a record (to a temporary file, then renamed); a registry written whole by an
 * earlier version is read the same way.
 * Errors are IoT Core's, by name and HTTP status (control-plane.ts answers them); `onChange` tells the broker which
 * certificate changed, so that it drops connections that are no longer allowed.
 */
export type CertificateStatus = 'ACTIVE' | 'INACTIVE' | 'REVOKED';

export interface ThingRecord {
  thingName: string;
  thingId: string;
  thingArn: string;
  attributes: Record<string, string>;
  version: number;
}

export interface CertificateRecord {
  certificateId: string;
  certificateArn: string;
  certificatePem: string;
  status: CertificateStatus;
  /** epoch seconds, as IoT Core's API answers timestamps */
  creationDate: number;
  lastModifiedDate: number;
  /** names of the things it is attached to */
  things: string[];
  /** attached with EXCLUSIVE_THING: no other thing may take it */
  exclusive: boolean;
  /** names of the policies attached to it */
  policies: string[];
}

export interface State {
  things: Record<string, ThingRecord>;
  certificates: Record<string, CertificateRecord>;
}

export class IotError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.name = type;
  }
}

const notFound = (what: string) => new IotError(404, 'ResourceNotFoundException', what);
const THING_NAME = /^[a-zA-Z0-9:_-]{1,128}$/;

export class IotIdentities {
  private state: State;
  private readonly listeners: ((certificateId: string) => void)[] = [];

  constructor(
    private readonly file: string,
    private readonly arnPrefix: string,
    private readonly account: string,
    /** policy names that exist (those the template defines) */
    private readonly policyNames: ReadonlySet<string>,
  ) {
    this.state = existsSync(file) ? readJournal(readFileSync(file, 'utf8')) : emptyState();
    this.compact();
  }

  onChange(listener: (certificateId: string) => void): void {
    this.listeners.push(listener);
  }

  createThing(thingName: string, attributes: Record<string, string>): ThingRecord {
    if (!THING_NAME.test(thingName))
      throw new IotError(400, 'InvalidRequestException', `Invalid thing name ${thingName}`);
    const existing = this.state.things[thingName];
    if (existing) {
      if (JSON.stringify(sorted(existing.attributes)) === JSON.stringify(sorted(attributes))) return existing;
      throw new IotError(
        409,
        'ResourceAlreadyExistsException',
        `Thing ${thingName} already exists with different attributes`,
        {
          resourceId: existing.thingId,
          resourceArn: existing.thingArn,
        },
      );
    }
    const thing = {
      thingName,
      thingId: randomUUID(),
      thingArn: `${this.arnPrefix}thing/${thingName}`,
      attributes,
      version: 1,
    };
    this.state.things[thingName] = thing;
    this.append({ thing });
    return thing;
  }

  thing(thingName: string): ThingRecord {
    const thing = this.state.things[thingName];
    if (!thing) throw notFound(`Thing ${thingName} cannot be found.`);
    return thing;
  }

  addCertificate(certificateId: string, certificatePem: string, status: CertificateStatus): CertificateRecord {
    const now = Math.floor(Date.now() / 1000);
    const record: CertificateRecord = {
      certificateId,
      certificateArn: `${this.arnPrefix}cert/${certificateId}`,
      certificatePem,
      status,
      creationDate: now,
      lastModifiedDate: now,
      things: [],
      exclusive: false,
      policies: [],
    };
    this.state.certificates[certificateId] = record;
    this.append({ certificate: record });
    return record;
  }

  certificate(certificateId: string): CertificateRecord {
    const found = this.state.certificates[certificateId];
    if (!found) throw notFound(`The certificate ${certificateId} does not exist`);
    return found;
  }

  /** A certificate by id, or undefined (the broker asks for the one a client presented). */
  findCertificate(certificateId: string): CertificateRecord | undefined {
    return this.state.certificates[certificateId];
  }

  /** A certificate by its ARN (a principal or a policy target). */
  certificateByArn(arn: string): CertificateRecord {
    const id = arn.startsWith(`${this.arnPrefix}cert/`) ? arn.slice(`${this.arnPrefix}cert/`.length) : undefined;
    const found = id ? this.state.certificates[id] : undefined;
    if (!found) throw notFound(`The principal ${arn} does not exist`);
    return found;
  }

  updateCertificate(certificateId: string, status: CertificateStatus): void {
    const cert = this.certificate(certificateId);
    if (cert.status === 'REVOKED' && status !== 'REVOKED')
      throw new IotError(406, 'CertificateStateException', `Certificate ${certificateId} is revoked`);
    cert.status = status;
    cert.lastModifiedDate = Math.floor(Date.now() / 1000);
    this.changed(certificateId);
  }

  attachThingPrincipal(thingName: string, principal: string, exclusive: boolean): void {
    this.thing(thingName);
    const cert = this.certificateByArn(principal);
    const others = cert.things.filter((t) => t !== thingName);
    if (others.length > 0 && (exclusive || cert.exclusive))
      throw new IotError(
        400,
        'InvalidRequestException',
        `Principal ${principal} is exclusively attached to another thing`,
      );
    if (!cert.things.includes(thingName)) cert.things.push(thingName);
    cert.exclusive ||= exclusive;
    this.changed(cert.certificateId);
  }

  detachThingPrincipal(thingName: string, principal: string): void {
    this.thing(thingName);
    const cert = this.certificateByArn(principal);
    cert.things = cert.things.filter((t) => t !== thingName);
    if (cert.things.length === 0) cert.exclusive = false;
    this.changed(cert.certificateId);
  }

  thingPrincipals(thingName: string): string[] {
    this.thing(thingName);
    return Object.values(this.state.certificates)
      .filter((c) => c.things.includes(thingName))
      .map((c) => c.certificateArn);
  }

  attachPolicy(policyName: string, target: string): void {
    this.requirePolicy(policyName);
    const cert = this.certificateByArn(target);
    if (!cert.policies.includes(policyName)) cert.policies.push(policyName);
    this.changed(cert.certificateId);
  }

  detachPolicy(policyName: string, target: string): void {
    this.requirePolicy(policyName);
    const cert = this.certificateByArn(target);
    cert.policies = cert.policies.filter((p) => p !== policyName);
    this.changed(cert.certificateId);
  }

  attachedPolicies(target: string): string[] {
    return [...this.certificateByArn(target).policies];
  }

  policyArn(policyName: string): string {
    return `${this.arnPrefix}policy/${policyName}`;
  }

  get ownerAccount(): string {
    return this.account;
  }

  private requirePolicy(policyName: string): void {
    if (!this.policyNames.has(policyName)) throw notFound(`Policy ${policyName} does not exist`);
  }

  private changed(certificateId: string): void {
    this.append({ certificate: this.certificate(certificateId) });
    for (const listener of this.listeners) listener(certificateId);
  }

  /** One change: the changed record as one line, in one write. */
  private append(entry: JournalEntry): void {
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }

  /** The journal written anew, one line a record, replacing the old one whole (a torn line gone). */
  private compact(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const lines = [
      ...Object.values(this.state.things).map((thing) => JSON.stringify({ thing })),
      ...Object.values(this.state.certificates).map((certificate) => JSON.stringify({ certificate })),
    ];
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, lines.map((l) => `${l}\n`).join(''));
    renameSync(tmp, this.file);
  }
}

/** records by name and id in objects without a prototype (a thing name may be `__proto__`) */
const emptyState = (): State => ({ things: Object.create(null), certificates: Object.create(null) });

type JournalEntry = { thing: ThingRecord } | { certificate: CertificateRecord };

/**
 * The registry from its journal: each line a record (the last of a thing or certificate wins); a line that does not
 * parse (a crash in the middle of an append) is passed over. A file written whole by an earlier version (one JSON
 * object with `things` and `certificates`) is taken as it is.
 */
export function readJournal(text: string): State {
  const state = emptyState();
  try {
    const whole = JSON.parse(text) as Partial<State>;
    if (whole && typeof whole === 'object' && whole.things && whole.certificates) {
      Object.assign(state.things, whole.things);
      Object.assign(state.certificates, whole.certificates);
      return state;
    }
  } catch {
    // a journal of lines
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry: Partial<JournalEntry>;
    try {
      entry = JSON.parse(line) as Partial<JournalEntry>;
    } catch {
      continue;
    }
    if ('thing' in entry && typeof entry.thing?.thingName === 'string')
      state.things[entry.thing.thingName] = entry.thing;
    else if ('certificate' in entry && typeof entry.certificate?.certificateId === 'string')
      state.certificates[entry.certificate.certificateId] = entry.certificate;
  }
  return state;
}

function sorted(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
}
