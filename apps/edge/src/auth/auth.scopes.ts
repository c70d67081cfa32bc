/**
 * What a caller may do (issue #12): every API token has a scope, and every
 * admin API call — REST, Connect and the MCP tools alike — needs one.
 *
 * - `read`: see endpoints, webhooks, deliveries, hubs, status, settings.
 * - `operate`: also replay webhooks, retry now, skip or cancel deliveries
 *   (one or in bulk), and mute or unmute endpoints.
 * - `admin`: everything: endpoints, destinations, hubs, tokens.
 *
 * Each scope covers the ones before it. The admin token, and sessions opened
 * with it or with GitHub, are `admin`; a token made by a token is at most as
 * wide as its maker. The rules are pure: the guard, the MCP API and the REST
 * dispatch apply them.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { AdminService } from "@hookly/proto/gen/admin_pb";
import { AppError } from "../errors.js";

/** The scopes, narrowest first. */
export const SCOPES = ["read", "operate", "admin"] as const;

/** A caller's scope. */
export type Scope = (typeof SCOPES)[number];

/** Whether `have` allows what `need` does. */
export function covers(have: Scope, need: Scope): boolean {
  return SCOPES.indexOf(have) >= SCOPES.indexOf(need);
}

/** Whether a string is a scope name. */
export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** The scope each AdminService method needs (UpdateEndpoint: see {@link scopeOfRpc}). */
export const RPC_SCOPES: Record<keyof ServiceImpl<typeof AdminService>, Scope> = {
  listEndpoints: "read",
  getEndpoint: "read",
  listWebhooks: "read",
  getWebhook: "read",
  getStatus: "read",
  watchEvents: "read",
  getSettings: "read",
  whoAmI: "read",
  listHubs: "read",
  listAudit: "read",
  getStats: "read",
  replayWebhook: "operate",
  replayEndpoint: "operate",
  actOnDelivery: "operate",
  bulkAct: "operate",
  createEndpoint: "admin",
  updateEndpoint: "admin",
  deleteEndpoint: "admin",
  createApiToken: "admin",
  listApiTokens: "admin",
  revokeApiToken: "admin",
  createHub: "admin",
  updateHub: "admin",
  revokeHub: "admin",
  rotateHubCredential: "admin",
  retireHubCredential: "admin",
  createDestination: "admin",
  updateDestination: "admin",
  deleteDestination: "admin",
};

/**
 * The scope a call needs: the method's, except that an UpdateEndpoint that
 * only mutes or unmutes is `operate`. `message` is the request's fields
 * (unset ones undefined), when known.
 */
export function scopeOfRpc(method: string, message?: Record<string, unknown>): Scope {
  const need = (RPC_SCOPES as Record<string, Scope>)[method];
  // note: a method this table does not know (a newer proto) needs the widest scope.
  if (!need) return "admin";
  if (method === "updateEndpoint" && message && onlyMutes(message)) return "operate";
  return need;
}

/** Whether an endpoint change sets nothing but `muted` (besides the id). */
export function onlyMutes(change: Record<string, unknown>): boolean {
  const set = Object.entries(change).filter(([k, v]) => !k.startsWith("$") && k !== "id" && v !== undefined);
  return set.length === 1 && set[0]![0] === "muted";
}

/** Throws permission_denied unless `have` covers `need`, naming both. */
export function requireScope(have: Scope, need: Scope): void {
  if (!covers(have, need)) throw new AppError("permission_denied", `this needs the ${need} scope; the caller has ${have}`);
}
