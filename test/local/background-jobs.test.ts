import { describe, expect, it } from 'vitest';
import { scheduledOnly } from '#infra/local/spec.ts';
import { deriveSpec } from '#infra/local/template.ts';
import { realAppAssembly } from './helpers.ts';

/**
 * The local platform runs the batch jobs' workers at a lower CPU priority (lambda-runtime.ts `background`): from the
 * real synthesized app, exactly the functions only schedules invoke; never one a device, an official or a workflow waits on.
 */
describe('background functions of the real app', () => {
  it('are the scheduled jobs alone: roll-up, sealing, alarm jobs, redrive, key rotation', () => {
    const spec = deriveSpec(realAppAssembly(), { http: 'http://127.0.0.1:1', sqs: 'http://127.0.0.1:2' });
    const background = scheduledOnly(spec);
    const names = spec.functions
      .filter((f) => background.has(f.id))
      .map((f) => f.functionName.replace(/Fn[0-9A-F]{8}$/, ''));
    expect(names.sort()).toEqual([
      'EnvWatch-dev-Api-RegistryKeyRotation',
      'EnvWatch-dev-Ingest-AlarmsJobs',
      'EnvWatch-dev-Ingest-ArchiveSealerFunction',
      'EnvWatch-dev-Ingest-ReadingsRollUpFunction',
      'EnvWatch-dev-Ingest-RedriveFunction',
    ]);
  });
});
