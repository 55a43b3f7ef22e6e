import { alarmsRoutes } from '#shared/contracts/alarms.ts';
import { responseView } from '#shared/domain/alarms/response.ts';
import { type AlarmViewer, BUREAU } from '#shared/domain/alarms/use-cases.ts';
import { ROLE_SCOPES } from '#shared/domain/roles.ts';
import { type ApiRequest, httpApi } from '#shared/http/api-handler.ts';
import type { Principal } from '#shared/http/principal.ts';
import { etag, ifMatch } from '#shared/http/versioning.ts';
import { alarmServiceFromEnv } from './wiring.ts';

/**
 * Officials' alarms: lists, an alarm and its timeline, ack / snooze / clear / comment, the enterprise's answer with its
 * evidence files, and the alarm rules.
 */
const { alarms, places } = alarmServiceFromEnv();
type R = typeof alarmsRoutes;

const page = (q: { limit: number; cursor?: string | undefined }) => ({
  limit: q.limit,
  ...(q.cursor ? { cursor: q.cursor } : {}),
});

const withEtag = <T extends { version: number }>(body: T) => ({ body, headers: etag(body.version) });

/** A caller with no bureau scope but the enterprise role reads as its unit (an enterprise without `uscc`: nothing). */
const viewerOf = (p: Principal): AlarmViewer =>
  p.roles.some((r) => ROLE_SCOPES[r] === 'townships' || ROLE_SCOPES[r] === 'department')
    ? BUREAU
    : { kind: 'enterprise', uscc: p.uscc ?? '' };

export const handler = httpApi(
  alarmsRoutes,
  {
    list_alarms: async (req: ApiRequest<R['list_alarms']>) => {
      const { limit, cursor, ...filter } = req.query;
      // a caller of one township gets that township's index, not the county's pages filtered down to nothing
      const own = req.scope.townships;
      const narrowed =
        !filter.township && own !== 'all' && own?.length === 1 ? { ...filter, township: own[0] } : filter;
      return { body: await alarms.list(narrowed, page({ limit, cursor }), viewerOf(req.principal)) };
    },
    get_alarm: async (req: ApiRequest<R['get_alarm']>) =>
      withEtag(await alarms.get(req.params.alarmId, viewerOf(req.principal))),
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
    get_alarm_response: async (req: ApiRequest<R['get_alarm_response']>) =>
      withEtag(responseView(await alarms.response(req.params.alarmId, viewerOf(req.principal)))),
    answer_alarm: async (req: ApiRequest<R['answer_alarm']>) =>
      withEtag(
        responseView(
          await alarms.respond(
            req.params.alarmId,
            viewerOf(req.principal),
            req.principal.sub,
            req.body,
            ifMatch(req.headers),
          ),
        ),
      ),
    alarm_response_evidence: async (req: ApiRequest<R['alarm_response_evidence']>) => ({
      body: { items: await alarms.responseEvidence(req.params.alarmId) },
    }),
    review_alarm_response: async (req: ApiRequest<R['review_alarm_response']>) => {
      const { decision, note } = req.body;
      return withEtag(
        responseView(await alarms.review(req.params.alarmId, req.principal.sub, decision, note, ifMatch(req.headers))),
      );
    },
    get_alarm_rules: async () => withEtag(await alarms.rules()),
    list_alarm_rule_versions: async (req: ApiRequest<R['list_alarm_rule_versions']>) => ({
      body: await alarms.ruleVersions(page(req.query)),
    }),
    replace_alarm_rules: async (req: ApiRequest<R['replace_alarm_rules']>) =>
      withEtag(await alarms.replaceRules(req.body, req.principal.sub, ifMatch(req.headers))),
  },
  { places },
);
