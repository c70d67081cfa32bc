import { error, redirect } from "@sveltejs/kit";
import { loadSession, SessionUnavailableError } from "$lib/auth/session.svelte";
import type { LayoutLoad } from "./$types";

/** Nothing of the API is shown before the edge confirms a session: everyone else goes to /signin. */
export const load: LayoutLoad = async ({ url, untrack }) => {
  let session: Awaited<ReturnType<typeof loadSession>>;
  try {
    session = await loadSession();
  } catch (err) {
    error(503, err instanceof SessionUnavailableError ? `${err.message} Check that it is running, then retry.` : "Could not check your session.");
  }
  if (!session.authenticated) {
    const here = untrack(() => url.pathname + url.search);
    redirect(307, here === "/" ? "/signin" : `/signin?next=${encodeURIComponent(here)}`);
  }
  return { session };
};
