/**
 * The AdminService methods owned by auth: API tokens (create, list, revoke)
 * and WhoAmI. The caller is the principal the auth interceptor put under
 * `principalKey`; domain errors become ConnectErrors here.
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "@hookly/proto/gen/admin_pb";
import { toConnectError } from "../errors.js";
import { principalKey, type ApiTokenInfo, type AuthService, type Principal } from "./auth.service.js";

/** The four AdminService methods implemented by auth. */
export type AuthRpc = Pick<ServiceImpl<typeof AdminService>, "createApiToken" | "listApiTokens" | "revokeApiToken" | "whoAmI">;

/** Builds the token and WhoAmI handlers over the auth service. */
export function createAuthRpc(auth: AuthService): AuthRpc {
  return {
    createApiToken(req, ctx) {
      const { token, secret } = run(() => auth.createApiToken(req.name, caller(ctx), req.scope || undefined));
      return { token: toProto(token), secret };
    },
    listApiTokens() {
      return { tokens: auth.listApiTokens().map(toProto) };
    },
    revokeApiToken(req) {
      run(() => auth.revokeApiToken(req.id));
      return {};
    },
    whoAmI(_req, ctx) {
      const p = caller(ctx);
      return { principal: p.id, login: p.login ?? "", avatarUrl: p.avatarUrl ?? "" };
    },
  };
}

function caller(ctx: HandlerContext): Principal {
  const p = ctx.values.get(principalKey);
  // note: the auth interceptor refuses unauthenticated calls before any handler runs.
  if (!p) throw new ConnectError("not signed in", Code.Unauthenticated);
  return p;
}

function run<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toConnectError(err);
  }
}

function toProto(t: ApiTokenInfo) {
  return {
    id: t.id,
    name: t.name,
    createdBy: t.createdBy,
    createdAt: timestampFromMs(t.createdAt),
    scope: t.scope,
    lastUsedAt: t.lastUsedAt === undefined ? undefined : timestampFromMs(t.lastUsedAt),
  };
}
