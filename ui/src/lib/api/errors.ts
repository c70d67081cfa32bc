import { Code, ConnectError } from "@connectrpc/connect";

/** True for an error that only means "the caller gave up" (navigation, a newer request). */
export function isAbort(err: unknown): boolean {
  if (err instanceof DOMException && err.name === "AbortError") return true;
  return err instanceof ConnectError && err.code === Code.Canceled;
}

/**
 * Turns an API error into a sentence for a person. The edge's own message is shown where it
 * describes the request (invalid argument, precondition, conflict); codes that describe the
 * system get a fixed sentence with what to do next.
 */
export function describeError(err: unknown): string {
  const e = ConnectError.from(err);
  const own = e.rawMessage.trim();
  switch (e.code) {
    case Code.Unauthenticated:
      return "Your session has ended. Sign in again to continue.";
    case Code.PermissionDenied:
      return own ? `Not allowed: ${own}` : "You are not allowed to do this.";
    case Code.NotFound:
      return own ? `Not found: ${own}` : "This no longer exists. It may have been deleted.";
    case Code.InvalidArgument:
      return own || "Some of what you entered is not valid.";
    case Code.FailedPrecondition:
      return own || "This cannot be done right now.";
    case Code.AlreadyExists:
      return own || "This already exists.";
    case Code.ResourceExhausted:
      return own || "Too many requests. Wait a moment and try again.";
    case Code.Unavailable:
      return "The Hookly edge cannot be reached. Check your connection, then retry.";
    case Code.DeadlineExceeded:
      return "The edge took too long to answer. Try again.";
    case Code.Canceled:
      return "The request was cancelled.";
    case Code.Unimplemented:
      return "This edge does not support that yet. Is it older than this page?";
    default:
      return "Something went wrong on the edge. Try again; if it keeps happening, check the edge's logs.";
  }
}

/** Whether an error means the thing asked for does not exist. */
export function isNotFound(err: unknown): boolean {
  return ConnectError.from(err).code === Code.NotFound;
}
