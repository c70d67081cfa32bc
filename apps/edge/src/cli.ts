/**
 * Operator commands for the edge: `npm run -s hookly -- <command>`, or in the
 * container (or after `npm run build`) `node apps/edge/dist/cli.js <command>`. Reads the
 * same environment variables as the edge (DATABASE_PATH, ENCRYPTION_KEY, …),
 * optionally from a file given with --env-file.
 *
 * Exit codes: 0 done, 1 the operation failed (nothing half-done is left
 * behind), 2 bad usage or configuration.
 */
import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import type { z } from "zod";
import { createAuthStore } from "./auth/auth.store.js";
import { createSecretBox } from "./crypto/secret-box.js";
import { edgeEnvSchema } from "./config.js";
import { createDestinationStore } from "./destination/destination.store.js";
import { createEndpointStore } from "./endpoint/endpoint.store.js";
import { AppError } from "./errors.js";
import { HUB_COMMANDS, runHubCommand, type HubCommand } from "./hub/hub.cli.js";
import { createHubCredentialStore, createSealedHeaderStore, type DatabaseSummary } from "./maintenance/maintenance.store.js";
import {
  MaintenanceError,
  backupDatabase,
  checkPayloadFiles,
  generateSecrets,
  inspectDatabase,
  latestSchemaVersion,
  openExisting,
  restoreDatabase,
  type PayloadFilesCopied,
  rotateEncryptionKey,
} from "./maintenance/maintenance.service.js";

const USAGE = `Usage: hookly [--env-file FILE] <command> [options]

Commands:
  secrets                 Print a fresh ENCRYPTION_KEY, HOME_HUB_SECRET and ADMIN_TOKEN
                          in .env format (paste them into .env; never reuse examples).
  backup <file> [--force] Copy DATABASE_PATH to <file> while the edge keeps running (a
                          consistent snapshot), then check the copy's integrity.
  verify <file>           Integrity check and row counts of a database or backup file.
  restore <file> [--force]
                          Put a backup in place of DATABASE_PATH. Stop the edge first:
                          a database that is open elsewhere is refused. An existing
                          database needs --force and is kept as
                          DATABASE_PATH.before-restore-<time>. Start the edge afterwards;
                          webhooks pending in the backup are delivered again (at least
                          once: some may already have been delivered after the backup).
  rotate-key [--dry-run]  Re-seal every endpoint secret and hub credential with
                          ENCRYPTION_KEY. Run it with the new key in ENCRYPTION_KEY and the
                          old one in ENCRYPTION_KEY_PREVIOUS (the edge may keep running with
                          both); then drop ENCRYPTION_KEY_PREVIOUS and restart the edge.
  hubs list               The hubs registered in DATABASE_PATH, the bootstrap hub (whose
                          credential is HOME_HUB_SECRET) first.
  hubs create <name>      Register a hub and print its credential, this once: a .env block and
                          a docker compose service for the home side (EDGE_URL from BASE_URL).
  hubs rename <id> <name> Rename a hub.
  hubs revoke <id>        Revoke a hub for good: its credentials are forgotten and every later
                          connection is refused. An edge that is running refuses the hub's
                          next connection, but a stream the hub has open now stays until then;
                          revoking in the UI or the API closes it at once.
  hubs rotate <id>        Print a new credential for a hub, this once; the previous one stays
                          valid until \`hubs retire\`, so the hub can be switched over.
  hubs retire <id>        Stop accepting the credential from before the last rotation.
  webhooks retry-now <id> [--destination=dst_…]
                          Try a delivery waiting for its retry now.
  webhooks skip <id> [--destination=dst_…]
                          Settle the head of a queue as failed ("skipped by admin"); the
                          queue moves on.
  webhooks cancel <id> [--destination=dst_…]
                          Settle a pending webhook behind the head as failed before it is tried.
  webhooks release <id> [--destination=dst_…]
                          Queue a held (unverified) webhook at the tail of its destination's queue.
  webhooks replay <id> [--destination=dst_…] [--allow-pending] [--resign]
                          Deliver a copy again (a pending one only with --allow-pending; --resign:
                          a fresh signature, stripe and generic endpoints).
  webhooks bulk <replay|skip|release> [<id> …] [--endpoint=ep_…] [--status=S] [--since=T] [--until=T]
                          [--allow-pending]
                          Replay, skip or release the webhooks named, or every one the filter selects
                          (at most 10000).
  audit [--webhook=wh_…] [--endpoint=ep_…] [--limit=N]
                          Who did what to which webhook, newest first.
  sessions revoke-all     End every UI session (admin token, API token and GitHub sign-ins
                          alike): everyone signs in again. Works while the edge runs.
  help                    This text.

The webhooks and audit commands call the running edge's API: HOOKLY_URL (default
http://127.0.0.1:PORT) with HOOKLY_TOKEN (default ADMIN_TOKEN); they are recorded in the audit
trail as that token's caller. The hubs commands work on DATABASE_PATH directly (the edge may keep running), with
ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS, HOME_HUB_SECRET and BASE_URL as the edge has them.

Options:
  --env-file FILE         Read variables from FILE first (already-set ones win).

Exit codes: 0 done, 1 the operation failed (nothing half-done is left behind; for
verify: the integrity check failed), 2 bad usage or configuration.
`;

