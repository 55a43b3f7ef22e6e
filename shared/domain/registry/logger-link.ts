import * as z from 'zod';

/** What a device record keeps of the data logger linked to it by CN 1001/1002 (set by the platform only; loggers.ts). */
export const DeviceLogger = z.object({
  address: z.string(),
  serial: z.string(),
  cpuid: z.string(),
  macs: z.array(z.string()),
  state: z.enum(['assigning', 'linked']),
  assignQn: z.string(),
  assignedAt: z.iso.datetime(),
  linkedAt: z.iso.datetime().optional(),
});
export type DeviceLogger = z.infer<typeof DeviceLogger>;
