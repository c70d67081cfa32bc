/**
 * Where to go after sign-in. Only same-origin paths are followed (never `//host`, `/\host` or
 * `https://…`), so a crafted `?next=` cannot send a person elsewhere.
 */
export function safeNext(next: string | null): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}