/** Bad arguments or configuration: exit 2. */
class UsageError extends Error {
  override name = "UsageError";
}

interface Args {
  command: string | undefined;
  positionals: string[];
  flags: Set<string>;
}

function parseArgs(argv: string[]): Args & { envFile: string | undefined } {
  const positionals: string[] = [];
  const flags = new Set<string>();
  let envFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--env-file") {
      envFile = argv[++i];
      if (!envFile) throw new UsageError("--env-file needs a file");
    } else if (a.startsWith("--env-file=")) {
      envFile = a.slice("--env-file=".length);
    } else if (a === "-h" || a === "--help") {
      flags.add("--help");
    } else if (a.startsWith("-")) {
      flags.add(a);
    } else {
      positionals.push(a);
    }
  }
  return { command: positionals.shift(), positionals, flags, envFile };
}

/** The edge's variables the commands read. */
type CliVariable = "DATABASE_PATH" | "ENCRYPTION_KEY" | "ENCRYPTION_KEY_PREVIOUS" | "PORT" | "HOME_HUB_SECRET" | "BASE_URL" | "ADMIN_TOKEN";

/** One variable, parsed by the edge's own schema (so defaults and rules match the edge); empty counts as unset. */
function variable<K extends CliVariable>(env: NodeJS.ProcessEnv, key: K): z.output<(typeof edgeEnvSchema.shape)[K]> {
  const raw = env[key] === "" ? undefined : env[key];
  const parsed = edgeEnvSchema.shape[key].safeParse(raw);
  if (!parsed.success && raw === undefined) throw new UsageError(`${key}: is required`);
  // note: the message names the variable and the rule, never the value (it may be a secret).
  if (!parsed.success) throw new UsageError(`${key}: ${parsed.error.issues.map((i) => i.message).join("; ")}`);
  return parsed.data as z.output<(typeof edgeEnvSchema.shape)[K]>;
}
const text = (env: NodeJS.ProcessEnv, key: "DATABASE_PATH" | "ENCRYPTION_KEY" | "ENCRYPTION_KEY_PREVIOUS") => variable(env, key) as string | undefined;

/** ENCRYPTION_KEY, then ENCRYPTION_KEY_PREVIOUS when set: the keys the edge opens secrets with. */
function encryptionKeys(env: NodeJS.ProcessEnv): string[] {
  const previous = text(env, "ENCRYPTION_KEY_PREVIOUS");
  return [text(env, "ENCRYPTION_KEY")!, ...(previous ? [previous] : [])];
}

/** `allowedFlags`: exact flags, or `--name=` for a flag that takes a value. `count`: positionals wanted, or [min, max]. */
function expectArgs(args: Args, allowedFlags: string[], count: number | [number, number], what: string): void {
  const allowed = (f: string) => allowedFlags.some((a) => (a.endsWith("=") ? f.startsWith(a) && f.length > a.length : f === a));
  const unknown = [...args.flags].filter((f) => !allowed(f));
  if (unknown.length > 0) throw new UsageError(`unknown option ${unknown.join(", ")} for ${args.command}`);
  const [min, max] = typeof count === "number" ? [count, count] : count;
  if (args.positionals.length < min || args.positionals.length > max) throw new UsageError(`${args.command} takes ${what}`);
}

/** The value of `--name=value`, if given. */
function flagValue(args: Args, name: string): string | undefined {
  const prefix = `--${name}=`;
  return [...args.flags].find((f) => f.startsWith(prefix))?.slice(prefix.length);
}

