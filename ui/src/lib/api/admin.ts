import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "@hookly/proto/gen/admin_pb";
import { auth, CSRF_HEADER, sessionExpired } from "$lib/auth/session.svelte";

/** Adds the session's CSRF token to every call; an Unauthenticated answer sends the person to sign-in. */
const sessionInterceptor: Interceptor = (next) => async (req) => {
  const csrf = auth.session?.csrfToken;
  if (csrf) req.header.set(CSRF_HEADER, csrf);
  try {
    return await next(req);
  } catch (err) {
    if (err instanceof ConnectError && err.code === Code.Unauthenticated) sessionExpired();
    throw err;
  }
};

let client: Client<typeof AdminService> | undefined;

/**
 * The edge's AdminService over Connect JSON on this origin, with the session cookie.
 * note: created on first use, because `location` only exists in the browser.
 */
export function admin(): Client<typeof AdminService> {
  client ??= createClient(
    AdminService,
    createConnectTransport({
      baseUrl: location.origin,
      useBinaryFormat: false,
      fetch: (input, init) => fetch(input, { ...init, credentials: "same-origin" }),
      interceptors: [sessionInterceptor],
    }),
  );
  return client;
}
