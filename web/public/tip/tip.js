/**
 * The public tip form: evidence uploads (common.js: slots, then a PUT per file to its presigned URL) → POST /tips →
 * the receipt, shown once. Nothing is stored in the browser (no cookies, no storage); file names are not sent.
 * Limits mirror shared/domain/evidence/model.ts (in common.js) and shared/domain/tips/model.ts; the text rules are
 * shared/domain/text.ts's (in text.js).
 */
import { api, checkFiles, fieldErrors, filePreviews, problemText, uploadFiles } from './common.js';
import { textProblem } from './text.js';

/** TEXT_LIMITS of shared/domain/tips/model.ts, and the identity's name */
const DESCRIPTION_MAX = 2000;
const ADDRESS_MAX = 200;
const UNIT_NAME_MAX = 100;
const NAME_MAX = 40;

const $ = (id) => document.getElementById(id);
const form = $('tip-form');
const status = $('status');
const submit = $('submit');
let point;

/** `body.location.address` → the input's id. */
function fieldId(field) {
  const f = field.replace(/^body\./, '');
  if (f.startsWith('location.point')) return 'locate';
  if (f.startsWith('location.townshipId')) return 'township';
  if (f.startsWith('location.address')) return 'address';
  if (f.startsWith('suspectedUnit')) return 'unitName';
  if (f.startsWith('reporter.identity.')) return f.split('.')[2];
  if (f.startsWith('reporter')) return 'reporterKind';
  if (f.startsWith('commendationConsent')) return 'commendation';
  if (f.startsWith('uploadIds') || f.startsWith('files')) return 'files';
  const top = f.split('.')[0];
  return ['category', 'description', 'observedAt'].includes(top) ? top : undefined;
}
const errors = fieldErrors(document, fieldId);

function say(text, bad = false) {
  status.textContent = text;
  status.classList.toggle('bad', bad);
}

/** `2026-03-01T22:10` (local) → `2026-03-01T22:10:00+08:00`. */
function withOffset(local) {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return '';
  const off = -d.getTimezoneOffset();
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  const sign = off >= 0 ? '+' : '-';
  return `${local.length === 16 ? `${local}:00` : local}${sign}${pad(off / 60)}:${pad(off % 60)}`;
}