/**
 * Calls the running edge's REST API (HOOKLY_URL, default http://127.0.0.1:PORT; HOOKLY_TOKEN, default
 * ADMIN_TOKEN) and returns its JSON; an API error becomes an AppError with the edge's message.
 */
async function callEdge(env: NodeJS.ProcessEnv, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const base = (env.HOOKLY_URL || `http://127.0.0.1:${variable(env, "PORT")}`).replace(/\/+$/, "");
  const token = env.HOOKLY_TOKEN || (variable(env, "ADMIN_TOKEN") as string | undefined);
  if (!token) throw new UsageError("HOOKLY_TOKEN or ADMIN_TOKEN is required to call the edge");
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    throw new MaintenanceError(
      `cannot reach the edge at ${base} (${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}); is it running? (HOOKLY_URL sets where)`,
    );
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown> & { error?: { code: string; message: string } };
  if (!res.ok) {
    const message = json.error?.message ?? `the edge answered ${res.status}`;
    throw new AppError(json.error?.code === "invalid_argument" ? "invalid_argument" : "failed_precondition", message);
  }
  return json;
}

const query = (params: Record<string, string | undefined>) => {
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  return q ? `?${q}` : "";
};

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** "schema version 6; 2 endpoints, 6 webhooks (6 pending); 3 destinations, 2 hubs" (no hubs before schema 6). */
const contents = (r: DatabaseSummary) =>
  `schema version ${r.schemaVersion}; ${r.endpoints} endpoints, ${r.webhooks} webhooks (${r.pending} pending)` +
  (r.hubs === null ? "" : `; ${r.destinations} destinations, ${r.hubs} hubs`);

/** The payload files (bodies over 1 MiB) a backup or restore carried, and any the database names that were not there. */
const payloadLine = (r: PayloadFilesCopied, dir: string) =>
  (r.payloadFiles > 0 ? `${r.payloadFiles} payload files (bodies over 1 MiB) in ${dir}\n` : "") +
  (r.missingPayloadFiles > 0
    ? `warning: ${r.missingPayloadFiles} payload files the database names were missing (deleted by retention meanwhile, or lost); those webhooks' bodies are gone\n`
    : "");

/** Answers whether an edge answers /healthz on this machine's PORT. */
async function edgeAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
    const body = (await res.json()) as { status?: string };
    return res.ok && body.status === "ok";
  } catch {
    return false;
  }
}

