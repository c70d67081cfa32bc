import { describeError, isAbort } from "./errors";

/**
 * One API read shown on a page: its latest data, an error for a person, and whether it is
 * loading. A reload keeps the previous data on screen (no flicker on live refresh), and a
 * slower, older answer never overwrites a newer one.
 */
export class Query<T> {
  data = $state.raw<T | undefined>(undefined);
  error = $state<string | undefined>(undefined);
  loading = $state(false);
  readonly #fetch: (signal: AbortSignal) => Promise<T>;
  #seq = 0;
  #controller: AbortController | undefined;

  constructor(fetch: (signal: AbortSignal) => Promise<T>) {
    this.#fetch = fetch;
  }

  /** Loads, or reloads; resolves when this load has settled. */
  async run(): Promise<void> {
    const seq = ++this.#seq;
    this.#controller?.abort();
    const controller = new AbortController();
    this.#controller = controller;
    this.loading = true;
    try {
      const data = await this.#fetch(controller.signal);
      if (seq !== this.#seq) return;
      this.data = data;
      this.error = undefined;
    } catch (err) {
      if (seq !== this.#seq || isAbort(err)) return;
      this.error = describeError(err);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  /** Whether nothing has arrived yet: show a skeleton rather than stale or empty data. */
  get pending(): boolean {
    return this.data === undefined && this.error === undefined;
  }

  /** Stops the load in flight (when the page goes away). */
  cancel(): void {
    this.#seq++;
    this.#controller?.abort();
  }
}
