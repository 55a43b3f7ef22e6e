/**
 * Shared by the tip form and the follow page: JSON calls to the same-origin API and RFC 9457 problem display.
 * Server text is only ever put into the page with textContent, never as HTML.
 */

/** Calls the API; resolves to { ok, status, json } (json undefined when the body is empty or not JSON). */
export async function api(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, json: undefined };
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { ok: res.ok, status: res.status, json };
}

/** A one-line Chinese summary of a failed call. */
export function problemText(res) {
  if (res.status === 0) return '网络连接失败，请检查网络后重试。';
  if (res.status === 429) return '提交过于频繁，请稍后再试。';
  if (res.status === 413) return '提交内容过大。';
  const title = res.json && typeof res.json.title === 'string' ? res.json.title.split(' / ')[0] : '';
  if (res.status >= 500 || !title) return `提交失败（${res.status}），请稍后再试。`;
  return title;
}

/**
 * Field errors next to their inputs. `resolve(field)` maps a problem's `errors[].field` (e.g. `body.location.address`)
 * to the id of the element that has an `err-<id>` paragraph, or undefined for errors shown in the status line.
 */
export function fieldErrors(root, resolve) {
  const shown = [];
  const clear = () => {
    for (const id of shown.splice(0)) {
      const p = root.getElementById(`err-${id}`);
      if (p) {
        p.textContent = '';
        p.hidden = true;
      }
      root.getElementById(id)?.removeAttribute('aria-invalid');
    }
  };
  /** Shows one message; returns false when there is no place for it. */
  const set = (id, message) => {
    const p = id ? root.getElementById(`err-${id}`) : null;
    if (!p) return false;
    p.textContent = p.hidden ? message : `${p.textContent}；${message}`;
    p.hidden = false;
    root.getElementById(id)?.setAttribute('aria-invalid', 'true');
    shown.push(id);
    return true;
  };
  /** Shows a problem's field errors; returns the messages that had no field to go to. */
  const show = (problem) => {
    const rest = [];
    const errors = problem && Array.isArray(problem.errors) ? problem.errors : [];
    for (const e of errors) {
      const message = String(e.messageZh || e.message || '');
      if (!set(resolve(String(e.field || '')), message)) rest.push(message);
    }
    return rest;
  };
  return { clear, set, show, first: () => shown[0] };
}
