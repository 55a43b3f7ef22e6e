import type { HolidayNotice } from '../model.ts';
import { CN_2026 } from './2026.ts';

/**
 * Every year the working-day calendar knows, one file per State Council notice. To add a year: copy the last file to
 * `<year>.ts`, enter the notice, list it here (docs/operations.md「工作日日历」). A year that is not here is counted
 * Monday–Friday, and every deadline that reaches into it says so (calendar/cn-holidays.ts).
 */
export const NOTICES: readonly HolidayNotice[] = [CN_2026];
