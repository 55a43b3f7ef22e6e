import { strFromU8, unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { zipFiles } from '#shared/adapters/zip-archive.ts';
import type { Case } from '#shared/domain/cases/model.ts';
import { beijingTime, csvCell, transferPackageFiles } from '#shared/domain/cases/transfer-package.ts';
import { type Caller, CasesService } from '#shared/domain/cases/use-cases.ts';
import { ConflictError, ForbiddenError } from '#shared/domain/errors.ts';
import { PENCIL } from '#shared/domain/registry/qingyuan-seed.ts';
import { MemoryCaseStore, MemorySources, MemoryWorkflows } from '../../helpers/memory-cases.ts';

/**
 * 移送材料: the documents of a suspected-crime case for the police, built from the case, its timeline and its transfer
 * steps, zipped as one download; only for a reader of the case, only once the case has that decision.
 */
const NOW = new Date('2026-04-07T02:00:00.000Z');
const CASE_ID = '01JQ7Z3K9M2V4X6Y8A0B1C2D3E';
const EVIDENCE_ID = '01JQ7Z9E5V1D2E3N4C5E6A7B8C';
const RAW_ID = '01JQ7Z9E5V1D2E3N4C5E6A7B8D';

const crimeCase = (over: Partial<Case> = {}): Case => ({
  caseId: CASE_ID,
  enterpriseId: PENCIL,
  unitName: '庆元县示例铅笔制造有限公司',
  townshipId: 'pingdu',
  title: '某铅笔厂暗管排放含铅废水',
  sources: [{ kind: 'tip', id: '01JNZ3Q8X7K2M4V6W8Y0A1B2T1', addedAt: '2026-04-01T01:00:00.000Z', addedBy: 'u-chief' }],
  handlers: ['u-handler-01', 'u-handler-02'],
  status: 'decided',
  evidence: [
    {
      type: 'object',
      id: EVIDENCE_ID,
      kind: 'inspection_record',
      key: `cases/${CASE_ID}/inspection.pdf`,
      sha256: 'b'.repeat(64),
      note: '=HYPERLINK("http://x")现场检查笔录',
      addedAt: '2026-04-02T01:00:00.000Z',
      addedBy: 'u-handler-01',
    },
    {
      type: 'raw_archive',
      id: RAW_ID,
      mn: '33112600000000000000PC01',
      from: '2026-04-01T00:00:00.000Z',
      to: '2026-04-01T06:00:00.000Z',
      addedAt: '2026-04-02T02:00:00.000Z',
      addedBy: 'u-handler-01',
    },
  ],
  decision: {
    type: 'suspected_crime',
    proposedItems: [{ item: 'item5', reference: '法释〔2023〕7号 第一条第（五）项' }],
    confirmedItems: [
      { item: 'item5', facts: '通过暗管排放含铅废水', confirmedBy: 'u-head', confirmedAt: '2026-04-06T02:00:00.000Z' },
    ],
    decidedBy: 'u-head',
    decidedAt: '2026-04-06T02:00:00.000Z',
  },
  openedAt: '2026-04-01T01:00:00.000Z',
  openedBy: 'u-chief',
  updatedAt: '2026-04-06T02:00:00.000Z',
  version: 5,
  ...over,
});

describe('transfer package documents', () => {
  it('writes the summary with the article relied on, the evidence list with hashes and the steps, in Beijing time', () => {
    const files = transferPackageFiles(
      crimeCase(),
      [{ id: 'e1', at: '2026-04-01T01:00:00.000Z', by: 'u-chief', type: 'opened', note: '立案' }],
      [
        {
          taskId: 't1',
          caseId: CASE_ID,
          workflow: 'transfer',
          executionArn: 'arn',
          step: 'police_receipt',
          actors: ['police_liaison'],
          createdAt: '2026-04-06T03:00:00.000Z',
          dueAt: '2026-04-07T03:00:00.000Z',
          state: 'done',
          outcome: { action: 'acknowledge', by: 'u-police' },
          completedAt: '2026-04-06T05:00:00.000Z',
        },
        {
          taskId: 't0',
          caseId: CASE_ID,
          workflow: 'reward',
          executionArn: 'arn',
          step: 'payment',
          actors: ['reward_post'],
          createdAt: '2026-04-06T03:00:00.000Z',
          state: 'open',
        },
      ],
      { at: NOW.toISOString(), by: 'u-police' },
    );
    expect(files.map((f) => f.name)).toEqual([
      '01-移送材料清单.txt',
      '02-案件基本情况.txt',
      '03-证据清单.csv',
      '04-案件时间线.txt',
      '05-移送流程记录.txt',
    ]);
    const [index, summary, evidence, timeline, steps] = files.map((f) => f.text);
    expect(index).toContain('证据：2 项');
    expect(summary).toContain('法释〔2023〕7号 第一条第（五）项 通过暗管、渗井');
    expect(summary).toContain('认定事实：通过暗管排放含铅废水');
    expect(summary).toContain('立案时间：2026-04-01 09:00:00（u-chief）');
    // the hash of each item, and a note that would be a formula kept as text
    expect(evidence).toContain(`"${'b'.repeat(64)}"`);
    expect(evidence).toContain(`"'=HYPERLINK(""http://x"")现场检查笔录"`);
    expect(evidence).toContain('"设备 MN 33112600000000000000PC01","2026-04-01 08:00:00","2026-04-01 14:00:00"');
    expect(timeline).toContain('2026-04-01 09:00:00  u-chief  立案');
    // only the transfer's steps, with their deadlines and outcomes
    expect(steps).toContain('公安机关接收：已办理；收到 2026-04-06 11:00:00；期限 2026-04-07 11:00:00；u-police');
    expect(steps).not.toContain('发放奖励');
  });

  it('keeps a cell a spreadsheet would run as a formula as text', () => {
    expect(['=1+1', '+86', '-2', '@SUM(A1)', '\tx', '正常'].map(csvCell)).toEqual([
      `"'=1+1"`,
      `"'+86"`,
      `"'-2"`,
      `"'@SUM(A1)"`,
      `"'\tx"`,
      '"正常"',
    ]);
    expect(beijingTime('2026-12-31T16:30:00.000Z')).toBe('2027-01-01 00:30:00');
  });

  it('zips the documents with UTF-8 names, the same bytes for the same case, and each file hashed', () => {
    const files = transferPackageFiles(crimeCase(), [], [], { at: NOW.toISOString(), by: 'u-police' });
    const zip = zipFiles(files, NOW);
    expect(zipFiles(files, NOW).sha256).toBe(zip.sha256);
    const back = unzipSync(zip.bytes);
    expect(Object.keys(back)).toEqual(files.map((f) => f.name));
    expect(strFromU8(back['02-案件基本情况.txt'] as Uint8Array)).toBe(files[1]?.text);
    expect(zip.files[0]).toMatchObject({
      name: '01-移送材料清单.txt',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });
});

describe('CasesService.transferPackage', () => {
  const setup = () => {
    const store = new MemoryCaseStore(() => NOW);
    const cases = new CasesService({
      store,
      sources: new MemorySources(),
      workflows: new MemoryWorkflows(),
      now: () => NOW,
    });
    return { store, cases };
  };
  const police: Caller = { sub: 'u-police', roles: ['police_liaison'] };

  it('gives a reader of a suspected-crime case its documents, the read audited', async () => {
    const { store, cases } = setup();
    store.seed(crimeCase());
    const out = await cases.transferPackage(CASE_ID, police);
    expect(out.files).toHaveLength(5);
    expect(out.files[0]?.text).toContain('生成：2026-04-07 10:00:00，u-police');
    expect(store.audit.some((a) => a.actor === 'u-police' && a.action === 'case.read')).toBe(true);
  });

  it('refuses a case without a suspected-crime decision, and a liaison such a case is not shown to', async () => {
    const { store, cases } = setup();
    const { decision: _none, ...undecided } = crimeCase({ status: 'investigating' });
    store.seed(undecided);
    await expect(cases.transferPackage(CASE_ID, { sub: 'u-chief', roles: ['section_chief'] })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(cases.transferPackage(CASE_ID, police)).rejects.toBeInstanceOf(ForbiddenError);
  });
});
