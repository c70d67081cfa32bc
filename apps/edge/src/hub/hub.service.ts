/**
 * The hub registry: hubs are created, renamed, rotated and revoked here, each
 * with its own credential, sealed at rest under ENCRYPTION_KEY (bound to the
 * hub id) and shown once, when created or rotated.
 *
 * The bootstrap hub (`hub_bootstrap`) is the one whose credential is
 * HOME_HUB_SECRET from the environment: existing installs and `npm start`
 * keep working, and a hub that sends a HUB_ID which is not a registered
 * `hub_…` id is taken for it.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../clock.js";
import type { SecretBox } from "../crypto/secret-box.js";
import { AppError } from "../errors.js";
import type { EdgeEvents } from "../events.js";
import { isId, newId } from "../ids.js";
import type { Logger } from "../logger.js";
import type { StorageReporter } from "../storage/storage.service.js";
import type { HubConnectionInfo, HubRecord, HubStore } from "./hub.store.js";

/** Id of the hub authenticated by HOME_HUB_SECRET (created by migration 006). */
export const BOOTSTRAP_HUB_ID = "hub_bootstrap";

/** A hub as the API shows it: its record without the (sealed) credentials, and what they allow. */
export interface HubView extends Omit<HubRecord, "sealedSecret" | "sealedPreviousSecret"> {
  revoked: boolean;
  /** A rotation is under way: the previous credential is still accepted. */
  previousCredentialValid: boolean;
  /** Whether the hub has a credential it can dial with (the bootstrap hub needs HOME_HUB_SECRET). */
  hasCredential: boolean;
}

/** A credential, shown once, with what to paste on the home side. */
export interface HubCredential {
  hub: HubView;
  /** HUB_SECRET. */
  secret: string;
  /** A `.env` block for the hub. */
  env: string;
  /** A docker compose service for the hub. */
  compose: string;
}

/** Who a stream open claims to be, resolved against the registry. */
export type OpenIdentity = { ok: true; hubId: string; name: string; secrets: string[] } | { ok: false; reason: string; hubId?: string; secrets?: string[] };

/** Hub operations. */
export type HubService = ReturnType<typeof createHubService>;

function checkName(name: string | undefined): string {
  const trimmed = (name ?? "").trim();
  if (!trimmed) throw new AppError("invalid_argument", "name is required");
  if (trimmed.length > 100) throw new AppError("invalid_argument", "name is longer than 100 characters");
  return trimmed;
}

