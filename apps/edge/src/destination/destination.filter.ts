/**
 * Event types and destination filters, pure: what kind of event a webhook
 * is (from the provider's own conventions), and whether a destination wants
 * it.
 *
 * Event types:
 * - stripe: the event's `type` (`invoice.paid`);
 * - github: `X-GitHub-Event`, plus the payload's `action` when there is one
 *   (`push`, `issues.opened`);
 * - telegram: the update's kind, the field beside `update_id`
 *   (`message`, `callback_query`, …);
 * - generic: the header the endpoint names (`event_type_header`; only it, when
 *   named), else the JSON body's `type` (Standard Webhooks puts it there).
 *
 * A filter keeps a webhook when its event type matches one of `eventTypes`
 * (exactly, as a dotted prefix — `issues` keeps `issues.opened` — or with a
 * trailing `*`), and, when `jsonPath` is set, when the JSON body's value there
 * equals `equals`. An empty filter keeps everything.
 */
import { AppError } from "../errors.js";
import type { ProviderType } from "../verify/verify.service.js";

/** Bodies larger than this are not parsed for an event type or a JSON-path filter. */
export const PARSE_LIMIT_BYTES = 1024 * 1024;
/** Longest event type kept. */
export const EVENT_TYPE_MAX = 200;

/** A scalar a JSON-path filter compares with. */
export type FilterValue = string | number | boolean | null;

/** What a destination accepts; every part optional. */
export interface DestinationFilter {
  /** Event types (or dotted prefixes, or `prefix*`) to keep; empty or absent: any. */
  eventTypes?: string[];
  /** `$.a.b[0].c`: where to look in the JSON body. */
  jsonPath?: string;
  /** The value that must be there (with jsonPath). */
  equals?: FilterValue;
}

/** A lazily parsed JSON body: undefined when it is not JSON (or too large). */
export type JsonBody = () => unknown;

/** Parses the body at most once, only when asked. */
export function lazyJson(body: Uint8Array): JsonBody {
  let done = false;
  let value: unknown;
  return () => {
    if (!done) {
      done = true;
      value = parseJsonObject(body);
    }
    return value;
  };
}

function parseJsonObject(body: Uint8Array): unknown {
  if (body.byteLength === 0 || body.byteLength > PARSE_LIMIT_BYTES) return undefined;
  let i = 0;
  while (i < body.byteLength && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x7b && body[i] !== 0x5b) return undefined; // { or [
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const clip = (s: string | undefined | null): string | null => {
  const t = s?.trim();
  return t ? t.slice(0, EVENT_TYPE_MAX) : null;
};

/** The webhook's event type, or null when the provider's convention finds none. */
export function eventTypeOf(input: {
  provider: ProviderType;
  header: (name: string) => string | undefined;
  json: JsonBody;
  /** generic only: the header carrying the event type. */
  eventTypeHeader?: string | null;
}): string | null {
  const body = input.json();
  switch (input.provider) {
    case "stripe":
      return isObject(body) && typeof body.type === "string" ? clip(body.type) : null;
    case "github": {
      const event = clip(input.header("x-github-event"));
      if (!event) return null;
      return isObject(body) && typeof body.action === "string" && body.action ? clip(`${event}.${body.action}`) : event;
    }
    case "telegram": {
      if (!isObject(body)) return null;
      const kind = Object.keys(body).find((k) => k !== "update_id" && isObject(body[k]));
      return clip(kind);
    }
    case "generic":
      if (input.eventTypeHeader) return clip(input.header(input.eventTypeHeader));
      return isObject(body) && typeof body.type === "string" ? clip(body.type) : null;
  }
}

/** One step of a parsed JSON path: a key or an array index. */
type PathStep = string | number;

/** Parses `$.a.b[0]["c d"]` (the leading `$` and dot optional) into steps; throws AppError on bad syntax. */
export function parseJsonPath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  let rest = path.trim();
  if (rest.startsWith("$")) rest = rest.slice(1);
  if (!rest) throw new AppError("invalid_argument", `json_path ${JSON.stringify(path)} names no field`);
  const token = /^(?:\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d{1,6})\]|\["((?:[^"\\]|\\.)*)"\])/;
  let first = true;
  while (rest) {
    const m = token.exec(rest);
    if (!m || (m[1] !== undefined && !first && !rest.startsWith("."))) {
      throw new AppError("invalid_argument", `json_path ${JSON.stringify(path)} is not a path like $.data.object.status or $.items[0].id`);
    }
    if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined) steps.push(Number(m[2]));
    else {
      try {
        steps.push(JSON.parse(`"${m[3]}"`) as string);
      } catch {
        throw new AppError("invalid_argument", `json_path ${JSON.stringify(path)} has a quoted key that is not a valid JSON string`);
      }
    }
    rest = rest.slice(m[0].length);
    first = false;
  }
  if (steps.length > 32) throw new AppError("invalid_argument", "json_path is deeper than 32 steps");
  return steps;
}

