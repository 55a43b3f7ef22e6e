/**
 * Spreadsheet cells from text someone else controls (a unit's name from the registry, a device's reason text, an
 * official's note): a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, or their full-width
 * forms, which some spreadsheet programs read the same way) is a formula to Excel, WPS and LibreOffice once the file
 * is edited or saved as CSV. Such text is written with a leading apostrophe, so it stays text (OWASP "CSV injection").
 * Numbers stay numbers.
 */
const FORMULA_START = /^[=+\-@\t\r＝＋－＠]/;

export function escapeCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

export type Cell = string | number | undefined;

/** A row as written: text escaped, numbers as they are, missing values empty. */
export const safeRow = (row: readonly Cell[]): (string | number)[] =>
  row.map((v) => (typeof v === 'number' ? v : escapeCell(v ?? '')));
