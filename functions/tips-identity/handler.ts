import { tipsIdentityRoutes } from '#shared/contracts/tips.ts';
import { type ApiRequest, httpApi } from '#shared/http/api-handler.ts';
import { tipPlacesFromEnv, tipServiceFromEnv } from '#shared/wiring/tips.ts';

/**
 * Opening a reporter's identity: the only function holding kms:Decrypt on the identity key. The route admits the
 * reward post only, and the use-case checks the role again before recording the access and decrypting.
 * The answer carries the identity; nothing about it is logged.
 */
const tips = tipServiceFromEnv({ evidence: false });

export const handler = httpApi(
  tipsIdentityRoutes,
  {
    open_tip_identity: async (req: ApiRequest<(typeof tipsIdentityRoutes)['open_tip_identity']>) => ({
      body: await tips.openIdentity(req.params.id, req.body.reason, req.principal),
    }),
  },
  { places: tipPlacesFromEnv() },
);
