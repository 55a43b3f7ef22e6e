import { alarmsRoutes } from '#shared/contracts/alarms.ts';
import { NotFoundError } from '#shared/domain/errors.ts';
import { type ApiRequest, httpApi } from '#shared/http/api-handler.ts';
import { etag, ifMatch } from '#shared/http/versioning.ts';
import { alarmStoreFromEnv } from './service.ts';

/** Officials' alarms: lists, an alarm and its timeline, ack / snooze / clear / comment, and the alarm rules. */
const alarms = alarmStoreFromEnv();
type R = typeof alarmsRoutes;

async function existing(alarmId: string) {
  const alarm = await alarms.get(alarmId);
  if (!alarm) throw new NotFoundError(`alarm ${alarmId} does not exist`);
  return alarm;
}

const page = (q: { limit: number; cursor?: string | undefined }) => ({
  limit: q.limit,
  ...(q.cursor ? { cursor: q.cursor } : {}),
});

export const handler = httpApi(alarmsRoutes, {
  list_alarms: async (req: ApiRequest<R['list_alarms']>) => {
    const { limit, cursor, ...filter } = req.query;
    return { body: await alarms.list(filter, page({ limit, cursor })) };
  },
  get_alarm: async (req: ApiRequest<R['get_alarm']>) => {
    const alarm = await existing(req.params.alarmId);
    return { body: alarm, headers: etag(alarm.version) };
  },
  alarm_timeline: async (req: ApiRequest<R['alarm_timeline']>) => {
    await existing(req.params.alarmId);
    return { body: await alarms.timeline(req.params.alarmId, page(req.query)) };
  },
  acknowledge_alarm: async (req: ApiRequest<R['acknowledge_alarm']>) => {
    const { alarmId } = req.params;
    const alarm = await alarms.acknowledge(alarmId, req.principal.sub, req.body.note, ifMatch(req.headers));
    return { body: alarm, headers: etag(alarm.version) };
  },
  snooze_alarm: async (req: ApiRequest<R['snooze_alarm']>) => {
    const { alarmId } = req.params;
    const { note, until } = req.body;
    const alarm = await alarms.snooze(alarmId, req.principal.sub, note, until, ifMatch(req.headers));
    return { body: alarm, headers: etag(alarm.version) };
  },
  clear_alarm: async (req: ApiRequest<R['clear_alarm']>) => {
    const alarm = await alarms.clear(req.params.alarmId, req.principal.sub, req.body.note, ifMatch(req.headers));
    return { body: alarm, headers: etag(alarm.version) };
  },
  comment_alarm: async (req: ApiRequest<R['comment_alarm']>) => ({
    status: 201,
    body: await alarms.comment(req.params.alarmId, req.principal.sub, req.body.note),
  }),
  get_alarm_rules: async () => {
    const rules = await alarms.getRules();
    return { body: rules, headers: etag(rules.version) };
  },
  list_alarm_rule_versions: async (req: ApiRequest<R['list_alarm_rule_versions']>) => ({
    body: await alarms.listRuleVersions(page(req.query)),
  }),
  replace_alarm_rules: async (req: ApiRequest<R['replace_alarm_rules']>) => {
    const rules = await alarms.putRules(req.body, req.principal.sub, ifMatch(req.headers));
    return { body: rules, headers: etag(rules.version) };
  },
});
