import { patrolRoutes } from '#shared/contracts/patrols.ts';
import { tipsOfficialRoutes } from '#shared/contracts/tips.ts';
import { type ApiRequest, httpApi } from '#shared/http/api-handler.ts';
import { ifMatch } from '#shared/http/versioning.ts';
import { tipPlacesFromEnv, tipServiceFromEnv } from '#shared/wiring/tips.ts';
import { patrolServiceFromEnv } from './wiring.ts';

/**
 * Official tips: staff intake, triage queue (links, overdue, merge), a tip without identity, status, assignment,
 * messages to the reporter; and patrol reports (a finding becomes a tip through the same TipService).
 */
const tips = tipServiceFromEnv({ evidence: true, triage: true, viewer: true });
const { patrols, places: patrolPlaces } = patrolServiceFromEnv(tips);
const places = { ...tipPlacesFromEnv(), ...patrolPlaces };
const routes = { ...tipsOfficialRoutes, ...patrolRoutes };
type R = typeof routes;

export const handler = httpApi(
  routes,
  {
    record_patrol: async (req: ApiRequest<R['record_patrol']>) => ({
      status: 201,
      body: await patrols.record(req.body, req.principal),
    }),
    list_patrols: async (req: ApiRequest<R['list_patrols']>) => ({
      body: await patrols.bySection(req.query.section, {
        limit: req.query.limit,
        ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
      }),
    }),
    list_patrol_sections: async () => ({ body: { items: patrols.sectionList() } }),
    missed_patrols: async () => ({ body: { items: await patrols.missed() } }),
    patrol_finding_to_tip: async (req: ApiRequest<R['patrol_finding_to_tip']>) => {
      const out = await patrols.findingToTip(req.params.id, req.params.n, req.body, req.principal);
      return { status: out.created ? 201 : 200, body: out };
    },
    intake_tip: async (req: ApiRequest<R['intake_tip']>) => ({
      status: 201,
      body: await tips.staffIntake(req.body, req.principal),
    }),
    list_tips: async (req: ApiRequest<R['list_tips']>) => {
      const { status, limit, cursor, township, category, from, to } = req.query;
      const filter = {
        ...(township ? { townshipId: township } : {}),
        ...(category ? { category } : {}),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
      };
      return { body: await tips.queue(status, { limit, ...(cursor ? { cursor } : {}), filter }) };
    },
    list_overdue_tips: async (req: ApiRequest<R['list_overdue_tips']>) => ({
      body: { items: await tips.overdue(req.query.limit) },
    }),
    merge_tip: async (req: ApiRequest<R['merge_tip']>) => ({
      body: await tips.merge(req.params.id, req.body.into, req.body.reason, req.principal),
    }),
    get_tip: async (req: ApiRequest<R['get_tip']>) => {
      const found = await tips.getTip(req.params.id);
      return { body: found, headers: { etag: `"${found.version}"` } };
    },
    set_tip_status: async (req: ApiRequest<R['set_tip_status']>) => {
      const out = await tips.setStatus(req.params.id, req.body.status, ifMatch(req.headers), req.principal);
      return { body: out, headers: { etag: `"${out.version}"` } };
    },
    assign_tip: async (req: ApiRequest<R['assign_tip']>) => {
      const out = await tips.assign(req.params.id, req.body.assignee, ifMatch(req.headers), req.principal);
      return { body: out, headers: { etag: `"${out.version}"` } };
    },
    link_tip_unit: async (req: ApiRequest<R['link_tip_unit']>) => {
      const out = await tips.linkUnit(req.params.id, req.body.enterpriseId, ifMatch(req.headers), req.principal, (p) =>
        req.scope.sees(p),
      );
      return { body: out, headers: { etag: `"${out.version}"` } };
    },
    tip_evidence: async (req: ApiRequest<R['tip_evidence']>) => ({
      body: { items: await tips.evidenceLinks(req.params.id) },
    }),
    message_tip: async (req: ApiRequest<R['message_tip']>) => ({
      status: 201,
      body: await tips.postMessage(req.params.id, req.body.text, req.principal),
    }),
  },
  { places },
);
