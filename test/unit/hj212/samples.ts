import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The reference test vectors (test/fixtures/hj212/samples.txt: packets from HJ 212-2017 itself and synthetic ones, each CRC computed): packet + note. */
export interface Sample {
  packet: string;
  note: string;
}

export function samples(): Sample[] {
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'hj212', 'samples.txt'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('##'))
    .map((l) => {
      const [packet = '', note = ''] = l.split('\t');
      return { packet: `${packet}\r\n`, note: note.replace(/^#\s*/, '') };
    });
}
