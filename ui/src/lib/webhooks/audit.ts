import type { AuditEntry } from "@hookly/proto/gen/admin_pb";

/**
 * Who an audit actor is, for a person: `admin` stays, `github:mona` is "mona (GitHub)",
 * `token:tok_1` "API token tok_1", `telegram:42` "Telegram chat 42"; anything else as it is.
 */
export function actorLabel(actor: string): string {
  const i = actor.indexOf(":");
  if (i < 0) return actor;
  const kind = actor.slice(0, i);
  const who = actor.slice(i + 1);
  switch (kind) {
    case "github":
      return `${who} (GitHub)`;
    case "token":
      return `API token ${who}`;
    case "telegram":
      return `Telegram chat ${who}`;
    default:
      return actor;
  }
}

const ACTIONS: Record<string, string> = {
  retry_now: "Retried now",
  skip: "Skipped",
  cancel: "Cancelled",
  release: "Released",
  replay: "Replayed",
  replay_endpoint: "Replayed the endpoint's failed webhooks",
};

/** One audit entry in words: what was done, where, the replay it made, and what else it said. */
export interface AuditSummary {
  action: string;
  /** The destination it was done at, by name when known. */
  destination?: string;
  /** For a replay: the new webhook. */
  replayId?: string;
  notes: string[];
}

/**
 * Reads an audit entry for the trail: `destinationName` names a destination id (its id when
 * unknown). The detail is the edge's JSON; anything unexpected in it is left out, never thrown.
 */
export function auditSummary(
  e: Pick<AuditEntry, "action" | "destinationId" | "detailJson">,
  destinationName: (id: string) => string = (id) => id,
): AuditSummary {
  const detail = parseDetail(e.detailJson);
  const notes: string[] = [];
  if (detail.resigned === true) notes.push("re-signed");
  if (Array.isArray(detail.destinationIds)) notes.push(`to ${detail.destinationIds.length} destinations`);
  if (typeof detail.replayed === "number") notes.push(`${detail.replayed} replayed`);
  if (detail.inFlight === true) notes.push("an attempt was under way");
  if (detail.bulk === true) notes.push(typeof detail.matched === "number" ? `bulk action on ${detail.matched} webhooks` : "bulk action");
  return {
    action: ACTIONS[e.action] ?? e.action,
    ...(e.destinationId ? { destination: destinationName(e.destinationId) } : {}),
    ...(typeof detail.replayId === "string" && detail.replayId ? { replayId: detail.replayId } : {}),
    notes,
  };
}

function parseDetail(json: string): Record<string, unknown> {
  if (!json) return {};
  try {
    const v: unknown = JSON.parse(json);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
