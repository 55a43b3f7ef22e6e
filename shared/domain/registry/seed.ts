import { ConflictError } from '#shared/domain/errors.ts';
import { DeviceInput, Enterprise, Outlet, Township } from './model.ts';
import { DEVICES, ENTERPRISES, OUTLETS, TOWNSHIPS } from './qingyuan-seed.ts';
import type { RegistryService } from './use-cases.ts';

/**
 * Seeds the registry through the same use-cases the API uses (validation, references, audit), as actor `seed`.
 * Idempotent: entries that already exist are left as they are, so a bureau's edits survive a restart.
 */
export async function seedRegistry(registry: RegistryService): Promise<{ created: number; kept: number }> {
  const actor = { sub: 'seed' };
  let created = 0;
  let kept = 0;
  const batches = [
    { kind: 'townships', schema: Township, items: TOWNSHIPS },
    { kind: 'enterprises', schema: Enterprise, items: ENTERPRISES },
    { kind: 'outlets', schema: Outlet, items: OUTLETS },
    { kind: 'devices', schema: DeviceInput, items: DEVICES },
  ] as const;
  for (const { kind, schema, items } of batches) {
    for (const item of items) {
      try {
        await registry.create(kind, schema.parse(item), actor);
        created++;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
        kept++;
      }
    }
  }
  return { created, kept };
}
