import * as z from 'zod';
import { multilineText } from '#shared/domain/text.ts';
import { EvaluationRules } from './evaluation-rules.ts';
import { FalsificationRules } from './falsification.ts';
import { DataGapRules } from './gaps.ts';
import { NotificationPolicy } from './notify.ts';

/**
 * Alarm rules as data: one versioned document that officials view and replace through the API. Limits themselves
 * are not here: they are the registry's permit limits per outlet and pollutant. A new version applies to evaluations
 * after it is stored; open alarms and the evaluators' state are untouched by a change.
 */
export const RuleSetInput = z.object({
  evaluation: EvaluationRules,
  falsification: FalsificationRules,
  dataGaps: DataGapRules,
  notification: NotificationPolicy,
  note: multilineText(500).describe('why the rules changed (变更说明)'),
});
export type RuleSetInput = z.infer<typeof RuleSetInput>;

export const RuleSet = RuleSetInput.extend({
  version: z.number().int().positive(),
  updatedAt: z.iso.datetime(),
  updatedBy: z.string().min(1).max(128),
});
export type RuleSet = z.infer<typeof RuleSet>;

/** The rules a fresh platform starts with (version 1); each part's defaults live next to the code that uses them. */
export function defaultRuleSet(now = new Date(0).toISOString()): RuleSet {
  return RuleSet.parse({
    evaluation: EvaluationRules.parse({}),
    falsification: FalsificationRules.parse({}),
    dataGaps: DataGapRules.parse({}),
    notification: NotificationPolicy.parse({}),
    note: '初始规则（系统默认）',
    version: 1,
    updatedAt: now,
    updatedBy: 'system',
  });
}
