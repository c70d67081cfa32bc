import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Destination, DestinationFilter, DestinationFilterSchema, DestinationInputSchema, UpdateDestinationRequest } from "@hookly/proto/gen/admin_pb";
import { defaultPolicyForm, policyChange, policyFormValues, policyInput, type PolicyChange, type PolicyFormValues } from "./delivery-policy";

/** What the destination dialog edits; the filter's event types as one comma-separated line; the delivery policy (delivery-policy.ts). */
export interface DestinationFormValues {
  hubId: string;
  url: string;
  name: string;
  enabled: boolean;
  muted: boolean;
  /** `invoice.paid, customer.*` */
  eventTypes: string;
  /** `$.data.object.livemode`; empty: no JSON condition. */
  jsonPath: string;
  /** The JSON scalar the value at `jsonPath` must equal: `"paid"`, `true`, `3`, `null`. */
  equalsJson: string;
  policy: PolicyFormValues;
}

/** Problems with the form, by field, in words for a person (the policy's are `validatePolicy`'s). */
export type DestinationFormErrors = Partial<Record<Exclude<keyof DestinationFormValues, "policy">, string>>;

/** The fields for a new destination on `hubId`: enabled, not muted, no filter, the default policy. */
export function emptyDestination(hubId = ""): DestinationFormValues {
  return { hubId, url: "", name: "", enabled: true, muted: false, eventTypes: "", jsonPath: "", equalsJson: "", policy: defaultPolicyForm() };
}

/** The form's values for an existing destination. */
export function destinationValues(d: Destination): DestinationFormValues {
  return {
    hubId: d.hubId,
    url: d.url,
    name: d.name,
    enabled: d.enabled,
    muted: d.muted,
    eventTypes: (d.filter?.eventTypes ?? []).join(", "),
    jsonPath: d.filter?.jsonPath ?? "",
    equalsJson: d.filter?.jsonPath ? d.filter.equalsJson : "",
    policy: policyFormValues(d.policy),
  };
}

/** The event types of a comma- (or line-) separated list: trimmed, without blanks or repeats. */
export function parseEventTypes(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[,\n]/)
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

/** Whether `text` is one JSON string, number, boolean or null (what a JSON-path filter compares with). */
export function isJsonScalar(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  return value === null || ["string", "number", "boolean"].includes(typeof value);
}

/**
 * Checks what the edge would refuse anyway, so the person learns it next to the field. The edge
 * stays the authority (JSON path syntax, which hubs may be used, which URLs the hub allows).
 */
export function validateDestination(values: DestinationFormValues): DestinationFormErrors {
  const errors: DestinationFormErrors = {};
  if (!values.hubId) errors.hubId = "Choose the hub that delivers to it.";
  const url = values.url.trim();
  if (!url) {
    errors.url = "Where should the hub deliver? e.g. http://192.168.1.20:8080/webhooks";
  } else {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) errors.url = "Enter a full http:// or https:// URL.";
    else if (parsed.username || parsed.password) errors.url = "Leave user and password out of the URL.";
    else if (parsed.hash) errors.url = "A destination URL has no #fragment.";
  }
  if (values.name.trim().length > 100) errors.name = "Keep the name to 100 characters.";
  const types = parseEventTypes(values.eventTypes);
  const bad = types.find((t) => /\s/.test(t) || t.length > 200);
  if (bad) errors.eventTypes = `“${bad.slice(0, 40)}” is not one event type: separate them with commas.`;
  else if (types.length > 100) errors.eventTypes = "A filter keeps at most 100 event types.";
  const path = values.jsonPath.trim();
  const equals = values.equalsJson.trim();
  if (path && !equals) errors.equalsJson = 'Enter the value to compare with, as JSON: "paid", true, 3 or null.';
  else if (equals && !path) errors.jsonPath = "Name the field to compare, e.g. $.data.object.status.";
  else if (equals && !isJsonScalar(equals)) errors.equalsJson = 'Enter one JSON value: a string needs quotes ("paid"), or true, 3, null.';
  return errors;
}

/** The filter as the edge takes it; all fields empty means "everything". */
export function filterOf(values: DestinationFormValues): MessageInitShape<typeof DestinationFilterSchema> {
  const jsonPath = values.jsonPath.trim();
  const equals = values.equalsJson.trim();
  return {
    eventTypes: parseEventTypes(values.eventTypes),
    jsonPath,
    // note: re-serialised, so `"paid"` and ` "paid" ` (or 3.0 and 3) compare equal in `updateChange`.
    equalsJson: jsonPath && equals && isJsonScalar(equals) ? JSON.stringify(JSON.parse(equals)) : "",
  };
}

/** The CreateDestination input for the form's values. */
export function createInput(values: DestinationFormValues): MessageInitShape<typeof DestinationInputSchema> {
  return {
    hubId: values.hubId,
    url: values.url.trim(),
    name: values.name.trim(),
    disabled: !values.enabled,
    muted: values.muted,
    filter: filterOf(values),
    policy: policyInput(values.policy),
  };
}

const sameFilter = (a: MessageInitShape<typeof DestinationFilterSchema>, b: MessageInitShape<typeof DestinationFilterSchema>) =>
  JSON.stringify([a.eventTypes ?? [], a.jsonPath ?? "", a.equalsJson ?? ""]) === JSON.stringify([b.eventTypes ?? [], b.jsonPath ?? "", b.equalsJson ?? ""]);

/** The fields of an UpdateDestination request besides the id; unset ones stay as they are. */
export type DestinationChange = Partial<Pick<UpdateDestinationRequest, "hubId" | "url" | "name" | "enabled" | "muted">> &
  PolicyChange & {
    /** Replaces the whole filter; all fields empty removes it. */
    filter?: MessageInitShape<typeof DestinationFilterSchema>;
  };

/** What UpdateDestination must change to turn `d` into the form's values, besides the policy: only the fields that differ. */
export function updateChange(d: Destination, values: DestinationFormValues): DestinationChange {
  const change: DestinationChange = {};
  if (values.hubId !== d.hubId) change.hubId = values.hubId;
  if (values.url.trim() !== d.url) change.url = values.url.trim();
  if (values.name.trim() !== d.name) change.name = values.name.trim();
  if (values.enabled !== d.enabled) change.enabled = values.enabled;
  if (values.muted !== d.muted) change.muted = values.muted;
  const next = filterOf(values);
  if (!sameFilter(next, filterOf(destinationValues(d)))) change.filter = next;
  return change;
}

/**
 * The one UpdateDestination request (besides the id) that turns `d` into the form's values: the
 * fields that differ and the policy's change (see `policyChange`; a limit taken off is cleared in
 * the same call, stored header values kept); undefined when nothing changed.
 */
export function updateRequest(d: Destination, values: DestinationFormValues): DestinationChange | undefined {
  const change = { ...updateChange(d, values), ...policyChange(d.policy, values.policy) };
  return Object.keys(change).length === 0 ? undefined : change;
}

/** A filter in a few words: "Everything", "invoice.paid, push", "$.livemode = true", or both joined by "and". */
export function filterSummary(filter: Pick<DestinationFilter, "eventTypes" | "jsonPath" | "equalsJson"> | undefined): string {
  const parts: string[] = [];
  if (filter && filter.eventTypes.length > 0) parts.push(`event type ${filter.eventTypes.join(", ")}`);
  if (filter?.jsonPath) parts.push(`${filter.jsonPath} = ${filter.equalsJson || "null"}`);
  return parts.length === 0 ? "Everything" : parts.join(" and ");
}
