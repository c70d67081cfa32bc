/**
 * How many webhooks the list's filters match, as the line above the table says it. The edge
 * counts them on the first page only (`withTotal` costs it a scan), so the count is remembered
 * for the filters it was made for and shown on their older pages too.
 */

/** Thousands separators as the page's English words expect ("1,234"), whatever the browser's locale. */
const NUMBER = new Intl.NumberFormat("en-US");

/** A count of webhooks in words: "No webhooks", "1 webhook", "1,234 webhooks". */
export function webhookCount(total: bigint | number): string {
  if (total === 0 || total === 0n) return "No webhooks";
  return `${NUMBER.format(total)} webhook${total === 1 || total === 1n ? "" : "s"}`;
}

/** A total the edge sent, with the filters (their query, without the page) it counts. */
export interface KnownTotal {
  filterKey: string;
  total: bigint;
}

/**
 * The total after a page arrived: the new one when the edge sent it, else the one remembered for
 * the same filters; undefined when it is not known (an older page opened from a link).
 */
export function nextTotal(
  known: KnownTotal | undefined,
  filterKey: string,
  sent: bigint | undefined,
  shown?: { rows: number; complete: boolean },
): KnownTotal | undefined {
  // note: a first page that holds the whole filter is its exact count: the edge may reuse a count a few
  // seconds old (it spares itself a scan per live update), but these rows are this moment's.
  if (shown?.complete) return { filterKey, total: BigInt(shown.rows) };
  if (sent !== undefined) return { filterKey, total: shown && BigInt(shown.rows) > sent ? BigInt(shown.rows) : sent };
  return known?.filterKey === filterKey ? known : undefined;
}
