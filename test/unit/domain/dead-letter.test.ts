import { describe, expect, it } from 'vitest';
import { replayOf } from '#shared/domain/ingest/dead-letter.ts';

const REPLAY = 'envwatch/replay/alarms';

describe('replayOf', () => {
  it('sends an IoT rule error record back to the topic the device published to, with the original bytes', () => {
    const original = '##0101QN=20261129160000000;ST=32;CN=2011;...';
    const r = replayOf(
      JSON.stringify({
        ruleName: 'envwatch_dev_hj212',
        topic: 'envwatch/devices/33112600000000000000BW01/hj212',
        base64OriginalPayload: Buffer.from(original).toString('base64'),
        failures: [{ failedAction: 'LambdaAction', errorMessage: 'evaluator threw' }],
      }),
      REPLAY,
    );
    expect(r).toMatchObject({
      ok: true,
      topic: 'envwatch/devices/33112600000000000000BW01/hj212',
      why: 'evaluator threw',
    });
    if (r.ok) expect(r.payload.toString()).toBe(original);
  });

  it('sends a Lambda failure record (the envelope) to the alarm replay topic', () => {
    const envelope = { source: 'mqtt-json', mn: 'M1', receivedAt: 1, raw: 'e30=' };
    const r = replayOf(
      JSON.stringify({ requestContext: { condition: 'RetriesExhausted' }, requestPayload: envelope }),
      REPLAY,
    );
    expect(r).toMatchObject({ ok: true, topic: REPLAY, from: 'lambda-failure', why: 'RetriesExhausted' });
    if (r.ok) expect(JSON.parse(r.payload.toString())).toEqual(envelope);
  });

  it('refuses anything else without guessing', () => {
    expect(replayOf('not json', REPLAY)).toEqual({ ok: false, reason: 'not JSON' });
    expect(replayOf('{"hello":1}', REPLAY).ok).toBe(false);
    expect(replayOf('{"requestPayload":null}', REPLAY).ok).toBe(false);
  });
});
