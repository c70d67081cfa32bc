import { redirect } from "@sveltejs/kit";
import { isEdgePage, safeNext } from "$lib/auth/next";
import { loadSession } from "$lib/auth/session.svelte";
import type { PageLoad } from "./$types";

/** Someone already signed in skips the form; an unreachable edge still gets the form (with an error). */
export const load: PageLoad = async ({ url }) => {
  const session = await loadSession().catch(() => null);
  if (session?.authenticated) {
    const next = safeNext(url.searchParams.get("next"));
    // note: the edge's own pages (an MCP client's consent page) are loaded whole, not routed by the app.
    if (isEdgePage(next) && typeof location !== "undefined") {
      location.assign(next);
      return { githubEnabled: session.githubEnabled ?? false, reachable: true };
    }
    redirect(307, next);
  }
  return { githubEnabled: session?.githubEnabled ?? false, reachable: session !== null };
};
