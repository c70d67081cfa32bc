/**
 * `GET /healthz` (the process answers) and `GET /readyz` (the database
 * answers and the edge can take and deliver webhooks).
 */
import { restJson } from "../admin/admin.mapping.js";
import type { Logger } from "../logger.js";
import type { StorageService } from "../storage/storage.service.js";
import { sendJson, type Route } from "./http.js";

/** The health routes. */
export function healthRoutes(deps: { storage: Pick<StorageService, "status" | "schemaVersion">; relay: { connected(): boolean }; log: Logger }): Route[] {
  const { storage, relay, log } = deps;
  return [
    {
      method: "GET",
      path: "/healthz",
      handler: (_req, res) => sendJson(res, 200, { status: "ok" }),
    },
    {
      method: "GET",
      path: "/readyz",
      handler: (_req, res) => {
        try {
          const schemaVersion = storage.schemaVersion();
          const health = storage.status();
          // note: not ready while a provider would get 503 or nothing can be delivered; a fault elsewhere
          // (admin writes, the checkpointer) is reported but leaves the edge ready.
          const ready = !health.ingestRefused && !health.deliveryPaused;
          sendJson(res, ready ? 200 : 503, {
            status: ready ? "ready" : "unavailable",
            ...(ready ? {} : { reason: health.summary }),
            schemaVersion,
            hubConnected: relay.connected(),
            storage: restJson(health),
          });
        } catch (err) {
          log.error({ err }, "readiness check failed");
          sendJson(res, 503, { status: "unavailable" });
        }
      },
    },
  ];
}
