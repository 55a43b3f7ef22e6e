/**
 * AWS IoT Core policy evaluation for the local broker, enough for the template's device policy: `Allow` and `Deny`
 * statements (an explicit deny wins, no statement means no), actions and resources with the IoT wildcards `*` (any run
 * of characters) and `?` (one character), where MQTT's `+` and `#` are plain characters, and the policy variables
 * `${iot:Connection.Thing.ThingName}`, `${iot:Connection.Thing.IsAttached}` and `${iot:ClientId}`.
 * Conditions: `Bool`, `StringEquals`, `StringNotEquals`, `StringLike` and `StringNotLike` on those keys.
 *
 * As in IoT Core, the thing of a connection is the thing named by its client id when that thing is attached to the
 * certificate it presented; otherwise `${iot:Connection.Thing.ThingName}` does not resolve, a statement that needs it
 * does not apply, and `iot:Connection.Thing.IsAttached` is false. A statement using anything this evaluator does not
 * know does not apply either (for an Allow: fail closed).
 */

export type IotAction = 'iot:Connect' | 'iot:Publish' | 'iot:Subscribe' | 'iot:Receive';

export interface IotPolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface IotPolicyDocument {
  Version?: string;
  Statement: IotPolicyStatement | IotPolicyStatement[];
}

/** What the policy variables and condition keys of one MQTT connection resolve to. */
export interface ConnectionContext {
  clientId: string;
  /** the thing named by the client id, when it is attached to the connection's certificate */
  thingName?: string;
}

export interface Decision {
  allowed: boolean;
  /** which statement decided, or why nothing did: for the platform's log */
  reason: string;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function variables(ctx: ConnectionContext): Record<string, string | undefined> {
  return {
    'iot:Connection.Thing.ThingName': ctx.thingName,
    'iot:Connection.Thing.IsAttached': ctx.thingName !== undefined ? 'true' : 'false',
    'iot:ClientId': ctx.clientId,
  };
}

/** `pattern` with its policy variables substituted, or undefined when one does not resolve. */
function substitute(pattern: string, vars: Record<string, string | undefined>): string | undefined {
  let unresolved = false;
  const out = pattern.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) unresolved = true;
    return value ?? '';
  });
  return unresolved ? undefined : out;
}

/** IoT policy wildcard match: `*` any run, `?` one character; everything else literal. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

function conditionHolds(
  condition: IotPolicyStatement['Condition'],
  vars: Record<string, string | undefined>,
): boolean | undefined {
  for (const [operator, tests] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(tests)) {
      const actual = vars[key];
      if (actual === undefined) return undefined;
      const wanted = list(expected as string | string[]).map((e) => substitute(String(e), vars));
      if (wanted.includes(undefined)) return undefined;
      const values = wanted as string[];
      let ok: boolean;
      switch (operator) {
        case 'Bool':
          ok = values.some((v) => v.toLowerCase() === actual);
          break;
        case 'StringEquals':
          ok = values.includes(actual);
          break;
        case 'StringNotEquals':
          ok = !values.includes(actual);
          break;
        case 'StringLike':
          ok = values.some((v) => wildcardMatch(v, actual));
          break;
        case 'StringNotLike':
          ok = !values.some((v) => wildcardMatch(v, actual));
          break;
        default:
          return undefined;
      }
      if (!ok) return false;
    }
  }
  return true;
}

/** Whether `documents` (the policies attached to the certificate) allow `action` on `resource` for this connection. */
export function authorize(
  documents: { policyName: string; document: IotPolicyDocument }[],
  action: IotAction,
  resource: string,
  ctx: ConnectionContext,
): Decision {
  const vars = variables(ctx);
  let allowedBy: string | undefined;
  for (const { policyName, document } of documents) {
    for (const [i, st] of list(document.Statement).entries()) {
      if (!list(st.Action).some((a) => wildcardMatch(a, action))) continue;
      const resources = list(st.Resource)
        .map((r) => substitute(r, vars))
        .filter((r): r is string => r !== undefined);
      if (!resources.some((r) => wildcardMatch(r, resource))) continue;
      if (conditionHolds(st.Condition, vars) !== true) continue;
      if (st.Effect === 'Deny')
        return { allowed: false, reason: `${policyName} statement ${i} denies ${action} on ${resource}` };
      allowedBy ??= `${policyName} statement ${i}`;
    }
  }
  return allowedBy
    ? { allowed: true, reason: `allowed by ${allowedBy}` }
    : { allowed: false, reason: `no statement allows ${action} on ${resource}` };
}