/** Creates the hub service. */
export function createHubService(deps: {
  store: HubStore;
  box: SecretBox;
  clock: Clock;
  events: EdgeEvents;
  log: Logger;
  /** HOME_HUB_SECRET (one or two during a rotation); empty when not configured. */
  bootstrapSecrets: readonly string[];
  /** The edge's public URL, for the hub's EDGE_URL. */
  baseUrl: string;
  /** Where a storage error of the connection bookkeeping is reported (it then is not logged here). */
  storage?: StorageReporter;
}) {
  const { store, box, clock, events, log } = deps;

  const view = ({ sealedSecret, sealedPreviousSecret, ...h }: HubRecord): HubView => ({
    ...h,
    revoked: h.revokedAt !== null,
    previousCredentialValid: sealedPreviousSecret !== null,
    hasCredential: h.revokedAt === null && (h.bootstrap ? deps.bootstrapSecrets.length > 0 : sealedSecret !== null),
  });

  const mustGet = (id: string): HubRecord => {
    const found = isId("hub", id) ? store.get(id) : undefined;
    if (!found) throw new AppError("not_found", `hub ${JSON.stringify(id)} not found`);
    return found;
  };

  const credential = (h: HubRecord, secret: string): HubCredential => {
    const env = [`EDGE_URL=${deps.baseUrl}`, `HUB_ID=${h.id}`, `HUB_SECRET=${secret}`, "# HUB_ALLOWED_DESTINATIONS=nas.lan,10.0.0.0/24"].join("\n");
    const compose = [
      "services:",
      `  hookly-hub-${h.id
        .slice(4)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, "")}:`,
      "    image: hookly-hub",
      "    restart: unless-stopped",
      "    environment:",
      `      EDGE_URL: ${deps.baseUrl}`,
      `      HUB_ID: ${h.id}`,
      `      HUB_SECRET: ${secret}`,
    ].join("\n");
    return { hub: view(h), secret, env, compose };
  };

  /** A fresh credential: 32 random bytes. */
  const newSecret = () => randomBytes(32).toString("base64url");

  const safely = (what: string, fn: () => void): void => {
    try {
      fn();
      deps.storage?.succeeded("hubs");
    } catch (err) {
      // note: connection bookkeeping must never break a stream (a full disk, say).
      if (!deps.storage?.failed("hubs", err)) log.warn({ err }, `could not record hub ${what}`);
    }
  };

  return {
    view,
    /** Creates a hub; its credential is in the answer and nowhere else. */
    create(input: { name: string }): HubCredential {
      const id = newId("hub");
      const secret = newSecret();
      store.insert({ id, name: checkName(input.name), sealedSecret: box.seal(secret, id), at: clock.now() });
      events.emit("hub.registry", { hubId: id });
      return credential(store.get(id)!, secret);
    },
    get(id: string): HubView {
      return view(mustGet(id));
    },
    /** The record, or undefined (no throw). */
    find(id: string): HubRecord | undefined {
      return isId("hub", id) ? store.get(id) : undefined;
    },
    list(): HubView[] {
      return store.list().map(view);
    },
    rename(id: string, name: string): HubView {
      mustGet(id);
      store.rename(id, checkName(name), clock.now());
      events.emit("hub.registry", { hubId: id });
      return view(mustGet(id));
    },
    /** Revokes a hub: its stream is closed at once and every later open refused. */
    revoke(id: string): HubView {
      const h = mustGet(id);
      if (h.revokedAt !== null) throw new AppError("failed_precondition", `hub ${id} is already revoked`);
      store.revoke(id, clock.now());
      log.warn({ hubId: id }, "hub revoked");
      events.emit("hub.registry", { hubId: id, revoked: true });
      return view(mustGet(id));
    },
    /**
     * Issues a new credential. The old one stays valid until `retire`, so the
     * home side can be switched without downtime.
     */
    rotate(id: string): HubCredential {
      const h = mustGet(id);
      if (h.revokedAt !== null) throw new AppError("failed_precondition", `hub ${id} is revoked`);
      if (h.bootstrap) {
        throw new AppError(
          "failed_precondition",
          "the bootstrap hub's credential is HOME_HUB_SECRET: rotate it there (two comma-separated values during the switch), or create a hub with its own credential",
        );
      }
      if (h.sealedPreviousSecret !== null) {
        throw new AppError("failed_precondition", `hub ${id} is already rotating: retire the previous credential first`);
      }
      const secret = newSecret();
      store.rotate(id, box.seal(secret, id), clock.now());
      log.info({ hubId: id }, "hub credential rotated; the previous one stays valid until retired");
      return credential(mustGet(id), secret);
    },
    /** Stops accepting the credential before the last rotation. */
    retire(id: string): HubView {
      const h = mustGet(id);
      if (h.sealedPreviousSecret === null) throw new AppError("failed_precondition", `hub ${id} has no previous credential to retire`);
      store.retire(id, clock.now());
      log.info({ hubId: id }, "previous hub credential retired");
      return view(mustGet(id));
    },
    /**
     * Who an open's `hookly-hub-id` names, with the secrets its signature may
     * use. A registered `hub_…` id uses its own credentials; anything else is
     * taken for the bootstrap hub (HOME_HUB_SECRET).
     */
    identify(claimedId: string): OpenIdentity {
      const registered = isId("hub", claimedId) ? store.get(claimedId) : undefined;
      const h = registered ?? (isId("hub", claimedId) && claimedId !== BOOTSTRAP_HUB_ID ? undefined : store.get(BOOTSTRAP_HUB_ID));
      if (!h) return { ok: false, reason: `hub ${claimedId} is not registered on this edge` };
      if (h.revokedAt !== null) return { ok: false, reason: `hub ${h.id} is revoked` };
      let secrets: string[];
      if (h.bootstrap) {
        secrets = [...deps.bootstrapSecrets];
        if (secrets.length === 0) return { ok: false, reason: "HOME_HUB_SECRET is not set on the edge, so the bootstrap hub cannot connect" };
      } else {
        secrets = [h.sealedSecret, h.sealedPreviousSecret].filter((s): s is string => s !== null).map((s) => box.open(s, h.id));
      }
      return { ok: true, hubId: h.id, name: h.name, secrets };
    },
    /** The hub a destination goes to when none is named. */
    defaultHubId(): string {
      const live = store.list().filter((h) => h.revokedAt === null);
      const bootstrap = live.find((h) => h.bootstrap && deps.bootstrapSecrets.length > 0);
      if (bootstrap) return bootstrap.id;
      if (live.length === 1) return live[0]!.id;
      if (live.length === 0) throw new AppError("failed_precondition", "no hub can receive deliveries: create a hub first");
      throw new AppError("invalid_argument", "hub_id is required: this edge has several hubs");
    },
    /** Checks a hub id for a destination. */
    checkUsable(id: string): string {
      const h = mustGet(id);
      if (h.revokedAt !== null) throw new AppError("failed_precondition", `hub ${id} is revoked`);
      return h.id;
    },
    noteConnected(id: string, info: HubConnectionInfo): void {
      safely("connection", () => store.connected(id, info));
    },
    noteSeen(id: string, at: number): void {
      safely("last seen", () => store.seen(id, at));
    },
    noteDisconnected(id: string, at: number, lastSeenAt: number): void {
      safely("disconnection", () => store.disconnected(id, at, lastSeenAt));
    },
  };
}
