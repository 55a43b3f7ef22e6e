import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors.ts';
import { evidenceKeys, uploadKey, validateUploadRequests } from '#shared/domain/evidence/model.ts';
import { matchesDeclaredType, sniffContentType } from '#shared/domain/evidence/sniff.ts';
import { cleanJpeg, cleanPng } from '../helpers/images.ts';

const MB = 1024 * 1024;
const mp4 = Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 0, 0]);
const mov = Buffer.from([0, 0, 0, 0x14, 0x66, 0x74, 0x79, 0x70, 0x71, 0x74, 0x20, 0x20, 0, 0, 0, 0]);

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('validateUploadRequests', () => {
  it('accepts photos up to 15 MB and videos up to 200 MB', () => {
    expect(
      validateUploadRequests([
        { contentType: 'image/jpeg', bytes: 15 * MB },
        { contentType: 'image/png', bytes: 1 },
        { contentType: 'video/mp4', bytes: 200 * MB },
        { contentType: 'video/quicktime', bytes: 5 * MB, fileName: 'IMG_0001.MOV' },
      ]),
    ).toHaveLength(4);
  });

  it('names each bad file precisely, in English and Chinese', () => {
    const issues = issuesOf(() =>
      validateUploadRequests([
        { contentType: 'image/jpeg', bytes: 10 },
        { contentType: 'image/gif', bytes: 10 },
        { contentType: 'image/png', bytes: 15 * MB + 1 },
        { contentType: 'video/mp4', bytes: 200 * MB + 1 },
        { contentType: 'video/mp4', bytes: 0 },
      ]),
    );
    expect(issues.map((i) => i.field)).toEqual([
      'files.1.contentType',
      'files.2.bytes',
      'files.3.bytes',
      'files.4.bytes',
    ]);
    expect(issues[1]?.message).toContain('at most 15 MB');
    expect(issues[1]?.messageZh).toBe('照片不能超过 15 MB');
    expect(issues[2]?.messageZh).toBe('视频不能超过 200 MB');
  });

  it('refuses an empty list and more than 10 files', () => {
    expect(issuesOf(() => validateUploadRequests([]))[0]?.field).toBe('files');
    const eleven = Array.from({ length: 11 }, () => ({ contentType: 'image/jpeg', bytes: 1 }));
    expect(issuesOf(() => validateUploadRequests(eleven))[0]?.message).toContain('at most 10');
  });
});

describe('keys', () => {
  it('puts uploads under the day and evidence under its owner', () => {
    expect(uploadKey('01ABC', new Date('2025-03-01T23:59:00Z'))).toBe('uploads/2025-03-01/01ABC');
    expect(evidenceKeys({ kind: 'tip', id: 'T1' }, 'E1', 'image/png')).toEqual({
      originalKey: 'evidence/tip/T1/E1/original',
      workingKey: 'evidence/tip/T1/E1/working.png',
    });
    expect(evidenceKeys({ kind: 'patrol', id: 'P1' }, 'E2', 'video/mp4')).toEqual({
      originalKey: 'evidence/patrol/P1/E2/original',
      workingKey: 'evidence/patrol/P1/E2/working.mp4',
    });
  });
});

describe('sniffContentType', () => {
  it('recognizes JPEG, PNG and ISO media by their magic bytes', () => {
    expect(sniffContentType(cleanJpeg())).toBe('image/jpeg');
    expect(sniffContentType(cleanPng())).toBe('image/png');
    expect(sniffContentType(mp4)).toBe('video/iso-bmff');
    expect(sniffContentType(Buffer.from('<html><script>'))).toBeUndefined();
    expect(sniffContentType(Buffer.alloc(0))).toBeUndefined();
  });

  it('matches a declared type only to its own content; MP4 and MOV share ftyp', () => {
    expect(matchesDeclaredType('image/jpeg', cleanJpeg())).toBe(true);
    expect(matchesDeclaredType('image/jpeg', cleanPng())).toBe(false);
    expect(matchesDeclaredType('image/png', cleanJpeg())).toBe(false);
    expect(matchesDeclaredType('video/mp4', mov)).toBe(true);
    expect(matchesDeclaredType('video/quicktime', mp4)).toBe(true);
    expect(matchesDeclaredType('video/mp4', cleanJpeg())).toBe(false);
    expect(matchesDeclaredType('image/png', Buffer.from('GIF89a'))).toBe(false);
  });
});
