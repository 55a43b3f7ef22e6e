import { type KeySettings, pushDue } from './device-keys.ts';
import type { KeyCommands, KeyLifecycle, KeyPush } from './key-lifecycle.ts';
import type { StoredDevice } from './model.ts';
import type { RegistryStore } from './store.ts';

/**
 * The scheduled key rotation (HJ 212-2025 §6.4.3; docs/devices.md §2.2): once a day every device registered as
 * encrypting whose key is due (older than `rotationDays`, a push unconfirmed past the retry interval, an
 * administrator's request not yet pushed) gets a new key through the device-command path (KeyLifecycle.pushIfDue):
 * a TCP device through the gateway task holding its connection, an MQTT device on its command topic. A device not
 * connected now does not answer: the push stays pending and is sent again on the next run, or by the gateway when
 * the device next sends. At most `maxPushesPerRun` pushes per run, so a county whose devices were all registered in
 * one week is spread over days instead of one burst of KMS calls and commands; the rest are counted as deferred.
 */
export interface KeyRotationSettings {
  maxPushesPerRun: number;
}

/** docs/decisions.md: daily at 02:00 Beijing time, at most 200 pushes a run. */
export const KEY_ROTATION_JOB = { schedule: 'cron(0 18 * * ? *)', maxPushesPerRun: 200 } as const;

export interface KeyRotationReport {
  devices: number;
  due: number;
  pushed: number;
  failed: number;
  deferred: number;
  pushes: Pick<KeyPush, 'version' | 'qn' | 'source'>[];
}

export async function rotateDueKeys(
  deps: {
    registry: Pick<RegistryStore, 'list'>;
    lifecycle: Pick<KeyLifecycle, 'pushIfDue'>;
    commands: KeyCommands;
    settings: KeySettings;
    /** one device's push failed (logged by the caller; the others go on) */
    onError?: (mn: string, err: unknown) => void;
  },
  now: Date,
  limits: KeyRotationSettings = KEY_ROTATION_JOB,
): Promise<KeyRotationReport> {
  const report: KeyRotationReport = { devices: 0, due: 0, pushed: 0, failed: 0, deferred: 0, pushes: [] };
  let cursor: string | undefined;
  do {
    const page = await deps.registry.list<StoredDevice>('devices', { limit: 100, ...(cursor ? { cursor } : {}) });
    for (const { item } of page.items) {
      report.devices++;
      if (item.status === 'retired' || !pushDue(item.sm4, now, deps.settings)) continue;
      report.due++;
      if (report.pushed + report.failed >= limits.maxPushesPerRun) {
        report.deferred++;
        continue;
      }
      try {
        const push = await deps.lifecycle.pushIfDue(item.mn, deps.commands);
        if (push) {
          report.pushed++;
          report.pushes.push({ version: push.version, qn: push.qn, source: push.source });
        }
      } catch (err) {
        report.failed++;
        deps.onError?.(item.mn, err);
      }
    }
    cursor = page.cursor;
  } while (cursor);
  return report;
}