/** The value at `steps` in `value`, or undefined. */
function valueAt(value: unknown, steps: readonly PathStep[]): unknown {
  let v = value;
  for (const s of steps) {
    if (typeof s === "number") {
      if (!Array.isArray(v)) return undefined;
      v = v[s];
    } else {
      if (!isObject(v) || !Object.hasOwn(v, s)) return undefined;
      v = v[s];
    }
  }
  return v;
}

/** Whether `eventType` matches one pattern. */
export function eventTypeMatches(pattern: string, eventType: string): boolean {
  if (pattern === "*" || pattern === eventType) return true;
  if (pattern.endsWith("*")) return eventType.startsWith(pattern.slice(0, -1));
  return eventType.startsWith(`${pattern}.`);
}

/** Why a filter dropped a webhook, or null when it keeps it. */
export function filterVerdict(filter: DestinationFilter | null, eventType: string | null, json: JsonBody): string | null {
  if (!filter) return null;
  const types = filter.eventTypes ?? [];
  if (types.length > 0) {
    if (eventType === null) return "no event type (the filter keeps only some)";
    if (!types.some((p) => eventTypeMatches(p, eventType))) return `event type ${eventType} is not in the filter`;
  }
  if (filter.jsonPath) {
    const found = valueAt(json(), parseJsonPath(filter.jsonPath));
    if (found !== (filter.equals ?? null)) return `${filter.jsonPath} is not ${JSON.stringify(filter.equals ?? null)}`;
  }
  return null;
}

/** Validates and normalizes a filter from the API; null when it keeps everything. */
export function checkFilter(input: DestinationFilter | null | undefined): DestinationFilter | null {
  if (!input) return null;
  const eventTypes = [...new Set((input.eventTypes ?? []).map((t) => t.trim()).filter(Boolean))];
  if (eventTypes.length > 100) throw new AppError("invalid_argument", "filter has more than 100 event types");
  for (const t of eventTypes) {
    if (t.length > EVENT_TYPE_MAX || /\s/.test(t)) {
      throw new AppError("invalid_argument", `filter event type ${JSON.stringify(t.slice(0, 40))} must be one word of at most ${EVENT_TYPE_MAX} characters`);
    }
  }
  const jsonPath = input.jsonPath?.trim() || undefined;
  if (jsonPath) parseJsonPath(jsonPath);
  if (!jsonPath && input.equals !== undefined && input.equals !== null) {
    throw new AppError("invalid_argument", "filter equals needs a json_path");
  }
  const equals = input.equals;
  if (equals !== undefined && equals !== null && !["string", "number", "boolean"].includes(typeof equals)) {
    throw new AppError("invalid_argument", "filter equals must be a string, number, boolean or null");
  }
  if (eventTypes.length === 0 && !jsonPath) return null;
  const out: DestinationFilter = {};
  if (eventTypes.length > 0) out.eventTypes = eventTypes;
  if (jsonPath) {
    out.jsonPath = jsonPath;
    out.equals = equals ?? null;
  }
  return out;
}
