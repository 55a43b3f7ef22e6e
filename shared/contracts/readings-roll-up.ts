import * as z from 'zod';

/**
 * The readings roll-up's event: what its EventBridge schedule passes (infra/constructs/readings-roll-up.ts, an input
 * transformer of the scheduled event's time). `time` decides which periods are closed; the clock when absent (a manual
 * invocation with `{}`, e.g. to go on with a backfill).
 */
export const RollUpEvent = z.object({ time: z.iso.datetime({ offset: true }).optional() }).strict();
export type RollUpEvent = z.infer<typeof RollUpEvent>;
