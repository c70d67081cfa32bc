/**
 * Where to go after sign-in. Only same-origin paths are followed (never `//host`, `/\host` or
 * `https://…`), so a crafted `?next=` cannot send a person elsewhere.
 */
export function safeNext(next: string | null): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}

/**
 * Whether `path` is served by the edge itself rather than this app (the OAuth consent page an MCP client
 * sent the person to): reached by a full page load, not the app's router.
 */
export function isEdgePage(path: string): boolean {
  return path.startsWith("/oauth/") || path.startsWith("/auth/");
}
