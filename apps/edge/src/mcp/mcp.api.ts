/**
 * What the MCP tools call: `HooklyApi`, the part of the AdminService they use,
 * with two implementations.
 *
 * - In process (`/mcp` on the edge): the edge's own AdminService
 *   implementation (admin/admin.rpc.ts over the endpoint and webhook
 *   services), reached through an in-memory Connect router transport, with
 *   the MCP caller as the request's principal.
 * - Remote (the stdio command): a Connect client of a running edge over HTTP,
 *   with a bearer token.
 *
 * Both are Connect clients of the same service, so the tools see the same
 * messages and the same errors (ConnectError with the services' safe
 * messages) whichever way they run; there is no second copy of any admin logic.
 * The remote one lives in mcp.remote.ts, so the stdio program carries none of
 * the edge.
 */
import { createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { AdminService } from "@hookly/proto/gen/admin_pb";
import { createAdminRpc } from "../admin/admin.rpc.js";
import type { Core } from "../core.js";
import { principalKey, type Principal } from "../auth/auth.service.js";
import { requireScope, scopeOfRpc } from "../auth/auth.scopes.js";
import { toConnectError } from "../errors.js";
import type { HooklyApi } from "./mcp.remote.js";

export type { HooklyApi } from "./mcp.remote.js";

/**
 * Returns a factory of in-process APIs: the AdminService implementation is
 * built once, each caller gets a client whose calls run as `principal`.
 */
export function inProcessHooklyApi(
  core: Pick<
    Core,
    "endpoints" | "webhooks" | "hubs" | "destinations" | "relay" | "monitor" | "queue" | "audit" | "stats" | "storage" | "settings" | "events" | "log"
  >,
) {
  const impl = createAdminRpc({
    endpoints: core.endpoints,
    webhooks: core.webhooks,
    hubs: core.hubs,
    destinations: core.destinations,
    relay: core.relay,
    monitor: core.monitor,
    stats: core.stats,
    queue: core.queue,
    audit: core.audit,
    settings: core.settings,
    storage: core.storage,
    events: core.events,
    log: core.log,
  });
  return (principal: Principal): HooklyApi => {
    const asCaller: Interceptor = (next) => (req) => {
      // note: the tools honour the caller's scope exactly as the Connect API does (auth.guard.ts).
      try {
        requireScope(principal.scope, scopeOfRpc(req.method.localName, req.stream ? undefined : (req.message as unknown as Record<string, unknown>)));
      } catch (err) {
        throw toConnectError(err);
      }
      req.contextValues.set(principalKey, principal);
      return next(req);
    };
    const transport = createRouterTransport(({ service }) => service(AdminService, impl), {
      router: { interceptors: [asCaller] },
    });
    return createClient(AdminService, transport);
  };
}
