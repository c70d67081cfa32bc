import { Code, ConnectError } from "@connectrpc/connect";

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
  | "request_timeout"
  | "unavailable"
  | "failed_precondition";

/** An error whose message may be shown to the caller. */
export class AppError extends Error {
  override name = "AppError";
  /** Seconds the caller should wait before trying again (sent as Retry-After with a 503). */
  readonly retryAfterS: number | undefined;
  constructor(
    readonly code: AppErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterS?: number },
  ) {
    super(message, options);
    this.retryAfterS = options?.retryAfterS;
  }
}

/** Retry-After of a refusal caused by storage: the storage check runs every second, recovery takes a few. */
export const STORAGE_RETRY_AFTER_S = 5;

/** The one table from an AppError code to what REST (HTTP status) and Connect (code) answer. */
export const ERROR_ANSWERS: Record<AppErrorCode, { http: number; connect: Code }> = {
  invalid_argument: { http: 400, connect: Code.InvalidArgument },
  not_found: { http: 404, connect: Code.NotFound },
  already_exists: { http: 409, connect: Code.AlreadyExists },
  unauthenticated: { http: 401, connect: Code.Unauthenticated },
  permission_denied: { http: 403, connect: Code.PermissionDenied },
  payload_too_large: { http: 413, connect: Code.ResourceExhausted },
  request_timeout: { http: 408, connect: Code.DeadlineExceeded },
  unavailable: { http: 503, connect: Code.Unavailable },
  failed_precondition: { http: 409, connect: Code.FailedPrecondition },
};

/**
 * ConnectError for an AppError or a storage error (its code and safe
 * message, the original as cause); anything else is returned unchanged, so
 * Connect answers Internal without its message.
 */
export function toConnectError(err: unknown): unknown {
  const known = err instanceof AppError ? err : storageAppError(err);
  if (known) return new ConnectError(known.message, ERROR_ANSWERS[known.code].connect, undefined, undefined, known);
  return err;
}

/** Whether `err` is SQLite refusing a row whose parent is gone (by code, not message). */
export function isForeignKeyViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === "SQLITE_CONSTRAINT_FOREIGNKEY";
}

/**
 * The code of a storage failure, or undefined for any other error: SQLite's
 * (disk full, I/O error, busy past the timeout, read-only, locked, cannot
 * open), or the file system's where payload files are written (ENOSPC,
 * EDQUOT, EIO, EROFS). Branches on the error's code, never its message.
 */
export function storageErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  return /^SQLITE_(FULL|IOERR|BUSY|READONLY|LOCKED|CANTOPEN|PROTOCOL|NOLFS)/.test(code) || /^E(NOSPC|DQUOT|IO|ROFS)$/.test(code) ? code : undefined;
}

/** Whether a storage error code means the disk (or the database's page limit) is full. */
export function isFullCode(code: string): boolean {
  return code.startsWith("SQLITE_FULL") || code === "ENOSPC" || code === "EDQUOT";
}

/**
 * The AppError a caller sees for a storage error (503 / Unavailable, with
 * Retry-After), or undefined when `err` is not one. Reads keep working while
 * writes are refused, so the message says so.
 */
export function storageAppError(err: unknown): AppError | undefined {
  const code = storageErrorCode(err);
  if (!code) return undefined;
  return new AppError("unavailable", `the database cannot be written now (${code}); reads still work, retry once storage recovers`, {
    cause: err,
    retryAfterS: STORAGE_RETRY_AFTER_S,
  });
}
