import { RECEIPT_HEADER, tipsPublicRoutes } from '#shared/contracts/tips.ts';
import { type ApiRequest, httpApi } from '#shared/http/api-handler.ts';
import { tipServiceFromEnv } from '#shared/wiring/tips.ts';

/**
 * Public tips: submit, follow, add information, answer the handler, claim the reward. The receipt is read from a
 * header only; a claim's identity goes straight to the vault and is never logged.
 */
const tips = tipServiceFromEnv({ evidence: true, triage: true });
type R = typeof tipsPublicRoutes;
const receipt = (req: { headers: Readonly<Record<string, string | undefined>> }) => req.headers[RECEIPT_HEADER];

export const handler = httpApi(tipsPublicRoutes, {
  submit_tip: async (req: ApiRequest<R['submit_tip']>) => ({ status: 201, body: await tips.submitTip(req.body) }),
  follow_tip: async (req: ApiRequest<R['follow_tip']>) => ({ body: await tips.followTip(receipt(req)) }),
  add_tip_info: async (req: ApiRequest<R['add_tip_info']>) => ({
    body: await tips.addInfo(receipt(req), req.body.text, req.body.uploadIds),
  }),
  reply_tip_message: async (req: ApiRequest<R['reply_tip_message']>) => ({
    body: await tips.replyToMessage(receipt(req), req.body.text),
  }),
  claim_tip_reward: async (req: ApiRequest<R['claim_tip_reward']>) => ({
    body: await tips.claimReward(receipt(req), req.body.identity),
  }),
});
