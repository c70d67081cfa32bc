/**
 * The API's guard: who may call the admin API, over REST (`/api/…`) and
 * Connect (AdminService) alike. A caller must authenticate (admin token, API
 * token or session cookie); a cookie session must also send its CSRF token
 * in `x-hookly-csrf` on anything that changes state, and hold the scope the
 * call needs (auth.scopes.ts). The hub's StreamService
 * authenticates by itself (stream-auth) and passes through.
 */
import type { Interceptor } from "@connectrpc/connect";
import { StreamService } from "@hookly/proto/gen/stream_pb";
import { AppError, toConnectError } from "../errors.js";
import { principalKey, secretEquals, type Authenticator, type Principal } from "./auth.service.js";
import { requireScope, scopeOfRpc } from "./auth.scopes.js";

/** The guard of one edge. */
export interface AuthGuard {
  /** The caller, or AppError unauthenticated / permission_denied (missing CSRF token on a state-changing call). */
  requirePrincipal(header: (name: string) => string | null | undefined, stateChanging: boolean): Principal;
  /** The Connect interceptor: sets `principalKey` on every AdminService call. */
  interceptor: Interceptor;
}

/** Builds the guard over the composed authenticator. */
export function createAuthGuard(authenticate: Authenticator): AuthGuard {
  const requirePrincipal = (header: (name: string) => string | null | undefined, stateChanging: boolean): Principal => {
    const p = authenticate(header);
    if (!p) throw new AppError("unauthenticated", "sign in, or send Authorization: Bearer <token>");
    if (p.via === "session" && stateChanging && !secretEquals(header("x-hookly-csrf") ?? "", p.csrfToken ?? "")) {
      throw new AppError("permission_denied", "missing or wrong x-hookly-csrf header");
    }
    return p;
  };
  const interceptor: Interceptor = (next) => async (req) => {
    if (req.service.typeName === StreamService.typeName) return next(req);
    try {
      // note: every admin RPC is a POST; the CSRF header is required on all of them for cookie sessions.
      const p = requirePrincipal((n) => req.header.get(n), true);
      requireScope(p.scope, scopeOfRpc(req.method.localName, req.stream ? undefined : (req.message as unknown as Record<string, unknown>)));
      req.contextValues.set(principalKey, p);
    } catch (err) {
      throw toConnectError(err);
    }
    return next(req);
  };
  return { requirePrincipal, interceptor };
}
