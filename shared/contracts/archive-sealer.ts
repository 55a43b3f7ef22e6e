import * as z from 'zod';

/**
 * The archive sealing job's event: what its EventBridge schedule passes (infra/constructs/archive-sealer.ts, an input
 * transformer of the scheduled event's time). `time` decides which hours are closed; the clock when absent (a manual
 * invocation with `{}`).
 */
export const SealEvent = z.object({ time: z.iso.datetime({ offset: true }).optional() }).strict();
export type SealEvent = z.infer<typeof SealEvent>;