function nowLocal() {
  const d = new Date();
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

// --- fields that react ---
const description = $('description');
const counter = $('description-count');
const count = () => {
  counter.textContent = `${description.value.length} / ${DESCRIPTION_MAX} 字`;
};
description.addEventListener('input', count);
count();
$('observedAt').value = nowLocal();
$('observedAt').max = nowLocal();

const commendation = $('commendation');
function reporterChanged() {
  const real = form.elements.reporterKind.value === 'real_name';
  $('identity').hidden = !real;
  commendation.disabled = !real;
  if (!real) commendation.checked = false;
}
for (const r of form.elements.reporterKind) r.addEventListener('change', reporterChanged);
reporterChanged();

$('locate').addEventListener('click', () => {
  const out = $('locate-status');
  if (!navigator.geolocation) {
    out.textContent = '此浏览器不支持定位，请填写具体地点。';
    return;
  }
  out.textContent = '正在获取位置…';
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      point = { lat: Math.round(pos.coords.latitude * 1e6) / 1e6, lng: Math.round(pos.coords.longitude * 1e6) / 1e6 };
      out.textContent = `已获取位置（纬度 ${point.lat.toFixed(4)}，经度 ${point.lng.toFixed(4)}），将随举报提交。`;
      $('unlocate').hidden = false;
    },
    () => {
      point = undefined;
      out.textContent = '未能获取位置（可能未允许定位），请填写具体地点。';
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
});
$('unlocate').addEventListener('click', () => {
  point = undefined;
  $('unlocate').hidden = true;
  $('locate-status').textContent = '不附带位置。';
});

const filesInput = $('files');
const previews = filePreviews(filesInput, $('previews'));

// --- checks before anything is sent ---
function localCheck() {
  const v = (id) => $(id).value.trim();
  /** An empty field gets `empty`; text the server would refuse gets its reason (text.js). */
  const text = (id, max, empty, multiline = false) => {
    if (!v(id)) {
      if (empty) errors.set(id, empty);
      return;
    }
    const problem = textProblem($(id).value, max, { multiline });
    if (problem) errors.set(id, problem);
  };
  if (!form.elements.category.value) errors.set('category', '请选择举报类别');
  text('description', DESCRIPTION_MAX, '请描述看到的情况', true);
  if (!v('township')) errors.set('township', '请选择乡镇（街道）');
  text('address', ADDRESS_MAX, '请填写具体地点');
  text('unitName', UNIT_NAME_MAX);
  if (!withOffset($('observedAt').value)) errors.set('observedAt', '请填写发现时间');
  if (form.elements.reporterKind.value === 'real_name') {
    text('name', NAME_MAX, '实名举报请填写姓名');
    if (!/^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/.test(v('phone'))) errors.set('phone', '请填写正确的手机或固定电话号码');
    if (v('idNumber') && !/^\d{17}[\dXx]$/.test(v('idNumber'))) errors.set('idNumber', '身份证号为18位');
  }
  checkFiles([...filesInput.files], (message) => errors.set('files', message));
}

function tipBody(uploadIds) {
  const v = (id) => $(id).value.trim();
  const real = form.elements.reporterKind.value === 'real_name';
  const unit = v('unitName');
  const idNumber = v('idNumber').toUpperCase();
  return {
    category: form.elements.category.value,
    description: v('description'),
    location: { townshipId: v('township'), address: v('address'), ...(point ? { point } : {}) },
    observedAt: withOffset($('observedAt').value),
    ...(unit ? { suspectedUnit: { kind: 'unregistered', name: unit } } : {}),
    reporter: real
      ? { kind: 'real_name', identity: { name: v('name'), phone: v('phone'), ...(idNumber ? { idNumber } : {}) } }
      : { kind: 'anonymous' },
    insider: $('insider').checked,
    commendationConsent: real && commendation.checked,
    uploadIds,
  };
}

/** Uploads the chosen files; returns their upload ids, or undefined (with the errors shown) on failure. */
async function upload(files) {
  const out = await uploadFiles(files, (text) => say(text));
  if (out.uploadIds) return out.uploadIds;
  if (out.res) return fail(out.res);
  errors.set('files', `${files[out.failed].name} 上传失败，请重试`);
  return fail({ status: -1 }, '文件上传失败，请重试。');
}

function fail(res, text) {
  const rest = res.json ? errors.show(res.json) : [];
  const first = errors.first();
  say([text || problemText(res), ...rest].join(' '), true);
  if (first) $(first)?.focus();
  return undefined;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errors.clear();
  localCheck();
  if (errors.first()) {
    say('请检查标出的内容。', true);
    $(errors.first())?.focus();
    return;
  }
  submit.disabled = true;
  try {
    const uploadIds = await upload([...filesInput.files]);
    if (!uploadIds) return;
    say('正在提交…');
    const res = await api('POST', '/tips', { body: tipBody(uploadIds) });
    if (!res.ok) {
      fail(res);
      return;
    }
    showReceipt(String(res.json.receipt));
  } finally {
    submit.disabled = false;
  }
});

// focusing a fieldset (category, reporter kind) moves focus to its first control
for (const id of ['category', 'reporterKind']) {
  $(id).tabIndex = -1;
  $(id).addEventListener('focus', () => $(id).querySelector('input')?.focus());
}

function showReceipt(receipt) {
  const code = $('receipt-code');
  const digits = receipt.replace(/\D/g, '');
  code.replaceChildren(
    ...(digits.match(/\d{1,4}/g) || []).map((g) => {
      const s = document.createElement('span');
      s.textContent = g;
      return s;
    }),
  );
  code.dataset.receipt = digits;
  form.reset();
  previews.clear();
  point = undefined;
  form.hidden = true;
  $('receipt').hidden = false;
  $('receipt').focus();
  window.scrollTo(0, 0);
}

$('copy').addEventListener('click', async () => {
  const code = $('receipt-code');
  const out = $('copy-status');
  try {
    await navigator.clipboard.writeText(code.dataset.receipt || '');
    out.textContent = '已复制。请另外抄写保存。';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(code);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    out.textContent = '已选中查询码，请长按复制或抄写。';
  }
});
