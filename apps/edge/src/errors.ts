/**
 * Domain errors with a safe message. Services throw them; the Connect layer
 * maps them to ConnectError codes and the REST layer to HTTP statuses with
 * `{ "error": { "code", "message" } }`. Anything else is unexpected: logged
 * with context and answered with a bare 500 / Code.Internal.
 */
export type AppErrorCode =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "unauthenticated"
  | "permission_denied"
  | "payload_too_large"
  | "unavailable"
  | "failed_precondition";

/** An error whose message may be shown to the caller. */
export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: AppErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** HTTP status of each code, for the REST routes. */
export const HTTP_STATUS: Record<AppErrorCode, number> = {
  invalid_argument: 400,
  not_found: 404,
  already_exists: 409,
  unauthenticated: 401,
  permission_denied: 403,
  payload_too_large: 413,
  unavailable: 503,
  failed_precondition: 409,
};

/**
 * The SQLite result code of a storage failure (disk full, I/O error, busy past
 * the timeout, read-only, locked, cannot open), or undefined for any other
 * error. Branches on the error's code, never its message.
 */
export function storageErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  return /^SQLITE_(FULL|IOERR|BUSY|READONLY|LOCKED|CANTOPEN|PROTOCOL|NOLFS)/.test(code) ? code : undefined;
}
