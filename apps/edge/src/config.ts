/**
 * The edge's configuration: the only module that knows environment variable
 * names. `loadConfig(process.env)` is called by main.ts; everything else
 * receives the parsed `EdgeConfig`.
 */
import { z } from "zod";

const bool = z.enum(["true", "false", "1", "0", "yes", "no", ""]).transform((v) => v === "true" || v === "1" || v === "yes");

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Comma-separated list, blanks dropped. */
const list = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);

const hexKey = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters (32 bytes); generate one with `npm run hookly -- secrets`");

/** The schema, exported for tests and for the documentation generator. */
export const edgeEnvSchema = z
  .object({
    PORT: intFrom(0, 65535)
      .default(8080)
      .meta({ description: "TCP port for providers, the UI, the API and the hub stream (h1 and h2c share it). Default 8080." }),
    HOST: z.string().default("0.0.0.0").meta({ description: "Address to listen on. Default 0.0.0.0." }),
    BASE_URL: z
      .url({ protocol: /^https?$/ })
      .optional()
      .meta({ description: "Public URL providers reach, used in ingest URLs and OAuth redirects. Default http://localhost:PORT." }),
    DATABASE_PATH: z.string().min(1).default("./data/hookly.db").meta({ description: "SQLite file; its folder is created. Default ./data/hookly.db." }),
    MIN_FREE_DISK_MB: intFrom(0, 1_073_741_824).default(64).meta({
      description:
        "Below this much free space on the database's filesystem, ingest answers 503 so what is queued can still be delivered and recorded (0: off). Default 64.",
    }),
    DATABASE_BUSY_TIMEOUT_MS: intFrom(0, 60_000).default(5000).meta({
      description: "How long a write waits for a lock another process (a CLI command, a backup) holds before it counts as a storage fault. Default 5000.",
    }),
    ENCRYPTION_KEY: hexKey.meta({ description: "32-byte hex key for secrets at rest (AES-256-GCM). Required." }),
    ENCRYPTION_KEY_PREVIOUS: z
      .union([hexKey, z.literal("")])
      .optional()
      .meta({ description: "The key before a rotation, still accepted for reading. Optional." }),
    HOME_HUB_SECRET: list
      .pipe(z.array(z.string().min(32, "each hub secret must be at least 32 characters")))
      .default([])
      .meta({
        description:
          "Credential of the bootstrap hub, comma-separated during a rotation; ≥32 chars each. Optional once hubs have their own credentials (`hookly hubs create`).",
      }),
    ADMIN_TOKEN: z
      .string()
      .min(24, "must be at least 24 characters")
      .optional()
      .meta({ description: "Bearer token for the admin API and UI sign-in. Optional when GitHub sign-in is configured." }),
    MAX_PAYLOAD_BYTES: intFrom(1, 1024 * 1024 * 1024)
      .default(100 * 1024 * 1024)
      .meta({ description: "Largest accepted webhook body in bytes; larger → 413. Default 100 MiB." }),
    INGEST_MAX_INFLIGHT_BYTES: intFrom(1024 * 1024, 64 * 1024 * 1024 * 1024)
      .default(256 * 1024 * 1024)
      .meta({
        description:
          "Request-body bytes all webhooks being received may hold at once; a webhook that would pass it gets 503 with Retry-After (the provider retries). Default 256 MiB.",
      }),
    MAX_CONNECTIONS_PER_SOURCE: intFrom(0, 1_000_000).default(256).meta({
      description:
        "Connections one source address may hold open at once; more are closed at once (0: no cap). Behind a proxy every connection comes from the proxy: raise it or cap clients there. Default 256.",
    }),
    RETENTION_DAYS: intFrom(0, 3650).default(7).meta({
      description:
        "Settled webhooks (delivered, failed, dead-lettered, filtered), with their payloads and headers, are purged this many days after they settled (0: never). Default 7.",
    }),
    DEAD_LETTER_AFTER_HOURS: intFrom(1, 24 * 365)
      .default(168)
      .meta({ description: "Undelivered webhooks become dead letters this long after arrival. Default 168 (7 days)." }),
    BACKOFF_INITIAL_MS: intFrom(10, 3_600_000).default(1000).meta({ description: "First retry delay; doubles per attempt. Default 1000." }),
    BACKOFF_MAX_MS: intFrom(10, 86_400_000).default(3_600_000).meta({ description: "Retry delay cap. Default 3600000 (1 h)." }),
    DISPATCH_WINDOW: intFrom(1, 1024)
      .default(128)
      .meta({ description: "Webhooks of one endpoint in flight to the hub at once (ordered pipelining). Default 128." }),
    DISPATCH_WINDOW_BYTES: intFrom(1024, 1024 * 1024 * 1024)
      .default(16 * 1024 * 1024)
      .meta({ description: "Body bytes of one endpoint in flight at once (at least one webhook is always allowed). Default 16 MiB." }),
    HUB_HEARTBEAT_MS: intFrom(100, 60_000).default(10_000).meta({ description: "Heartbeat interval on the hub stream. Default 10000." }),
    HUB_DEAD_AFTER_MS: intFrom(300, 300_000).default(30_000).meta({ description: "Silence after which the hub stream is closed as dead. Default 30000." }),
    TRUST_PROXY: bool.default(false).meta({ description: "Take the source IP from X-Forwarded-For (behind Caddy/nginx). Default false." }),
    RESPONSE_EXCERPTS: bool.default(true).meta({
      description:
        "Keep the first bytes of each destination's answer with its attempt (shown in the UI, API and MCP). false: never stored, so API access cannot read back what LAN services answer. Default true.",
    }),
    SECRET_HEADERS: list
      .pipe(z.array(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, "must be header names")))
      .optional()
      .meta({
        description:
          "Comma-separated request headers to store sealed and show redacted, besides Authorization, Proxy-Authorization, Cookie and X-Telegram-Bot-Api-Secret-Token (always). The hub still forwards the originals.",
      }),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info").meta({ description: "pino level. Default info." }),
    UI_DIR: z.string().optional().meta({ description: "Folder of the built UI. Default: ui/build of this checkout." }),
    GITHUB_CLIENT_ID: z
      .string()
      .optional()
      .meta({ description: 'GitHub OAuth app client id; with GITHUB_CLIENT_SECRET turns on "Sign in with GitHub". Optional.' }),
    GITHUB_CLIENT_SECRET: z.string().optional().meta({ description: "GitHub OAuth app client secret; set both or neither. Optional." }),
    GITHUB_ORG: z
      .string()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, "must be a GitHub organization login")
      .optional()
      .meta({ description: "Members of this organization may sign in (needs the read:org scope, asked for at sign-in). Optional." }),
    GITHUB_ALLOWED_USERS: list
      .optional()
      .meta({ description: "Comma-separated GitHub logins that may sign in (case-insensitive). With GitHub on, this or GITHUB_ORG is required." }),
    GITHUB_URL: z
      .url({ protocol: /^https?$/ })
      .default("https://github.com")
      .meta({ description: "GitHub web URL (OAuth pages); change for GitHub Enterprise. Default https://github.com." }),
    GITHUB_API_URL: z
      .url({ protocol: /^https?$/ })
      .default("https://api.github.com")
      .meta({ description: "GitHub REST API URL; GitHub Enterprise uses https://HOST/api/v3. Default https://api.github.com." }),
    SESSION_TTL_HOURS: intFrom(1, 24 * 365)
      .default(168)
      .meta({ description: "Lifetime of a UI session cookie in hours (no sliding renewal). Default 168 (7 days)." }),
    METRICS_TOKEN: z
      .string()
      .min(16, "must be at least 16 characters")
      .optional()
      .meta({ description: "Bearer token for GET /metrics. Optional; unset: loopback-only (or public with METRICS_PUBLIC)." }),
    METRICS_PUBLIC: bool
      .default(false)
      .meta({ description: "Serve /metrics without a token to any address (private networks only). Ignored with METRICS_TOKEN. Default false." }),
    TELEGRAM_BOT_TOKEN: z
      .string()
      .regex(/^\d+:[A-Za-z0-9_-]+$/, "must look like 123456:ABC-… (from @BotFather)")
      .optional()
      .meta({ description: "Bot token for alerts (final failures, hub down); with TELEGRAM_CHAT_ID turns alerts on. Optional." }),
    TELEGRAM_CHAT_ID: z
      .string()
      .regex(/^(-?\d+|@[A-Za-z0-9_]{5,})$/, "must be a numeric chat id or @channelname")
      .optional()
      .meta({ description: "Chat that receives alerts; set both or neither. Optional." }),
    TELEGRAM_API_ROOT: z
      .url({ protocol: /^https?$/ })
      .default("https://api.telegram.org")
      .meta({ description: "Bot API server (a local Bot API server, or a fake in tests). Default https://api.telegram.org." }),
    HUB_DOWN_ALERT_AFTER_MS: intFrom(1_000, 7 * 86_400_000)
      .default(300_000)
      .meta({ description: "Hub disconnected this long → alert (and another when it is back). Default 300000 (5 min)." }),
    STUCK_ALERT_AFTER_MS: intFrom(1_000, 7 * 86_400_000)
      .default(600_000)
      .meta({
        description:
          "Alert (Telegram and the UI) when a destination's deliveries have kept failing this long, while they are still retried; a second alert when it delivers again. Default 600000 (10 min).",
      }),
    STUCK_ALERT_AFTER_ATTEMPTS: intFrom(1, 1_000)
      .default(8)
      .meta({ description: "…or after this many failed attempts in a row, whichever comes first. Default 8." }),
    ALERT_GROUP_WINDOW_MS: intFrom(0, 86_400_000)
      .default(60_000)
      .meta({ description: "Failures of one endpoint within this window go out as one message, at the window's end. Default 60000." }),
  })
  .superRefine((env, ctx) => {
    if (env.BACKOFF_MAX_MS < env.BACKOFF_INITIAL_MS) {
      ctx.addIssue({ code: "custom", path: ["BACKOFF_MAX_MS"], message: "must be ≥ BACKOFF_INITIAL_MS" });
    }
    if (env.HUB_DEAD_AFTER_MS <= env.HUB_HEARTBEAT_MS) {
      ctx.addIssue({ code: "custom", path: ["HUB_DEAD_AFTER_MS"], message: "must be greater than HUB_HEARTBEAT_MS" });
    }
    if (Boolean(env.GITHUB_CLIENT_ID) !== Boolean(env.GITHUB_CLIENT_SECRET)) {
      const missing = env.GITHUB_CLIENT_ID ? "GITHUB_CLIENT_SECRET" : "GITHUB_CLIENT_ID";
      ctx.addIssue({ code: "custom", path: [missing], message: "GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET go together: set both or neither" });
    }
    const github = Boolean(env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET);
    if (github && !env.GITHUB_ORG && !env.GITHUB_ALLOWED_USERS?.length) {
      ctx.addIssue({
        code: "custom",
        path: ["GITHUB_ORG"],
        message: "GitHub sign-in needs GITHUB_ORG or GITHUB_ALLOWED_USERS, or anyone with a GitHub account could sign in",
      });
    }
    if (!env.ADMIN_TOKEN && !env.GITHUB_CLIENT_ID && !env.GITHUB_CLIENT_SECRET) {
      ctx.addIssue({ code: "custom", path: ["ADMIN_TOKEN"], message: "nothing could sign in: set ADMIN_TOKEN, or GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET" });
    }
    if (Boolean(env.TELEGRAM_BOT_TOKEN) !== Boolean(env.TELEGRAM_CHAT_ID)) {
      const missing = env.TELEGRAM_BOT_TOKEN ? "TELEGRAM_CHAT_ID" : "TELEGRAM_BOT_TOKEN";
      ctx.addIssue({ code: "custom", path: [missing], message: "TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID go together: set both or neither" });
    }
  });

