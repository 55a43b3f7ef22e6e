/**
 * Records keyed by text a device or citizen controls. A plain `{}` inherits from Object.prototype: `o['__proto__'] = v`
 * replaces its prototype, and `o['constructor']` or `o['toString']` read a built-in function before anything was
 * stored. A null record has a frozen, empty prototype without a prototype of its own, so every key is an ordinary own
 * property and an absent key reads `undefined`. Unlike `Object.create(null)` (a dictionary-mode object in V8), it keeps
 * V8's fast properties: the HJ 212 codec makes several per packet.
 */
function NullRecord(): void {}
NullRecord.prototype = Object.freeze(Object.create(null));

export function nullRecord<V>(): Record<string, V> {
  return new (NullRecord as unknown as new () => Record<string, V>)();
}

/** True when `o` is a null record (or an `Object.create(null)` object): no key of it can reach Object.prototype. */
export function isNullRecord(o: object): boolean {
  const proto = Object.getPrototypeOf(o) as object | null;
  return proto === null || proto === NullRecord.prototype;
}
