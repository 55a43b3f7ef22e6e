import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { EmfMetrics, MetricUnit } from '#shared/observability/metrics.ts';

const parse = (line: string | undefined) => JSON.parse(line ?? '{}');

describe('EmfMetrics', () => {
  it('writes one EMF line with exactly the dimensions asked for (no added service dimension)', () => {
    const lines: string[] = [];
    const m = new EmfMetrics({ namespace: 'EnvWatch/Ingest', dimensions: {}, write: (l) => lines.push(l) });
    expect(m).toBeInstanceOf(Metrics);

    m.addDimension('source', 'mqtt-hj212');
    m.addDimension('outcome', 'accepted');
    m.addMetric('Messages', MetricUnit.Count, 1);
    m.addMetric('ReadingsStored', MetricUnit.Count, 2);
    m.publishStoredMetrics();

    expect(lines).toHaveLength(1);
    const doc = parse(lines[0]);
    expect(doc._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'EnvWatch/Ingest',
        Dimensions: [['source', 'outcome']],
        Metrics: [
          { Name: 'Messages', Unit: 'Count' },
          { Name: 'ReadingsStored', Unit: 'Count' },
        ],
      },
    ]);
    expect(doc).toMatchObject({ source: 'mqtt-hj212', outcome: 'accepted', Messages: 1, ReadingsStored: 2 });
    expect(doc).not.toHaveProperty('service');
  });

  it('keeps the Powertools service dimension when no dimensions are given', () => {
    const lines: string[] = [];
    const m = new EmfMetrics({ namespace: 'EnvWatch/Api', service: 'tips-public', write: (l) => lines.push(l) });

    m.addMetric('ServerErrors', MetricUnit.Count, 1);
    m.publishStoredMetrics();

    const doc = parse(lines[0]);
    expect(doc._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    expect(doc).toMatchObject({ service: 'tips-public', ServerErrors: 1 });
  });

  it('writes nothing and clears the request dimensions when nothing was stored', () => {
    const lines: string[] = [];
    const m = new EmfMetrics({ namespace: 'EnvWatch/Api', write: (l) => lines.push(l) });

    m.addDimension('route', 'GET /x');
    m.publishStoredMetrics();
    m.addMetric('ServerErrors', MetricUnit.Count, 1);
    m.publishStoredMetrics();

    expect(lines).toHaveLength(1);
    expect(parse(lines[0])).not.toHaveProperty('route');
  });
});
