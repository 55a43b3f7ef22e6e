import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IotIdentities } from '#infra/local/services/iot/identities.ts';

/** The local IoT registry's file: a journal appended once per change, read back whole after a restart or a crash. */
const ARN = 'arn:aws:iot:us-east-1:000000000000:';
const POLICY = 'envwatch-dev-device';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function registryFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'envwatch-iot-registry-'));
  dirs.push(dir);
  return join(dir, 'iot', 'registry.json');
}

const open = (file: string) => new IotIdentities(file, ARN, '000000000000', new Set([POLICY]));
const mn = (i: number) => `3311260000000000IOT${String(i).padStart(5, '0')}`;

/** What an installer's registration does: a thing, an active certificate attached to it, the device policy. */
function register(identities: IotIdentities, i: number): void {
  identities.createThing(mn(i), { enterpriseId: 'E1' });
  const cert = identities.addCertificate(`cert${i}`, `PEM ${i}`, 'ACTIVE');
  identities.attachThingPrincipal(mn(i), cert.certificateArn, true);
  identities.attachPolicy(POLICY, cert.certificateArn);
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('IotIdentities', () => {
  it('appends one line per change instead of writing the whole registry, and reads it all back', () => {
    const file = registryFile();
    const identities = open(file);
    for (let i = 0; i < 200; i++) register(identities, i);
    // 4 changes a registration, each one line: the file grows by what changed, not by the registry's size
    expect(lines(file)).toHaveLength(800);
    const last = lines(file).at(-1) as string;
    expect(last.length).toBeLessThan(1000);
    expect(JSON.parse(last).certificate).toMatchObject({ certificateId: 'cert199', policies: [POLICY] });

    const again = open(file);
    expect(again.thingPrincipals(mn(137))).toEqual([`${ARN}cert/cert137`]);
    expect(again.certificate('cert137')).toMatchObject({ status: 'ACTIVE', things: [mn(137)], exclusive: true });
    expect(lines(file)).toHaveLength(400); // loading wrote it anew: one line a record
  });

  it('keeps every whole line when a crash tore the last one, and appends cleanly after it', () => {
    const file = registryFile();
    const identities = open(file);
    for (let i = 0; i < 3; i++) register(identities, i);
    identities.updateCertificate('cert1', 'REVOKED');
    const text = readFileSync(file, 'utf8');
    truncateSync(file, text.length - 40); // the revocation's line, half written

    const reloaded = open(file);
    expect(reloaded.certificate('cert1').status).toBe('ACTIVE'); // the torn change is lost, nothing else
    expect(reloaded.certificate('cert2')).toMatchObject({ things: [mn(2)], policies: [POLICY] });
    reloaded.updateCertificate('cert0', 'INACTIVE');
    const third = open(file);
    expect(third.certificate('cert0').status).toBe('INACTIVE');
    expect(third.thingPrincipals(mn(1))).toEqual([`${ARN}cert/cert1`]);
  });

  it('reads a registry written whole by an earlier version, and a thing named __proto__ stays a thing', () => {
    const file = registryFile();
    const identities = open(file);
    register(identities, 0);
    const things = { [mn(0)]: identities.thing(mn(0)) };
    const certificates = { cert0: identities.certificate('cert0') };
    writeFileSync(file, `${JSON.stringify({ things, certificates }, null, 2)}\n`);

    const reloaded = open(file);
    expect(reloaded.thingPrincipals(mn(0))).toEqual([`${ARN}cert/cert0`]);
    reloaded.createThing('__proto__', {});
    expect(open(file).thing('__proto__')).toMatchObject({ thingName: '__proto__', version: 1 });
    expect(({} as Record<string, unknown>).thingName).toBeUndefined();
  });
});
