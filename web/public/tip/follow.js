/**
 * Follow a tip with its receipt: GET /tips/follow (receipt in the `x-receipt` header, never in the URL), then the
 * status, the handler's messages, the identity access log, a reply box (POST /tips/follow/replies) and added
 * information with photos or videos (补充材料: the tip form's upload flow from common.js, then POST /tips/follow/info),
 * and, for an anonymous reporter whose tip was found true, the reward claim (申领举报奖励: POST /tips/follow/claim with
 * name, phone and ID number, which go to the identity vault and are never shown back).
 * The receipt lives only in this page's memory. Server text is shown with textContent only.
 */
import { api, checkFiles, fieldErrors, filePreviews, problemText, uploadFiles } from './common.js';
import { textProblem } from './text.js';

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
  renderClaim(view.reward);
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
  resetClaim();
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
  const problem = text ? textProblem(replyText.value, 1000, { multiline: true }) : '请填写回复内容';
  if (problem) {
    errors.set('replyText', problem);
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
  const textIssue = text ? textProblem(infoText.value, 2000, { multiline: true }) : '请填写补充说明';
  if (textIssue) addErrors.set('infoText', textIssue);
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

// --- 申领举报奖励: an anonymous reporter of a tip found true gives name, phone and ID number, POST /tips/follow/claim ---

/** Mirrors RewardClaimInput in shared/domain/tips/model.ts. */
const PHONE = /^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/;
const ID_NUMBER = /^\d{17}[\dX]$/;
const CLAIM_FIELDS = { name: 'claimName', phone: 'claimPhone', idNumber: 'claimIdNumber' };
/** `body.identity.name|phone|idNumber` → its input; anything else goes to the status line. */
const claimErrors = fieldErrors(document, (field) => {
  const m = /^body\.identity\.(name|phone|idNumber)(\.|$)/.exec(field);
  return m ? CLAIM_FIELDS[m[1]] : undefined;
});
const claimStatus = $('claim-status');

function sayClaim(text, bad = false) {
  claimStatus.textContent = text;
  claimStatus.classList.toggle('bad', bad);
}

/** Empties the identity inputs (and the confirmation) and any message about them. */
function resetClaim() {
  claimErrors.clear();
  $('claim-form').reset();
  sayClaim('');
}

/** The panel: the form while the claim is open, the date it was made once it is; hidden otherwise. */
function renderClaim(reward) {
  const claimedAt = reward && typeof reward.claimedAt === 'string' ? reward.claimedAt : '';
  const claimable = Boolean(reward && reward.claimable === true) && !claimedAt;
  $('claim').hidden = !claimable && !claimedAt;
  $('claim-open').hidden = !claimable;
  const done = $('claim-done');
  done.hidden = !claimedAt;
  if (claimedAt) {
    const time = document.createElement('time');
    time.dateTime = claimedAt;
    time.textContent = when(claimedAt);
    done.replaceChildren('已于 ', time, ' 提交奖励申领，奖励岗核实后将与您联系。');
  } else {
    done.replaceChildren();
  }
}

/** The Chinese explanation a 409 carries, e.g. "线索尚未查实，暂不能申领奖励". */
function detailZh(res) {
  return res.json && typeof res.json.detailZh === 'string' ? res.json.detailZh : '';
}

$('claim-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  claimErrors.clear();
  const name = $('claimName').value.trim();
  const phone = $('claimPhone').value.replace(/\s/g, '');
  const idNumber = $('claimIdNumber').value.replace(/\s/g, '').toUpperCase();
  const nameIssue = name ? textProblem($('claimName').value, 40) : '请填写姓名';
  if (nameIssue) claimErrors.set('claimName', nameIssue);
  if (!phone) claimErrors.set('claimPhone', '请填写手机号码');
  else if (!PHONE.test(phone)) claimErrors.set('claimPhone', '请填写正确的手机号码（11 位）或固定电话号码');
  if (!idNumber) claimErrors.set('claimIdNumber', '请填写身份证号');
  else if (!ID_NUMBER.test(idNumber)) claimErrors.set('claimIdNumber', '身份证号应为 18 位，最后一位是数字或 X');
  if (!$('claimConfirm').checked) claimErrors.set('claimConfirm', '请确认您是该线索的举报人，且所填信息真实');
  if (claimErrors.first()) {
    sayClaim('请检查标出的内容。', true);
    $(claimErrors.first())?.focus();
    return;
  }
  $('claim-submit').disabled = true;
  sayClaim('正在提交…');
  try {
    // the confirmation stays on this page: the API takes the identity only
    const res = await api('POST', '/tips/follow/claim', {
      body: { identity: { name, phone, idNumber } },
      headers: { 'x-receipt': receipt },
    });
    if (!res.ok) {
      const rest = res.status === 400 && res.json ? claimErrors.show(res.json) : [];
      const why = res.status === 409 ? detailZh(res) : '';
      const next = res.status === 404 ? '查询码已失效或被暂时锁定，请重新查询。' : '';
      sayClaim([problemText(res), why, next, ...rest].filter(Boolean).join(' '), true);
      const first = claimErrors.first();
      if (first) $(first)?.focus();
      return;
    }
    resetClaim();
    render(res.json);
    sayClaim('奖励申领已提交。');
  } finally {
    $('claim-submit').disabled = false;
  }
});
