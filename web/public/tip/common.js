/**
 * Shared by the tip form and the follow page: JSON calls to the same-origin API, RFC 9457 problem display, and evidence
 * files (local checks, previews, the presigned upload flow). Server text and file names are only ever put into the page
 * with textContent, never as HTML.
 */

/**
 * Where the API answers for the pages: on their own origin under /api (the API's `api` stage; the web hosting forwards
 * /api/* to it, and the local platform serves the same), so no CORS and no configuration.
 */
export const API_BASE = '/api';

/** Calls the API; resolves to { ok, status, json } (json undefined when the body is empty or not JSON). */
export async function api(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API_BASE + path, init);
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

/**
 * A one-line Chinese summary of a failed call: the problem's own Chinese (`detailZh`) when it explains a refusal
 * (a 409, a 404); for a 400, the title, with the field errors shown next to their fields.
 */
export function problemText(res) {
  if (res.status === 0) return '网络连接失败，请检查网络后重试。';
  if (res.status === 429) return '提交过于频繁，请稍后再试。';
  if (res.status === 413) return '提交内容过大。';
  const json = res.json || {};
  const title = typeof json.title === 'string' ? json.title.split(' / ')[0] : '';
  if (res.status >= 500 || !title) return `提交失败（${res.status}），请稍后再试。`;
  if (res.status !== 400 && typeof json.detailZh === 'string' && json.detailZh) return `${title}：${json.detailZh}`;
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

// --- evidence files: one set of limits and one upload flow for the tip form and the follow page ---

const MB = 1024 * 1024;
/** Mirrors shared/domain/evidence/model.ts (types, sizes, files per request). */
const TYPES = {
  'image/jpeg': { kind: 'photo', maxBytes: 15 * MB },
  'image/png': { kind: 'photo', maxBytes: 15 * MB },
  'video/mp4': { kind: 'video', maxBytes: 200 * MB },
  'video/quicktime': { kind: 'video', maxBytes: 200 * MB },
};
export const MAX_FILES = 10;

/** Why a file cannot be sent, in Chinese; '' when it can. */
export function fileProblem(file) {
  const type = TYPES[file.type];
  if (!type) return '只接受 JPEG、PNG 照片和 MP4、MOV 视频';
  if (file.size === 0) return '文件是空的';
  if (file.size > type.maxBytes) return `${type.kind === 'photo' ? '照片' : '视频'}不能超过 ${type.maxBytes / MB} MB`;
  return '';
}

/** Checks a selection before anything is sent: `set(message)` once per problem. */
export function checkFiles(files, set) {
  if (files.length > MAX_FILES) set(`一次最多上传 ${MAX_FILES} 个文件`);
  for (const f of files) {
    const p = fileProblem(f);
    if (p) set(`${f.name}：${p}`);
  }
}

/**
 * Lists the files chosen in `input` inside `list`: a preview (photo, or muted video) from an object URL, the name and
 * size, and what is wrong with it. `clear()` empties the list and frees the object URLs.
 */
export function filePreviews(input, list) {
  let urls = [];
  const clear = () => {
    for (const u of urls) URL.revokeObjectURL(u);
    urls = [];
    list.replaceChildren();
  };
  input.addEventListener('change', () => {
    clear();
    for (const file of input.files) {
      const li = document.createElement('li');
      const type = TYPES[file.type];
      if (type && file.size <= type.maxBytes) {
        const url = URL.createObjectURL(file);
        urls.push(url);
        const media = document.createElement(type.kind === 'photo' ? 'img' : 'video');
        media.src = url;
        if (type.kind === 'photo') media.alt = '';
        else media.muted = true;
        li.append(media);
      }
      const name = document.createElement('span');
      name.textContent = `${file.name}（${(file.size / MB).toFixed(1)} MB）`;
      li.append(name);
      const problem = fileProblem(file);
      if (problem) {
        const bad = document.createElement('span');
        bad.className = 'bad';
        bad.textContent = ` ${problem}`;
        li.append(bad);
      }
      list.append(li);
    }
  });
  return { clear };
}

/**
 * The evidence upload flow: slots from POST /evidence/uploads (type and size are signed), then one PUT per file to its
 * presigned URL with exactly the signed headers; file names are not sent. `progress(text)` hears each step.
 * Resolves to `{ uploadIds }`, `{ res }` when the slots were refused (an API problem), or `{ failed: i }` when the
 * upload of file i failed.
 */
export async function uploadFiles(files, progress) {
  if (files.length === 0) return { uploadIds: [] };
  progress(`正在上传 ${files.length} 个文件…`);
  const res = await api('POST', '/evidence/uploads', {
    body: { files: files.map((f) => ({ contentType: f.type, bytes: f.size })) },
  });
  if (!res.ok) return { res };
  const slots = res.json.uploads;
  for (const [i, slot] of slots.entries()) {
    progress(`正在上传第 ${i + 1} / ${files.length} 个文件…`);
    let put;
    try {
      put = await fetch(slot.url, { method: slot.method || 'PUT', headers: slot.headers, body: files[i] });
    } catch {
      put = { ok: false };
    }
    if (!put.ok) return { failed: i };
  }
  return { uploadIds: slots.map((s) => s.uploadId) };
}
