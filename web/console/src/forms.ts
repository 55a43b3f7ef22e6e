import { ApiProblem, problemText } from './api/client.ts';

/**
 * A refused form, for showing: each field the API named (`body.location.lat` → `location.lat`) with its Chinese
 * message, and one sentence for the top of the form (what is wrong overall, or the problem itself when no field is
 * named: a 403, a 409 or a network failure).
 */
export interface FormFailure {
  fields: Record<string, string>;
  message: string;
}

export function formFailure(err: unknown): FormFailure {
  if (!(err instanceof ApiProblem) || err.fields.length === 0) return { fields: {}, message: problemText(err) };
  const fields: Record<string, string> = {};
  for (const f of err.fields) {
    const path = f.field.replace(/^body\.?/, '');
    fields[path] ??= f.messageZh ?? f.message;
  }
  return { fields, message: `有 ${Object.keys(fields).length} 处填写有误，请按标红处修改后再提交` };
}

export { compact, errorAt, getPath, placeErrors, setPath } from './form-paths.ts';
