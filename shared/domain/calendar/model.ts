/**
 * The working-day calendar as data: one State Council notice per year (国务院办公厅关于 Y 年部分节假日安排的通知), as it
 * is published each autumn for the next year (docs/cases.md「期限与工作日日历」; docs/operations.md「工作日日历」 says how
 * to add one). Dates are Beijing calendar dates, YYYY-MM-DD.
 */

/** One holiday of a notice: its days off and the weekend days worked in exchange. */
export interface NoticeHoliday {
  /** as the notice names it: 元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节 */
  name: string;
  /** the first and the last day off, inclusive */
  off: readonly [first: string, last: string];
  /** the total the notice states (共N天); checked against `off` */
  days: number;
  /** adjusted working days (调休上班): weekend days that are worked */
  workdays: readonly string[];
}

export interface HolidayNotice {
  /** the year the notice arranges */
  year: number;
  source: {
    issuer: string;
    title: string;
    /** the date the notice is signed, YYYY-MM-DD */
    date: string;
    /** the document number (e.g. 国办发明电〔…〕…号) when the published text carries one */
    number?: string;
    /** where and when its text was published */
    published: string;
  };
  holidays: readonly NoticeHoliday[];
}
