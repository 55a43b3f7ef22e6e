import { zipFiles } from '#shared/adapters/zip-archive.ts';
import { casesRoutes } from '#shared/contracts/cases.ts';
import { caseView } from '#shared/domain/cases/rules.ts';
import { type ApiRequest, httpApi } from '#shared/http/api-handler.ts';
import { etag, ifMatch } from '#shared/http/versioning.ts';
import { casesServiceFromEnv } from './wiring.ts';

/**
 * Officials' cases: open, list, read (audited), attach sources, name the team, link a registered unit, add evidence, decide (starting the
 * reward or transfer workflow), timeline and workflow history; my tasks and acting on one; deadlines due.
 */
const { cases, places } = casesServiceFromEnv();
type R = typeof casesRoutes;

const page = (q: { limit: number; cursor?: string | undefined }) => ({
  limit: q.limit,
  ...(q.cursor ? { cursor: q.cursor } : {}),
});

const withEtag = (record: Parameters<typeof caseView>[0], status?: number) => ({
  ...(status ? { status } : {}),
  body: caseView(record),
  headers: etag(record.version),
});

export const handler = httpApi(
  casesRoutes,
  {
    open_case: async (req: ApiRequest<R['open_case']>) => withEtag(await cases.openCase(req.body, req.principal), 201),
    list_cases: async (req: ApiRequest<R['list_cases']>) => {
      const { status, enterprise, open, needsRegistration, limit, cursor } = req.query;
      const filter = needsRegistration
        ? { needsRegistration }
        : enterprise
          ? { enterpriseId: enterprise, ...(open !== undefined ? { open } : {}) }
          : { status: status ?? ('investigating' as const) };
      // kept to the caller's scope before the listing is audited, so the audit names exactly what was shown
      const visible = (c: { townshipId: string; enterpriseId?: string }) =>
        req.scope.sees({ townshipId: c.townshipId, enterpriseId: c.enterpriseId });
      return { body: await cases.listCases(filter, page({ limit, cursor }), req.principal, visible) };
    },
    get_case: async (req: ApiRequest<R['get_case']>) =>
      withEtag(await cases.readCase(req.params.caseId, req.principal)),
    attach_source: async (req: ApiRequest<R['attach_source']>) =>
      withEtag(await cases.attachSource(req.params.caseId, req.body, req.principal, ifMatch(req.headers))),
    assign_handlers: async (req: ApiRequest<R['assign_handlers']>) =>
      withEtag(await cases.assignHandlers(req.params.caseId, req.body.handlers, req.principal, ifMatch(req.headers))),
    link_unit: async (req: ApiRequest<R['link_unit']>) =>
      withEtag(await cases.linkUnit(req.params.caseId, req.body.enterpriseId, req.principal, ifMatch(req.headers))),
    add_evidence: async (req: ApiRequest<R['add_evidence']>) =>
      withEtag(await cases.addEvidence(req.params.caseId, req.body, req.principal, ifMatch(req.headers)), 201),
    record_decision: async (req: ApiRequest<R['record_decision']>) => {
      const { record, workflows } = await cases.decide(
        req.params.caseId,
        req.body,
        req.principal,
        ifMatch(req.headers),
      );
      return { body: { case: caseView(record), workflows }, headers: etag(record.version) };
    },
    case_timeline: async (req: ApiRequest<R['case_timeline']>) => ({
      body: await cases.timeline(req.params.caseId, req.principal, page(req.query)),
    }),
    transfer_package: async (req: ApiRequest<R['transfer_package']>) => {
      const out = await cases.transferPackage(req.params.caseId, req.principal);
      const zip = zipFiles(out.files, out.at);
      return {
        body: {
          fileName: `移送材料-${out.case.caseId}.zip`,
          contentType: 'application/zip' as const,
          sha256: zip.sha256,
          zipBase64: Buffer.from(zip.bytes).toString('base64'),
          files: zip.files,
          generatedAt: out.at.toISOString(),
        },
      };
    },
    case_tasks: async (req: ApiRequest<R['case_tasks']>) => ({
      body: await cases.caseTasks(req.params.caseId, req.principal, page(req.query)),
    }),
    my_tasks: async (req: ApiRequest<R['my_tasks']>) => {
      const { role, limit, cursor } = req.query;
      return { body: await cases.myTasks(req.principal, { ...(role ? { role } : {}), ...page({ limit, cursor }) }) };
    },
    act_on_task: async (req: ApiRequest<R['act_on_task']>) => ({
      body: await cases.actOnTask(req.params.taskId, req.body, req.principal),
    }),
    deadlines_due: async (req: ApiRequest<R['deadlines_due']>) => {
      const { from, to, limit, cursor } = req.query;
      return {
        body: await cases.deadlines({ ...(from ? { from } : {}), ...(to ? { to } : {}), ...page({ limit, cursor }) }),
      };
    },
  },
  { places },
);
