/**
 * `hookly hubs …`: the hub registry from the command line. Works on the
 * database file directly, through the same hub service as the API, so an
 * edge may keep running meanwhile; the CLI prints, it never logs.
 *
 * A running edge reads the registry at every stream open, so a hub created,
 * rotated, retired or revoked here counts from that hub's next connection to
 * it. Only a revoke needs saying: a stream the hub already has stays open
 * until it reconnects (revoking through the API or the UI closes it at once).
 *
 * A credential is printed once, by `create` and `rotate`, and nowhere else.
 */
import { pino } from "pino";
import { systemClock } from "../clock.js";
import { createSecretBox } from "../crypto/secret-box.js";
import { createDestinationStore } from "../destination/destination.store.js";
import { EdgeEvents } from "../events.js";
import { openExisting } from "../maintenance/maintenance.service.js";
import { createHubService, type HubCredential, type HubView } from "./hub.service.js";
import { createHubStore } from "./hub.store.js";

/** Schema version that brought the hub registry (migration 006). */
export const HUB_SCHEMA_VERSION = 6;

/** The `hubs` subcommands and the arguments each takes, for usage checks. */
export const HUB_COMMANDS = {
  list: [],
  create: ["name"],
  rename: ["id", "name"],
  revoke: ["id"],
  rotate: ["id"],
  retire: ["id"],
} as const satisfies Record<string, readonly string[]>;

/** A `hubs` subcommand. */
export type HubCommand = keyof typeof HUB_COMMANDS;

/** What the hub commands need of the edge's configuration. */
export interface HubCliSettings {
  databasePath: string;
  /** ENCRYPTION_KEY, then ENCRYPTION_KEY_PREVIOUS if set. */
  encryptionKeys: string[];
  /** HOME_HUB_SECRET (the bootstrap hub's credential), as the edge has it. */
  bootstrapSecrets: string[];
  /** The edge's public URL (BASE_URL), the hub's EDGE_URL. */
  baseUrl: string;
}

const iso = (ms: number | null) => (ms ? new Date(ms).toISOString() : "never");

/** What a hub's credential stands like, in a word or three. */
function state(h: HubView): string {
  if (h.revoked) return `revoked ${iso(h.revokedAt)}`;
  if (h.bootstrap) return h.hasCredential ? "bootstrap (HOME_HUB_SECRET)" : "bootstrap, HOME_HUB_SECRET unset";
  if (h.previousCredentialValid) return "rotating (previous credential valid)";
  return "active";
}

/** Left-aligned columns. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n")}\n`;
}

/** The one-time credential output of create and rotate. */
function credentialText(c: HubCredential, what: string): string {
  return (
    `# ${what}\n` +
    "# The credential below is shown this once: the edge keeps it sealed and cannot show it again\n" +
    `# (\`hookly hubs rotate ${c.hub.id}\` issues a new one).\n\n` +
    `# .env for the hub:\n${c.env}\n\n` +
    `# Or as a docker compose service:\n${c.compose}\n`
  );
}

/**
 * Runs `hubs <command> <args>` on the database and returns what to print.
 * Throws MaintenanceError (database missing or too old) and AppError (no such
 * hub, already revoked, …) with messages for the operator.
 */
export function runHubCommand(command: HubCommand, args: readonly string[], settings: HubCliSettings): string {
  const db = openExisting(settings.databasePath, { minSchemaVersion: HUB_SCHEMA_VERSION });
  try {
    const hubs = createHubService({
      store: createHubStore(db),
      box: createSecretBox(settings.encryptionKeys),
      clock: systemClock,
      // note: nobody listens: a running edge is another process, and learns of changes at the hub's next open.
      events: new EdgeEvents(),
      log: pino({ level: "silent" }),
      bootstrapSecrets: settings.bootstrapSecrets,
      baseUrl: settings.baseUrl,
    });
    const [id, name] = command === "create" ? [undefined, args[0]] : [args[0], args[1]];
    switch (command) {
      case "list": {
        const destinations = createDestinationStore(db);
        const rows = hubs.list().map((h) => [h.id, h.name, state(h), String(destinations.ofHub(h.id).length), iso(h.lastSeenAt), h.version ?? "-"]);
        return table([["ID", "NAME", "STATE", "DESTINATIONS", "LAST SEEN", "VERSION"], ...rows]);
      }
      case "create": {
        const c = hubs.create({ name: name! });
        return credentialText(c, `Hub ${c.hub.id} (${JSON.stringify(c.hub.name)}) created.`);
      }
      case "rename": {
        const h = hubs.rename(id!, name!);
        return `hub ${h.id} renamed to ${JSON.stringify(h.name)}\n`;
      }
      case "revoke": {
        const h = hubs.revoke(id!);
        return (
          `hub ${h.id} (${JSON.stringify(h.name)}) revoked: its credentials are forgotten and every later connection is refused.\n` +
          "A running edge refuses the hub's next connection; a stream it has open now stays until then\n" +
          "(revoke through the API or the UI to close it at once).\n"
        );
      }
      case "rotate": {
        const c = hubs.rotate(id!);
        return (
          credentialText(c, `New credential for hub ${c.hub.id} (${JSON.stringify(c.hub.name)}).`) +
          `\n# The previous credential stays valid until \`hookly hubs retire ${c.hub.id}\`.\n`
        );
      }
      case "retire": {
        const h = hubs.retire(id!);
        return `hub ${h.id}: the previous credential is retired; only the current one is accepted from the hub's next connection\n`;
      }
    }
  } finally {
    db.close();
  }
}