/** Parsed, validated edge configuration. */
export type EdgeConfig = ReturnType<typeof toConfig>;

function toConfig(env: z.output<typeof edgeEnvSchema>) {
  return {
    port: env.PORT,
    host: env.HOST,
    baseUrl: (env.BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ""),
    databasePath: env.DATABASE_PATH,
    minFreeDiskBytes: env.MIN_FREE_DISK_MB * 1_048_576,
    databaseBusyTimeoutMs: env.DATABASE_BUSY_TIMEOUT_MS,
    encryptionKeys: [env.ENCRYPTION_KEY, ...(env.ENCRYPTION_KEY_PREVIOUS ? [env.ENCRYPTION_KEY_PREVIOUS] : [])],
    hubSecrets: env.HOME_HUB_SECRET,
    adminToken: env.ADMIN_TOKEN,
    maxPayloadBytes: env.MAX_PAYLOAD_BYTES,
    ingestMaxInflightBytes: env.INGEST_MAX_INFLIGHT_BYTES,
    maxConnectionsPerSource: env.MAX_CONNECTIONS_PER_SOURCE,
    retentionMs: env.RETENTION_DAYS * 86_400_000,
    deadLetterAfterMs: env.DEAD_LETTER_AFTER_HOURS * 3_600_000,
    backoffInitialMs: env.BACKOFF_INITIAL_MS,
    backoffMaxMs: env.BACKOFF_MAX_MS,
    dispatchWindow: env.DISPATCH_WINDOW,
    dispatchWindowBytes: env.DISPATCH_WINDOW_BYTES,
    hubHeartbeatMs: env.HUB_HEARTBEAT_MS,
    hubDeadAfterMs: env.HUB_DEAD_AFTER_MS,
    trustProxy: env.TRUST_PROXY,
    responseExcerpts: env.RESPONSE_EXCERPTS,
    /** Extra secret-bearing headers, lower case (webhook/webhook.headers.ts adds the defaults). */
    secretHeaders: (env.SECRET_HEADERS ?? []).map((h) => h.toLowerCase()),
    logLevel: env.LOG_LEVEL,
    uiDir: env.UI_DIR,
    /** GitHub sign-in, when GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are set. */
    github:
      env.GITHUB_CLIENT_ID && env.GITHUB_CLIENT_SECRET
        ? {
            clientId: env.GITHUB_CLIENT_ID,
            clientSecret: env.GITHUB_CLIENT_SECRET,
            org: env.GITHUB_ORG,
            allowedUsers: (env.GITHUB_ALLOWED_USERS ?? []).map((u) => u.toLowerCase()),
            url: env.GITHUB_URL.replace(/\/+$/, ""),
            apiUrl: env.GITHUB_API_URL.replace(/\/+$/, ""),
          }
        : undefined,
    sessionTtlMs: env.SESSION_TTL_HOURS * 3_600_000,
    /** Who may scrape GET /metrics: the token holder, else loopback only unless public. */
    metrics: { token: env.METRICS_TOKEN, public: env.METRICS_PUBLIC },
    /** Telegram alerts, when TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID are set. */
    telegram:
      env.TELEGRAM_BOT_TOKEN && env.TELEGRAM_CHAT_ID
        ? { botToken: env.TELEGRAM_BOT_TOKEN, chatId: env.TELEGRAM_CHAT_ID, apiRoot: env.TELEGRAM_API_ROOT.replace(/\/+$/, "") }
        : undefined,
    hubDownAlertAfterMs: env.HUB_DOWN_ALERT_AFTER_MS,
    alertGroupWindowMs: env.ALERT_GROUP_WINDOW_MS,
    /** When a failing queue counts as stuck (queue/queue.health.ts). */
    stuck: { afterMs: env.STUCK_ALERT_AFTER_MS, afterAttempts: env.STUCK_ALERT_AFTER_ATTEMPTS },
  };
}

/** Thrown with every problem of the environment in one message. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses the environment. Empty strings count as unset. Throws ConfigError
 * listing every bad variable at once.
 */
export function loadConfig(source: Record<string, string | undefined>): EdgeConfig {
  const env = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = edgeEnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new ConfigError(`invalid edge configuration:\n${lines.join("\n")}`);
  }
  return toConfig(parsed.data);
}
