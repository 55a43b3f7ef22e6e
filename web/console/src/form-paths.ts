/** Plain helpers of the console's forms: dotted paths of nested fields, and where the API's field errors are shown. */

/** The message for a form item showing `path`, or for anything under it (`location` shows `location.lat`'s). */
export function errorAt(fields: Record<string, string>, path: string): string | undefined {
  if (fields[path]) return fields[path];
  const under = Object.keys(fields).find((k) => k.startsWith(`${path}.`));
  return under ? fields[under] : undefined;
}

/**
 * Puts each field error where the form shows it: on its field, on a field under it, or, for an error of a group the
 * form shows as several fields (`location` for `location.lat` and `location.lng`), on the group's first field.
 * `rest` are the errors no field of the form shows; the form lists them in its top message.
 */
export function placeErrors(
  fields: Record<string, string>,
  paths: readonly string[],
): { at: Record<string, string>; rest: string[] } {
  const at: Record<string, string> = {};
  const rest: string[] = [];
  for (const [key, message] of Object.entries(fields)) {
    const target =
      paths.find((p) => p === key) ??
      paths.find((p) => key.startsWith(`${p}.`)) ??
      paths.find((p) => p.startsWith(`${key}.`));
    if (target) at[target] ??= message;
    else rest.push(message);
  }
  return { at, rest };
}

/** Reads a dotted path (`location.lat`, `intervals.hourly`) of a plain object. */
export function getPath(obj: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

/** Writes a dotted path, creating the objects on the way. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== 'object') o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1) as string] = value;
}

/** What a form sends: empty strings, nulls and objects left empty are not sent (the API's optional fields). */
export function compact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(compact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const c = compact(v);
      if (c === undefined || c === null || c === '') continue;
      if (c && typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0) continue;
      out[k] = c;
    }
    return out;
  }
  if (typeof value === 'string') return value.trim();
  return value;
}
