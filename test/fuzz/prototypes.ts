/**
 * A fingerprint of the built-in prototypes a device-chosen key could reach (`o[key] = v` on a plain object writes to
 * Object.prototype for `__proto__`, or onto the built-in function that `constructor` / `toString` / … resolve to).
 * Equal fingerprints before and after a run mean nothing was added to, removed from or replaced on any of them.
 */
const TARGETS: [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Function.prototype', Function.prototype],
  ['Array.prototype', Array.prototype],
  ['String.prototype', String.prototype],
  ['Number.prototype', Number.prototype],
  ['Object', Object],
  ['Function', Function],
  ['Array', Array],
];

export function prototypeFingerprint(): string {
  const lines: string[] = [];
  const seen = new Set<object>();
  const visit = (name: string, o: object) => {
    if (seen.has(o)) return;
    seen.add(o);
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      const value = d && 'value' in d ? d.value : undefined;
      lines.push(`${name}.${String(key)}:${typeof value}:${d?.get ? 'get' : ''}${d?.set ? 'set' : ''}`);
      if (typeof value !== 'function' && (typeof value !== 'object' || value === null)) {
        lines.push(`${name}.${String(key)}=${String(value)}`);
      }
    }
    // the built-in functions a key resolves to on a plain object: their own properties too
    for (const key of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d && typeof d.value === 'function') visit(`${name}.${String(key)}`, d.value);
    }
    lines.push(`${name}:proto=${String(Object.getPrototypeOf(o) === null ? 'null' : typeof Object.getPrototypeOf(o))}`);
  };
  for (const [name, o] of TARGETS) visit(name, o);
  return lines.join('\n');
}
