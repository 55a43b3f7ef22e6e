/** Types of text.js for the tests that import it (the page itself is plain JavaScript). */
export function textProblem(value: string, max: number, rules?: { multiline?: boolean }): string;
