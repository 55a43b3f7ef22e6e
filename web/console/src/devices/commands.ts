import { pollutantText } from '../alarms/labels.ts';

/**
 * What the device page's 远程指令 panel shows (docs/devices.md §7): who sees it, each command's status and request in
 * Chinese. The API decides who may send; the page only hides the panel from the others.
 */

/** DEVICE_COMMANDERS in shared/contracts/devices.ts (test/unit/web/console-commands.test.ts keeps them equal) */
export const COMMANDERS: readonly string[] = ['admin', 'duty_officer', 'section_chief', 'inspector'];

export type CommandStatus = 'sent' | 'acknowledged' | 'executed' | 'failed' | 'undelivered' | 'timed_out';
export type TagType = 'info' | 'primary' | 'success' | 'danger' | 'warning';

export const STATUS: Record<CommandStatus, { text: string; type: TagType }> = {
  sent: { text: '已下发，等待应答', type: 'info' },
  acknowledged: { text: '设备已接收，执行中', type: 'primary' },
  executed: { text: '执行成功', type: 'success' },
  failed: { text: '执行失败', type: 'danger' },
  undelivered: { text: '未能送达，请重发', type: 'warning' },
  timed_out: { text: '应答超时', type: 'warning' },
};

/** a command still waiting for the device's 9011 / 9012: the list is read again while one is */
export const isPending = (s: CommandStatus) => s === 'sent' || s === 'acknowledged';

/** the request in Chinese, from its CN and CP as the API shows them */
export function commandText(c: { cn: string; cp: string }): string {
  const pol = /(?:^|[;,])PolId=([a-z]\d{5})/.exec(c.cp)?.[1];
  const polText = pol ? ` · ${pollutantText(pol)}` : '';
  if (c.cn === '3011') {
    const type = /CalibrationType=([01])/.exec(c.cp)?.[1];
    return `${type === '0' ? '零点校准' : type === '1' ? '量程校准' : '校准'}${polText}`;
  }
  if (c.cn === '3022') return `留样${polText}`;
  if (c.cn === '3024') return `标样核查${polText}`;
  if (c.cn === '1014') return '下发新密钥';
  return `命令 ${c.cn}${polText}`;
}