/** Runs one command; returns the exit code. Output goes to `out`, problems to `err`. */
export async function run(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: { out: (s: string) => void; err: (s: string) => void } = {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  },
): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.envFile) {
      let content: string;
      try {
        content = readFileSync(args.envFile, "utf8");
      } catch (e) {
        throw new UsageError(`cannot read --env-file ${args.envFile}: ${(e as Error).message}`);
      }
      env = { ...parseEnv(content), ...env };
    }
    if (args.flags.has("--help") || args.command === "help" || args.command === undefined) {
      io.out(USAGE);
      return args.command === undefined && !args.flags.has("--help") ? 2 : 0;
    }
    switch (args.command) {
      case "secrets": {
        expectArgs(args, [], 0, "no arguments");
        const s = generateSecrets();
        io.out(`ENCRYPTION_KEY=${s.ENCRYPTION_KEY}\nHOME_HUB_SECRET=${s.HOME_HUB_SECRET}\nADMIN_TOKEN=${s.ADMIN_TOKEN}\n`);
        return 0;
      }
      case "backup": {
        expectArgs(args, ["--force"], 1, "one argument: the backup file");
        const source = text(env, "DATABASE_PATH")!;
        const started = Date.now();
        const r = await backupDatabase(source, args.positionals[0]!, { force: args.flags.has("--force") });
        io.out(
          `backup of ${source} written to ${r.file} (${mib(r.bytes)}, ${Date.now() - started} ms)\n` +
            `integrity ok; ${contents(r)}\n${payloadLine(r, `${r.file}-payloads`)}`,
        );
        return 0;
      }
      case "verify": {
        expectArgs(args, [], 1, "one argument: the database or backup file");
        const r = inspectDatabase(args.positionals[0]!);
        const files = r.integrity === "ok" ? payloadLine(checkPayloadFiles(args.positionals[0]!), `${args.positionals[0]}-payloads`) : "";
        io.out(`integrity ${r.integrity}; ${contents(r)}\n${files}`);
        return r.integrity === "ok" ? 0 : 1;
      }
      case "restore": {
        expectArgs(args, ["--force"], 1, "one argument: the backup file");
        const target = text(env, "DATABASE_PATH")!;
        const port = variable(env, "PORT") as number;
        if (await edgeAnswers(port)) {
          throw new MaintenanceError(`an edge answers on port ${port}; stop it before restoring (it would keep using the old database)`);
        }
        const r = restoreDatabase(args.positionals[0]!, target, { force: args.flags.has("--force") });
        io.out(
          `restored ${args.positionals[0]} to ${target}: ${contents(r)}\n${payloadLine(r, `${target}-payloads`)}` +
            (r.previous ? `the database it replaced is kept as ${r.previous}\n` : "") +
            "start the edge now; it delivers the pending webhooks once the hub connects\n",
        );
        return 0;
      }
      case "rotate-key": {
        expectArgs(args, ["--dry-run"], 0, "no arguments");
        const keys = encryptionKeys(env);
        const box = createSecretBox(keys);
        const db = openExisting(text(env, "DATABASE_PATH")!, { minSchemaVersion: latestSchemaVersion() });
        try {
          const dryRun = args.flags.has("--dry-run");
          const r = rotateEncryptionKey(
            {
              db,
              endpoints: createEndpointStore(db),
              hubs: createHubCredentialStore(db),
              headers: createSealedHeaderStore(db),
              destinations: createDestinationStore(db),
              box,
            },
            { dryRun },
          );
          const line = (c: typeof r.endpoints, what: string) =>
            `${c.sealed} ${what}: ${c.resealed} ${dryRun ? "would be " : ""}re-sealed with ENCRYPTION_KEY, ${c.current} already were\n`;
          io.out(
            line(r.endpoints, "endpoint secret(s)") +
              line(r.hubs, "hub credential(s)") +
              line(r.headers, "webhook(s) with sealed headers") +
              line(r.policyHeaders, "destination(s) with policy headers") +
              (dryRun || keys.length < 2 ? "" : "every secret now opens with ENCRYPTION_KEY alone: remove ENCRYPTION_KEY_PREVIOUS and restart the edge\n"),
          );
        } finally {
          db.close();
        }
        return 0;
      }
      case "webhooks": {
        const [sub, ...rest] = args.positionals;
        const a = { ...args, command: `webhooks ${sub}`, positionals: rest };
        if (sub === "retry-now" || sub === "skip" || sub === "cancel" || sub === "release") {
          expectArgs(a, ["--destination="], 1, "one argument: the webhook id");
          const r = await callEdge(
            env,
            "POST",
            `/api/webhooks/${encodeURIComponent(rest[0]!)}/${sub}${query({ destination_id: flagValue(args, "destination") })}`,
          );
          const done =
            sub === "retry-now" ? "due now" : sub === "release" ? "released: queued at the tail" : `${sub === "skip" ? "skipped" : "cancelled"}: failed`;
          io.out(
            `${r.webhook_id} at ${r.destination_id}: ${done}\n` +
              (r.in_flight ? "an attempt was under way: the LAN service may still get it once (if it succeeds, it is recorded as delivered)\n" : "") +
              (r.stalled ? `note: its queue is not being sent now: ${r.stalled}\n` : ""),
          );
          return 0;
        }
        if (sub === "replay") {
          expectArgs(a, ["--destination=", "--allow-pending", "--resign"], 1, "one argument: the webhook id");
          const r = await callEdge(
            env,
            "POST",
            `/api/webhooks/${encodeURIComponent(rest[0]!)}/replay${query({
              destination_id: flagValue(args, "destination"),
              allow_pending: args.flags.has("--allow-pending") ? "true" : undefined,
              resign: args.flags.has("--resign") ? "true" : undefined,
            })}`,
          );
          const w = r.webhook as { id: string; resigned: boolean };
          io.out(`replayed as ${w.id}${w.resigned ? " (signed afresh)" : ""}\n`);
          return 0;
        }
        if (sub === "bulk") {
          expectArgs(
            a,
            ["--endpoint=", "--status=", "--since=", "--until=", "--allow-pending"],
            [1, 10_001],
            "replay or skip, then webhook ids or filter options",
          );
          const [action, ...ids] = rest;
          if (action !== "replay" && action !== "skip" && action !== "release") {
            throw new UsageError(`webhooks bulk takes replay, skip or release, not ${JSON.stringify(action)}`);
          }
          const filter = {
            endpoint_id: flagValue(args, "endpoint"),
            status: flagValue(args, "status"),
            since: flagValue(args, "since"),
            until: flagValue(args, "until"),
          };
          const hasFilter = Object.values(filter).some((v) => v !== undefined);
          const r = await callEdge(env, "POST", "/api/webhooks/bulk", {
            action,
            ...(ids.length > 0 ? { webhook_ids: ids } : {}),
            ...(hasFilter ? { filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) } : {}),
            ...(args.flags.has("--allow-pending") ? { allow_pending: true } : {}),
          });
          io.out(
            `${r.matched} selected, ${r.acted} ${{ replay: "replayed", skip: "skipped", release: "released" }[action]}, ${r.ignored} left alone (nothing to ${action})\n`,
          );
          return 0;
        }
        throw new UsageError(
          sub === undefined
            ? "webhooks needs a command: retry-now, skip, cancel, replay, bulk"
            : `unknown command "webhooks ${sub}" (webhooks takes retry-now, skip, cancel, replay, bulk)`,
        );
      }
      case "audit": {
        expectArgs(args, ["--webhook=", "--endpoint=", "--limit="], 0, "no arguments");
        const r = await callEdge(
          env,
          "GET",
          `/api/audit${query({ webhook_id: flagValue(args, "webhook"), endpoint_id: flagValue(args, "endpoint"), limit: flagValue(args, "limit") })}`,
        );
        const entries = r.entries as { at: string; actor: string; action: string; webhook_id: string | null; destination_id: string | null; detail: unknown }[];
        if (entries.length === 0) io.out("no actions recorded\n");
        for (const e of entries) {
          const target = [e.webhook_id, e.destination_id].filter(Boolean).join(" at ");
          io.out(`${e.at}  ${e.actor}  ${e.action}${target ? `  ${target}` : ""}${e.detail ? `  ${JSON.stringify(e.detail)}` : ""}\n`);
        }
        return 0;
      }
      case "sessions": {
        expectArgs(args, [], 1, "one argument: revoke-all");
        if (args.positionals[0] !== "revoke-all") throw new UsageError(`unknown command "sessions ${args.positionals[0]}" (sessions takes revoke-all)`);
        const db = openExisting(text(env, "DATABASE_PATH")!, { minSchemaVersion: latestSchemaVersion() });
        try {
          const ended = createAuthStore(db).deleteAllSessions();
          io.out(`${ended} session(s) ended; everyone signs in again\n`);
        } finally {
          db.close();
        }
        return 0;
      }
      case "hubs": {
        const [sub, ...rest] = args.positionals;
        const subcommands = Object.keys(HUB_COMMANDS).join(", ");
        if (sub === undefined) throw new UsageError(`hubs needs a command: ${subcommands}`);
        if (!Object.hasOwn(HUB_COMMANDS, sub)) throw new UsageError(`unknown command "hubs ${sub}" (hubs takes ${subcommands})`);
        const wanted: readonly string[] = HUB_COMMANDS[sub as HubCommand];
        const shape = wanted.map((a) => `<${a}>`).join(" ");
        expectArgs(
          { ...args, command: `hubs ${sub}`, positionals: rest },
          [],
          wanted.length,
          wanted.length ? `${shape} (quote a name with spaces)` : "no arguments",
        );
        const port = variable(env, "PORT");
        const output = runHubCommand(sub as HubCommand, rest, {
          databasePath: text(env, "DATABASE_PATH")!,
          encryptionKeys: encryptionKeys(env),
          bootstrapSecrets: variable(env, "HOME_HUB_SECRET"),
          // note: the edge's own default (config.ts), so EDGE_URL in the credential is where this edge says it is.
          baseUrl: (variable(env, "BASE_URL") ?? `http://localhost:${port}`).replace(/\/+$/, ""),
        });
        io.out(output);
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(args.command)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`hookly: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof MaintenanceError) {
      io.err(`hookly: ${e.message}\n`);
      return 1;
    }
    if (e instanceof AppError) {
      // note: what the hub service refused (no such hub, already revoked, a blank name); its messages are safe.
      io.err(`hookly: ${e.message}\n`);
      return e.code === "invalid_argument" ? 2 : 1;
    }
    io.err(`hookly: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("/cli.ts")) {
  process.exitCode = await run(process.argv.slice(2), process.env);
}
