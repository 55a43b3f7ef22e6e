import type { HolidayNotice } from '../model.ts';

/** The 2026 arrangement, as published by Xinhua on 2025-11-04 (the published text carries no document number). */
export const CN_2026: HolidayNotice = {
  year: 2026,
  source: {
    issuer: '国务院办公厅',
    title: '国务院办公厅关于2026年部分节假日安排的通知',
    date: '2025-11-04',
    published: '新华社 2025-11-04 全文播发',
  },
  holidays: [
    { name: '元旦', off: ['2026-01-01', '2026-01-03'], days: 3, workdays: ['2026-01-04'] },
    { name: '春节', off: ['2026-02-15', '2026-02-23'], days: 9, workdays: ['2026-02-14', '2026-02-28'] },
    { name: '清明节', off: ['2026-04-04', '2026-04-06'], days: 3, workdays: [] },
    { name: '劳动节', off: ['2026-05-01', '2026-05-05'], days: 5, workdays: ['2026-05-09'] },
    { name: '端午节', off: ['2026-06-19', '2026-06-21'], days: 3, workdays: [] },
    { name: '中秋节', off: ['2026-09-25', '2026-09-27'], days: 3, workdays: [] },
    { name: '国庆节', off: ['2026-10-01', '2026-10-07'], days: 7, workdays: ['2026-09-20', '2026-10-10'] },
  ],
};
