/**
 * Follow a tip with its receipt: GET /tips/follow (receipt in the `x-receipt` header, never in the URL), then the
 * status, the handler's messages, the identity access log, a reply box (POST /tips/follow/replies) and added
 * information with photos or videos (补充材料: the tip form's upload flow from common.js, then POST /tips/follow/info).
 * The receipt lives only in this page's memory. Server text is shown with textContent only.
 */
import { api, checkFiles, fieldErrors, filePreviews, problemText, uploadFiles } from './common.js';

const CATEGORY = {
  illegal_discharge: '偷排漏排',
  monitoring_fraud: '篡改伪造监测数据',
  hazardous_waste_dumping: '非法倾倒危险废物',
  drinking_water_source: '饮用水水源保护区排污',
  air: '废气',
  water: '废水',
  noise: '噪声',
  solid_waste: '固体废物',
  other: '其他',
};

const $ = (id) => document.getElementById(id);
let receipt = '';
const errors = fieldErrors(document, (field) => (field.startsWith('body.text') ? 'replyText' : undefined));
/** `body.text` → the note; `body.uploadIds.0` (POST /tips/follow/info) and `body.files.0.bytes` (slots) → the files. */
const addErrors = fieldErrors(document, (field) => {
  if (field.startsWith('body.text')) return 'infoText';
  if (field.startsWith('body.uploadIds') || field.startsWith('body.files')) return 'infoFiles';
  return undefined;
});

const when = (iso) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('zh-CN', { hour12: false });
};

function item(meta, text) {
  const li = document.createElement('li');
  const m = document.createElement('span');
  m.className = 'meta';
  m.textContent = meta;
  const t = document.createElement('span');
  t.className = 'text';
  t.textContent = text;
  li.append(m, t);
  return li;
}

function render(view) {
  $('statusLabel').textContent = `${view.statusLabel}（${view.status}）`;
  $('category').textContent = CATEGORY[view.category] || view.category;
  $('receivedAt').textContent = when(view.receivedAt);
  $('messages').replaceChildren(
    ...view.messages.map((m) => item(`${m.from === 'handler' ? '办理人员' : '我'} · ${when(m.at)}`, m.text)),
  );
  $('messages-empty').hidden = view.messages.length > 0;
  $('info').replaceChildren(
    ...view.addedInfo.map((i) => item(`${when(i.at)}${i.files ? ` · ${i.files} 个文件` : ''}`, i.text)),
  );
  $('info').hidden = view.addedInfo.length === 0;
  // a closed tip takes no more information (the API answers 409): say so instead of offering the form
  $('add').hidden = view.status === 'closed';
  $('add-closed').hidden = view.status !== 'closed';
  $('access').replaceChildren(...view.identityAccess.map((a) => item(`${when(a.at)} · ${a.by}`, `事由：${a.reason}`)));
  $('access-empty').hidden = view.identityAccess.length > 0;
  $('view').hidden = false;
}

const status = $('status');
$('lookup').addEventListener('submit', async (event) => {
  event.preventDefault();
  const err = $('err-receipt');
  err.hidden = true;
  $('receipt').removeAttribute('aria-invalid');
  const digits = $('receipt').value.replace(/\D/g, '');
  if (digits.length !== 16) {
    err.textContent = '查询码是 16 位数字';
    err.hidden = false;
    $('receipt').setAttribute('aria-invalid', 'true');
    $('receipt').focus();
    return;
  }
  $('lookup-submit').disabled = true;
  status.textContent = '正在查询…';
  const res = await api('GET', '/tips/follow', { headers: { 'x-receipt': digits } });
  $('lookup-submit').disabled = false;
  if (!res.ok) {
    $('view').hidden = true;
    receipt = '';
    status.textContent =
      res.status === 404 ? '查询码不正确，或已因多次输错被暂时锁定。请核对后再试。' : problemText(res);
    return;
  }
  receipt = digits;
  status.textContent = '查询成功。';
  resetAdd();
  render(res.json);
});

const replyText = $('replyText');
replyText.addEventListener('input', () => {
  $('reply-count').textContent = `${replyText.value.length} / 1000 字`;
});

$('reply').addEventListener('submit', async (event) => {
  event.preventDefault();
  errors.clear();
  const out = $('reply-status');
  const text = replyText.value.trim();
  if (!text) {
    errors.set('replyText', '请填写回复内容');
    replyText.focus();
    return;
  }
  $('reply-submit').disabled = true;
  out.textContent = '正在发送…';
  const res = await api('POST', '/tips/follow/replies', { body: { text }, headers: { 'x-receipt': receipt } });
  $('reply-submit').disabled = false;
  if (!res.ok) {
    const rest = res.json ? errors.show(res.json) : [];
    out.textContent = [problemText(res), ...rest].join(' ');
    return;
  }
  replyText.value = '';
  $('reply-count').textContent = '0 / 1000 字';
  out.textContent = '已发送。';
  render(res.json);
});

// --- 补充材料: a note and photos or videos, uploaded like the tip form's, then POST /tips/follow/info ---

const infoText = $('infoText');
const infoFiles = $('infoFiles');
const addStatus = $('add-status');
const previews = filePreviews(infoFiles, $('infoPreviews'));
const countInfo = () => {
  $('info-count').textContent = `${infoText.value.length} / 2000 字`;
};
infoText.addEventListener('input', countInfo);

function say(text, bad = false) {
  addStatus.textContent = text;
  addStatus.classList.toggle('bad', bad);
}

function resetAdd() {
  addErrors.clear();
  $('add').reset();
  previews.clear();
  countInfo();
  say('');
}

/** Shows a failed call: field errors next to their fields (messageZh), the rest in the status line; focus the first. */
function addFailed(res, text) {
  const rest = res.json ? addErrors.show(res.json) : [];
  const lead = text || (res.status === 404 ? '查询码已失效或被暂时锁定，请重新查询。' : problemText(res));
  say([lead, ...rest].join(' '), true);
  const first = addErrors.first();
  if (first) $(first)?.focus();
}

$('add').addEventListener('submit', async (event) => {
  event.preventDefault();
  addErrors.clear();
  const text = infoText.value.trim();
  const files = [...infoFiles.files];
  if (!text) addErrors.set('infoText', '请填写补充说明');
  checkFiles(files, (message) => addErrors.set('infoFiles', message));
  if (addErrors.first()) {
    say('请检查标出的内容。', true);
    $(addErrors.first())?.focus();
    return;
  }
  $('add-submit').disabled = true;
  try {
    const up = await uploadFiles(files, (t) => say(t));
    if (up.res) return addFailed(up.res);
    if (!up.uploadIds) {
      addErrors.set('infoFiles', `${files[up.failed].name} 上传失败，请重试`);
      return addFailed({ status: -1 }, '文件上传失败，请重试。');
    }
    say('正在提交…');
    const res = await api('POST', '/tips/follow/info', {
      body: { text, uploadIds: up.uploadIds },
      headers: { 'x-receipt': receipt },
    });
    if (!res.ok) {
      return addFailed(res, res.status === 409 ? '线索已办结，不能再补充材料。如有新情况，请重新举报。' : undefined);
    }
    resetAdd();
    render(res.json);
    say(`补充材料已提交${up.uploadIds.length ? `（${up.uploadIds.length} 个文件）` : ''}。`);
  } finally {
    $('add-submit').disabled = false;
  }
});
