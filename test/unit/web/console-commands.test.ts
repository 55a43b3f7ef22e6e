import { describe, expect, it } from 'vitest';
import { DEVICE_COMMANDERS } from '#shared/contracts/devices.ts';
import { COMMAND_STATES, requestCp } from '#shared/domain/commands/model.ts';
import { COMMANDERS, commandText, isPending, STATUS } from '../../../web/console/src/devices/commands.ts';

/** The device page's 远程指令 panel: who sees it, and each command's status and request in Chinese. */
describe('console device commands', () => {
  it('shows the panel to exactly the roles the API lets send', () => {
    expect([...COMMANDERS].sort()).toEqual([...DEVICE_COMMANDERS].sort());
  });

  it('has a Chinese text for every status the API answers, pending only while the device has not finished', () => {
    expect(Object.keys(STATUS).sort()).toEqual([...COMMAND_STATES].sort());
    expect(COMMAND_STATES.filter(isPending)).toEqual(['sent', 'acknowledged']);
  });

  it('names each request by its CN and CP as the API records them', () => {
    const text = (r: Parameters<typeof requestCp>[0]) => commandText({ cn: r.cn, cp: requestCp(r) });
    expect(text({ cn: '3011', polId: 'w01018', calibrationType: 'zero' })).toBe('零点校准 · 化学需氧量');
    expect(text({ cn: '3011', polId: 'w01018', calibrationType: 'span' })).toBe('量程校准 · 化学需氧量');
    expect(text({ cn: '3022', polId: 'w01018' })).toBe('留样 · 化学需氧量');
    expect(text({ cn: '3024', polId: 'w01018' })).toBe('标样核查 · 化学需氧量');
    expect(commandText({ cn: '1014', cp: 'NewSK=(redacted)' })).toBe('下发新密钥');
    expect(commandText({ cn: '3020', cp: 'PolId=w99999' })).toBe('命令 3020 · w99999');
  });
});
