import { alarmsRoutes } from '#shared/contracts/alarms.ts';
import { type ApiRequest, httpApi } from '#shared/http/api-handler.ts';
import { etag, ifMatch } from '#shared/http/versioning.ts';
import { alarmServiceFromEnv } from './wiring.ts';

/** Officials' alarms: lists, an alarm and its timeline, ack / snooze / clear / comment, and the alarm rules. */
const { alarms, places } = alarmServiceFromEnv();
type R = typeof alarmsRoutes;

const page = (q: { limit: number; cursor?: string | undefined }) => ({
  limit: q.limit,
  ...(q.cursor ? { cursor: q.cursor } : {}),
});

const withEtag = <T extends { version: number }>(body: T) => ({ body, headers: etag(body.version) });

export const handler = httpApi(
  alarmsRoutes,
  {
    list_alarms: async (req: ApiRequest<R['list_alarms']>) => {
      const { limit, cursor, ...filter } = req.query;
      // a caller of one township gets that township's index, not the county's pages filtered down to nothing
      const own = req.scope.townships;
      const narrowed =
        !filter.township && own !== 'all' && own?.length === 1 ? { ...filter, township: own[0] } : filter;
      return { body: await alarms.list(narrowed, page({ limit, cursor })) };
    },
    get_alarm: async (req: ApiRequest<R['get_alarm']>) => withEtag(await alarms.get(req.params.alarmId)),
    alarm_timeline: async (req: ApiRequest<R['alarm_timeline']>) => ({
      body: await alarms.timeline(req.params.alarmId, page(req.query)),
    }),
    acknowledge_alarm: async (req: ApiRequest<R['acknowledge_alarm']>) =>
      withEtag(await alarms.acknowledge(req.params.alarmId, req.principal.sub, req.body.note, ifMatch(req.headers))),
    snooze_alarm: async (req: ApiRequest<R['snooze_alarm']>) => {
      const { note, until } = req.body;
      return withEtag(await alarms.snooze(req.params.alarmId, req.principal.sub, note, until, ifMatch(req.headers)));
    },
    clear_alarm: async (req: ApiRequest<R['clear_alarm']>) =>
      withEtag(await alarms.clear(req.params.alarmId, req.principal.sub, req.body.note, ifMatch(req.headers))),
    comment_alarm: async (req: ApiRequest<R['comment_alarm']>) => ({
      status: 201,
      body: await alarms.comment(req.params.alarmId, req.principal.sub, req.body.note),
    }),
    get_alarm_rules: async () => withEtag(await alarms.rules()),
    list_alarm_rule_versions: async (req: ApiRequest<R['list_alarm_rule_versions']>) => ({
      body: await alarms.ruleVersions(page(req.query)),
    }),
    replace_alarm_rules: async (req: ApiRequest<R['replace_alarm_rules']>) =>
      withEtag(await alarms.replaceRules(req.body, req.principal.sub, ifMatch(req.headers))),
  },
  { places },
);
