import { describe, expect, it } from 'vitest';
import type { StoredDevice } from '#shared/domain/registry/model.ts';
import { gatewayConfig } from '../../../gateway/config.ts';
import { Metrics } from '../../../gateway/metrics.ts';
import { cachedRegistry } from '../../../gateway/registry.ts';

/** The gateway's small adapters: environment configuration, the registry cache, EMF metric lines. */
describe('gatewayConfig', () => {
  const env = {
    GATEWAY_INGEST_TOPIC: '$aws/rules/envwatch_dev_gateway/envwatch/gateway',
    REGISTRY_TABLE: 'registry',
  };

  it('reads the topic prefix and table, with the default port and limits', () => {
    expect(gatewayConfig(env)).toEqual({
      topicPrefix: env.GATEWAY_INGEST_TOPIC,
      registryTable: 'registry',
      port: 9212,
      logLevel: 'info',
      limits: {},
    });
  });

  it('reads optional limits in seconds and counts', () => {
    const c = gatewayConfig({
      ...env,
      GATEWAY_IDLE_TIMEOUT_SECONDS: '60',
      GATEWAY_MAX_CONNECTIONS: '50',
      GATEWAY_PORT: '4516',
    });
    expect(c.limits).toEqual({ idleTimeoutMs: 60_000, maxConnections: 50 });
    expect(c.port).toBe(4516);
  });

  it('fails naming every bad variable when the topic is not a Basic Ingest prefix and the table is missing', () => {
    expect(() => gatewayConfig({ GATEWAY_INGEST_TOPIC: 'envwatch/gateway' })).toThrow(
      /GATEWAY_INGEST_TOPIC.*REGISTRY_TABLE/,
    );
  });
});

describe('cachedRegistry', () => {
  it('reads a device once within the TTL, shares concurrent lookups and re-reads after expiry', async () => {
    let t = 0;
    let reads = 0;
    const inner = {
      deviceForAuthentication: async (mn: string) => {
        reads++;
        return mn === 'A' ? ({ mn } as unknown as StoredDevice) : undefined;
      },
    };
    const r = cachedRegistry(inner, { ttlMs: 100, negativeTtlMs: 10, now: () => t });
    await Promise.all([r.deviceForAuthentication('A'), r.deviceForAuthentication('A')]);
    expect(reads).toBe(1);
    t = 50;
    expect(await r.deviceForAuthentication('A')).toMatchObject({ mn: 'A' });
    expect(reads).toBe(1);
    t = 150;
    await r.deviceForAuthentication('A');
    expect(reads).toBe(2);
    expect(await r.deviceForAuthentication('X')).toBeUndefined();
    t = 165;
    await r.deviceForAuthentication('X');
    expect(reads).toBe(4);
  });

  it('does not cache a failed lookup', async () => {
    let calls = 0;
    const r = cachedRegistry({
      deviceForAuthentication: async () => {
        calls++;
        if (calls === 1) throw new Error('throttled');
        return undefined;
      },
    });
    await expect(r.deviceForAuthentication('A')).rejects.toThrow('throttled');
    await expect(r.deviceForAuthentication('A')).resolves.toBeUndefined();
  });
});

describe('Metrics', () => {
  it('writes the counts since the last flush as one EMF line and keeps totals', () => {
    const lines: string[] = [];
    const m = new Metrics('hj212-gateway', (l) => lines.push(l));
    m.inc('frames.accepted', 3);
    m.inc('rejected.bad-crc');
    m.flush({ connections: 2 }, 1_700_000_000_000);
    const doc = JSON.parse(lines[0] as string);
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'EnvWatch/Gateway', Dimensions: [['Service']] });
    expect(doc).toMatchObject({
      Service: 'hj212-gateway',
      'frames.accepted': 3,
      'rejected.bad-crc': 1,
      connections: 2,
    });
    m.inc('frames.accepted');
    m.flush();
    expect(JSON.parse(lines[1] as string)['frames.accepted']).toBe(1);
    expect(m.totals()['frames.accepted']).toBe(4);
  });
});
