import * as z from 'zod';

/**
 * The dead-letter redrive's event: what its EventBridge schedule passes (infra/constructs/dead-letter-redrive.ts, an
 * input transformer of the scheduled event's time). `time` is the instant the run decides for (backoff, ledger); the
 * clock when absent (a manual invocation with `{}`).
 */
export const RedriveEvent = z.object({ time: z.iso.datetime({ offset: true }).optional() }).strict();
export type RedriveEvent = z.infer<typeof RedriveEvent>;
