import { redirect } from "@sveltejs/kit";
import { safeNext } from "$lib/auth/next";
import { loadSession } from "$lib/auth/session.svelte";
import type { PageLoad } from "./$types";

/** Someone already signed in skips the form; an unreachable edge still gets the form (with an error). */
export const load: PageLoad = async ({ url }) => {
  const session = await loadSession().catch(() => null);
  if (session?.authenticated) redirect(307, safeNext(url.searchParams.get("next")));
  return { githubEnabled: session?.githubEnabled ?? false, reachable: session !== null };
};
