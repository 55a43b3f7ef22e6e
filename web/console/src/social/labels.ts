/**
 * Chinese labels of the tips and cases the console shows, and what it offers next. The API keeps the rules (a status
 * change off TIP_TRANSITIONS is a 400 naming the field); these only spare the official a button that would be refused.
 * They mirror shared/domain/tips/model.ts and shared/domain/cases/model.ts, which the console does not bundle.
 */
export const TIP_STATUS: Record<string, string> = {
  received: '待研判',
  held: '待复核（疑似批量重复）',
  triaging: '研判中',
  verifying: '核查中',
  substantiated: '属实',
  unsubstantiated: '不属实',
  case_opened: '已立案',
  closed: '已办结',
};

export const TIP_CATEGORY: Record<string, string> = {
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

export const TIP_CHANNEL: Record<string, string> = {
  web: '网上举报',
  phone: '电话',
  letter: '来信',
  visit: '来访',
  patrol: '巡查发现',
};

/** The next statuses a tip may take, with the button's words (opening a case is its own action). */
export const TIP_NEXT: Record<string, { to: string; label: string; type?: 'primary' | 'success' | 'danger' }[]> = {
  received: [
    { to: 'triaging', label: '开始研判', type: 'primary' },
    { to: 'closed', label: '办结（不予处理）' },
  ],
  held: [
    { to: 'triaging', label: '放行研判', type: 'primary' },
    { to: 'unsubstantiated', label: '认定不属实', type: 'danger' },
    { to: 'closed', label: '办结（不予处理）' },
  ],
  triaging: [
    { to: 'verifying', label: '转入核查', type: 'primary' },
    { to: 'unsubstantiated', label: '认定不属实', type: 'danger' },
    { to: 'closed', label: '办结（不予处理）' },
  ],
  verifying: [
    { to: 'substantiated', label: '认定属实', type: 'success' },
    { to: 'unsubstantiated', label: '认定不属实', type: 'danger' },
  ],
  substantiated: [
    { to: 'verifying', label: '重新核查' },
    { to: 'closed', label: '办结' },
  ],
  unsubstantiated: [
    { to: 'verifying', label: '重新核查' },
    { to: 'closed', label: '办结' },
  ],
  case_opened: [{ to: 'closed', label: '办结' }],
  closed: [],
};

export const CASE_STATUS: Record<string, string> = {
  open: '已立案',
  investigating: '调查中',
  decided: '已作出决定',
  transferred: '已移送司法机关',
  closed: '已结案',
};

export const SOURCE_KIND: Record<string, string> = {
  tip: '举报线索',
  alarm: '告警',
  clue: '其他线索',
  patrol: '巡查发现',
};

export const DECISION_TYPE: Record<string, string> = {
  no_violation: '无违法行为',
  minor_not_punished: '轻微违法不予处罚',
  administrative_penalty: '行政处罚',
  suspected_crime: '涉嫌犯罪移送',
};

export const PENALTY_ITEM: Record<string, string> = {
  fine: '罚款',
  warning: '警告',
  order_to_correct: '责令改正',
  restrict_production: '限制生产',
  suspend_production: '停产整治',
  confiscation: '没收违法所得',
  daily_continuous_penalty: '按日连续处罚',
  other: '其他',
};

/** 法释〔2023〕7号 第一条 的八项入罪标准. */
export const CRIME_ITEM: Record<string, string> = {
  item1: '第一条第（一）项 在饮用水水源保护区排放、倾倒、处置有毒物质',
  item2: '第一条第（二）项 非法处置危险废物三吨以上',
  item3: '第一条第（三）项 排放含铅、汞、镉、铬、砷、铊、锑的污染物超标三倍以上',
  item4: '第一条第（四）项 排放含镍、铜、锌、银、钒、锰、钴的污染物超标十倍以上',
  item5: '第一条第（五）项 通过暗管、渗井、渗坑等逃避监管的方式排放有毒物质',
  item6: '第一条第（六）项 重污染天气预警期间超标排放再犯',
  item7: '第一条第（七）项 重点排污单位篡改、伪造自动监测数据',
  item8: '第一条第（八）项 排放有毒物质受过二次以上行政处罚又实施',
};

export const WORKFLOW: Record<string, string> = { reward: '举报奖励', transfer: '涉嫌犯罪移送' };

export const ROLE: Record<string, string> = {
  case_team: '承办人',
  handler: '承办人',
  section_chief: '科长',
  bureau_head: '局长',
  reward_post: '举报奖励岗',
  police_liaison: '公安联络员',
  procuratorate_liaison: '检察联络员',
  analyst: '线索研判岗',
  duty_officer: '值班员',
};

export const EVIDENCE_KIND: Record<string, string> = { photo: '照片', video: '视频', document: '文件' };

/** ¥ from fen, two decimals. */
export const yuan = (fen: unknown) => (typeof fen === 'number' ? `${(fen / 100).toFixed(2)} 元` : '');

/** The last 8 characters of a ULID: enough to tell tips and cases apart on screen. */
export const shortId = (id: string) => id.slice(-8);
