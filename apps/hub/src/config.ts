/**
 * The hub's configuration: the only module that knows environment variable
 * names. Every bad variable is reported in one message.
 */
import { hostname } from "node:os";
import { z } from "zod";
import { parseAllowedDestinations, type DestinationPattern } from "./forward/destinations.js";

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The schema, exported for tests and for the documentation generator. */
export const hubEnvSchema = z
  .object({
    EDGE_URL: z
      .url({ protocol: /^https?$/, error: "must be the edge's http:// or https:// URL" })
      .meta({ description: "Edge to dial; http:// uses h2c, https:// TLS. Required." }),
    HUB_SECRET: z.string().min(32, "must be at least 32 characters").optional().meta({
      description: "This hub's credential, shown once when the hub was created on the edge (`hookly hubs create`). Required unless HOME_HUB_SECRET is set.",
    }),
    HOME_HUB_SECRET: z.string().min(32, "must be at least 32 characters").optional().meta({
      description: "The edge's bootstrap hub credential (its HOME_HUB_SECRET), for installs from before per-hub credentials. Use HUB_SECRET instead.",
    }),
    HUB_ID: z.string().min(1).max(128).optional().meta({
      description: "The hub's id on the edge (`hub_…`) with HUB_SECRET; with HOME_HUB_SECRET a name shown in the edge's logs. Default: the host name.",
    }),
    HUB_ALLOWED_DESTINATIONS: z
      .string()
      .optional()
      .meta({ description: "Comma-separated host / host:port / *.domain / CIDR patterns the hub may forward to. Default: any." }),
    HUB_FORWARD_TIMEOUT_MS: intFrom(100, 600_000).default(30_000).meta({ description: "Per-attempt timeout towards the LAN service. Default 30000." }),
    HUB_HEARTBEAT_MS: intFrom(100, 60_000).default(10_000).meta({ description: "Heartbeat interval on the stream. Default 10000." }),
    HUB_MAX_BODY_BYTES: intFrom(2 * 1024 * 1024, 16 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024)
      .meta({
        description:
          "Bytes of webhook bodies the hub holds at once. A body that does not fit is refused and sent again by the edge shortly after, in order. Large bodies (over 1 MiB) are streamed to their destinations as they arrive: each may be sent an eighth of this (1–8 MiB) beyond what its destination has taken, the rest waiting at the edge. Default 64 MiB.",
      }),
    HUB_DEAD_AFTER_MS: intFrom(300, 300_000)
      .default(30_000)
      .meta({ description: "Silence after which the stream is treated as dead and re-dialled. Default 30000." }),
    HUB_RECONNECT_MAX_MS: intFrom(100, 600_000).default(30_000).meta({ description: "Cap of the reconnect backoff (with jitter). Default 30000." }),
    HUB_HEALTH_PORT: intFrom(0, 65535).optional().meta({ description: "Local port for GET /healthz (200 when connected, 503 otherwise). Default: off." }),
    HUB_HEALTH_HOST: z.string().default("127.0.0.1").meta({ description: "Address of the health port. Default 127.0.0.1." }),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info").meta({ description: "pino level. Default info." }),
  })
  .superRefine((env, ctx) => {
    if (!env.HUB_SECRET && !env.HOME_HUB_SECRET) {
      ctx.addIssue({ code: "custom", path: ["HUB_SECRET"], message: "is required (the credential shown when the hub was created on the edge)" });
    }
    if (env.HUB_SECRET && env.HOME_HUB_SECRET) {
      ctx.addIssue({ code: "custom", path: ["HOME_HUB_SECRET"], message: "set HUB_SECRET or HOME_HUB_SECRET, not both" });
    }
    if (env.HUB_SECRET && !env.HUB_ID?.startsWith("hub_")) {
      ctx.addIssue({ code: "custom", path: ["HUB_ID"], message: "must be the hub's id on the edge (hub_…) when HUB_SECRET is set" });
    }
    try {
      parseAllowedDestinations(env.HUB_ALLOWED_DESTINATIONS);
    } catch (err) {
      ctx.addIssue({ code: "custom", path: ["HUB_ALLOWED_DESTINATIONS"], message: (err as Error).message });
    }
    if (env.HUB_DEAD_AFTER_MS <= env.HUB_HEARTBEAT_MS) {
      ctx.addIssue({ code: "custom", path: ["HUB_DEAD_AFTER_MS"], message: "must be greater than HUB_HEARTBEAT_MS" });
    }
  });

/** Parsed hub configuration. */
export interface HubConfig {
  edgeUrl: string;
  secret: string;
  hubId: string;
  allowedDestinations: DestinationPattern[] | null;
  forwardTimeoutMs: number;
  /** Bytes of streamed bodies held at once (HUB_MAX_BODY_BYTES). */
  maxBodyBytes: number;
  heartbeatMs: number;
  deadAfterMs: number;
  reconnectMaxMs: number;
  healthPort: number | undefined;
  healthHost: string;
  logLevel: string;
}

/** Thrown with every problem of the environment in one message. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; empty strings count as unset. */
export function loadHubConfig(source: Record<string, string | undefined>): HubConfig {
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = hubEnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new ConfigError(`invalid hub configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return {
    edgeUrl: e.EDGE_URL.replace(/\/+$/, ""),
    secret: (e.HUB_SECRET ?? e.HOME_HUB_SECRET)!,
    hubId: e.HUB_ID ?? hostname(),
    allowedDestinations: parseAllowedDestinations(e.HUB_ALLOWED_DESTINATIONS),
    forwardTimeoutMs: e.HUB_FORWARD_TIMEOUT_MS,
    maxBodyBytes: e.HUB_MAX_BODY_BYTES,
    heartbeatMs: e.HUB_HEARTBEAT_MS,
    deadAfterMs: e.HUB_DEAD_AFTER_MS,
    reconnectMaxMs: e.HUB_RECONNECT_MAX_MS,
    healthPort: e.HUB_HEALTH_PORT,
    healthHost: e.HUB_HEALTH_HOST,
    logLevel: e.LOG_LEVEL,
  };
}
