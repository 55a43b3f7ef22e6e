import { describe, expect, it } from 'vitest';
import { signedIotUrl } from '../../../gateway/iot-feed.ts';

describe('signedIotUrl', () => {
  it('presigns wss://<endpoint>/mqtt for iotdevicegateway and adds the session token after signing', async () => {
    const url = new URL(
      await signedIotUrl(
        'abc123-ats.iot.cn-north-1.amazonaws.com.cn',
        'cn-north-1',
        { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token/with+chars' },
        new Date('2026-12-06T01:00:00Z'),
      ),
    );
    expect(url.protocol).toBe('wss:');
    expect(url.host).toBe('abc123-ats.iot.cn-north-1.amazonaws.com.cn');
    expect(url.pathname).toBe('/mqtt');
    const q = url.searchParams;
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261206/cn-north-1/iotdevicegateway/aws4_request');
    expect(q.get('X-Amz-SignedHeaders')).toBe('host');
    expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(q.get('X-Amz-Security-Token')).toBe('token/with+chars');
    // the token is not part of what was signed: the same URL without it has the same signature
    const bare = new URL(
      await signedIotUrl(
        'abc123-ats.iot.cn-north-1.amazonaws.com.cn',
        'cn-north-1',
        { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
        new Date('2026-12-06T01:00:00Z'),
      ),
    );
    expect(bare.searchParams.get('X-Amz-Signature')).toBe(q.get('X-Amz-Signature'));
    expect(bare.searchParams.has('X-Amz-Security-Token')).toBe(false);
  });
});
