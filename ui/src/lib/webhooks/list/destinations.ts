/**
 * The history's destination filter: the destinations of the chosen endpoint, or of every endpoint
 * (named with their endpoint) when none is chosen. A destination without a name goes by its URL.
 */

/** The fields of a destination read here. */
export interface DestinationLike {
  id: string;
  name: string;
  url: string;
}

/** The fields of an endpoint read here. */
export interface EndpointLike {
  id: string;
  name: string;
  destinations: readonly DestinationLike[];
}

/** A destination's name for a person: its name, or its URL when it has none. */
export const destinationLabel = (d: DestinationLike): string => d.name || d.url;

/**
 * The choices for the filter: the endpoint's destinations when `endpointId` is set, else every
 * endpoint's, as "endpoint › destination". `selected`, when it is not among them (deleted, or from
 * a link), is kept as a choice under its id so the filter still shows what the list is narrowed to.
 */
export function destinationOptions(endpoints: readonly EndpointLike[], endpointId: string, selected = ""): { value: string; label: string }[] {
  const options = endpoints
    .filter((e) => !endpointId || e.id === endpointId)
    .flatMap((e) => e.destinations.map((d) => ({ value: d.id, label: endpointId ? destinationLabel(d) : `${e.name} › ${destinationLabel(d)}` })));
  if (selected && !options.some((o) => o.value === selected)) options.push({ value: selected, label: selected });
  return options;
}

/** The destination's name (with its endpoint's), or its id when no endpoint has it. */
export function destinationName(endpoints: readonly EndpointLike[], id: string): string {
  for (const e of endpoints) {
    const d = e.destinations.find((x) => x.id === id);
    if (d) return `${destinationLabel(d)} (${e.name})`;
  }
  return id;
}

/**
 * Whether a destination filter still makes sense once the endpoint filter is `endpointId`: with
 * no endpoint, or when the destination is that endpoint's; not when the endpoints are not loaded
 * (or it is not among them), so a filter from a link is not dropped on a guess.
 */
export function keepsDestination(endpoints: readonly EndpointLike[] | undefined, endpointId: string, destinationId: string): boolean {
  if (!endpointId || !destinationId || !endpoints) return true;
  const owner = endpoints.find((e) => e.destinations.some((d) => d.id === destinationId));
  return !owner || owner.id === endpointId;
}
