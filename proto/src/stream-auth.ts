/**
 * Authentication of the hub↔edge stream, shared by both sides.
 *
 * 1. The open: the hub sends its id, a timestamp, a random nonce and an
 *    HMAC-SHA256 of the three under its own credential (`HUB_SECRET`, or
 *    `HOME_HUB_SECRET` for the bootstrap hub) as request headers. The edge
 *    looks the hub up, accepts a timestamp within ±5 minutes and each nonce once.
 * 2. The session: the edge answers with a welcome carrying a stream id and its
 *    own nonce; both sides derive a session key from the secret and both nonces.
 * 3. Every message in both directions is an envelope `{seq, frame, mac}`: the
 *    MAC covers the direction, the stream id, the sequence number and the
 *    frame bytes, and each side expects seq 1, 2, 3… — so a message cannot be
 *    forged, replayed into another stream or direction, dropped or reordered
 *    without the receiver noticing.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Request header names of the authenticated open. */
export const OPEN_HEADERS = {
  hubId: "hookly-hub-id",
  timestamp: "hookly-timestamp",
  nonce: "hookly-nonce",
  signature: "hookly-signature",
  /** Random per hub process, not signed: lets the edge tell a re-dial from a second process with the same credential. */
  instance: "hookly-hub-instance",
  /**
   * Bytes of each delivery's body the hub may be sent before it grants more (DeliveryCredit), not signed:
   * someone able to change it can cut the stream anyway; without it the edge sends bodies without limit.
   */
  bodyWindow: "hookly-body-window",
  /** "set" when the hub forwards only to HUB_ALLOWED_DESTINATIONS, "none" when it forwards anywhere; not signed (shown to operators, never trusted). */
  allowlist: "hookly-hub-allowlist",
} as const;

/** How far the open's timestamp may be from the edge's clock, in milliseconds. */
export const OPEN_TOLERANCE_MS = 5 * 60 * 1000;

const OPEN_LABEL = "hookly-open-v1";
const SESSION_LABEL = "hookly-session-v1";

/** Which way an envelope travels; bound into its MAC. */
export type Direction = "hub-to-edge" | "edge-to-hub";

function hmac(key: string | Uint8Array, ...parts: (string | Uint8Array)[]): Buffer {
  const h = createHmac("sha256", key);
  for (const part of parts) {
    h.update(part);
    h.update("\n");
  }
  return h.digest();
}

/** Compares two byte strings in constant time (for equal lengths). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Builds the headers that authenticate a stream open.
 * `nonce` is random unless given (tests pass one to replay it).
 */
export function signStreamOpen(secret: string, hubId: string, nowMs: number, nonce: string = randomBytes(16).toString("base64url")): Record<string, string> {
  const timestamp = String(nowMs);
  const signature = hmac(secret, OPEN_LABEL, hubId, timestamp, nonce).toString("base64url");
  return {
    [OPEN_HEADERS.hubId]: hubId,
    [OPEN_HEADERS.timestamp]: timestamp,
    [OPEN_HEADERS.nonce]: nonce,
    [OPEN_HEADERS.signature]: signature,
  };
}

/** An accepted open: who the hub is and the material for the session key. */
export interface AcceptedOpen {
  ok: true;
  hubId: string;
  hubNonce: string;
  /** The secret that matched (one of several during a rotation). */
  secret: string;
}

/** A refused open, with a reason safe to log and to send back. */
export interface RefusedOpen {
  ok: false;
  reason: string;
}

/** The credentials a claimed hub id may sign with, or why it may not open at all. */
export type SecretsFor = (hubId: string) => { ok: true; secrets: readonly string[] } | { ok: false; reason: string };

/**
 * Checks an open's headers against every accepted secret: a list, or the
 * secrets of the hub the open names (`SecretsFor`).
 * `claimNonce` must return false when the nonce was seen before, and remember
 * it (until at least `expiresAtMs`) otherwise; it is only called once the
 * signature checked out, so an attacker cannot fill the nonce store.
 */
export function verifyStreamOpen(
  secretsOf: readonly string[] | SecretsFor,
  header: (name: string) => string | null | undefined,
  nowMs: number,
  claimNonce: (nonce: string, expiresAtMs: number) => boolean,
): AcceptedOpen | RefusedOpen {
  const hubId = header(OPEN_HEADERS.hubId) ?? "";
  const timestamp = header(OPEN_HEADERS.timestamp) ?? "";
  const nonce = header(OPEN_HEADERS.nonce) ?? "";
  const signature = header(OPEN_HEADERS.signature) ?? "";
  if (!hubId || !timestamp || !nonce || !signature) {
    return { ok: false, reason: "missing authentication headers" };
  }
  if (hubId.length > 128 || nonce.length < 16 || nonce.length > 64) {
    return { ok: false, reason: "malformed authentication headers" };
  }
  if (!/^\d{1,16}$/.test(timestamp)) {
    return { ok: false, reason: "malformed timestamp" };
  }
  const known = typeof secretsOf === "function" ? secretsOf(hubId) : { ok: true as const, secrets: secretsOf };
  if (!known.ok) return { ok: false, reason: known.reason };
  const given = Buffer.from(signature, "base64url");
  const secret = known.secrets.find((s) => bytesEqual(given, hmac(s, OPEN_LABEL, hubId, timestamp, nonce)));
  if (secret === undefined) {
    return { ok: false, reason: "signature does not match the hub secret" };
  }
  const skew = nowMs - Number(timestamp);
  if (Math.abs(skew) > OPEN_TOLERANCE_MS) {
    return {
      ok: false,
      reason: `timestamp is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? "old" : "in the future"}, outside ±${OPEN_TOLERANCE_MS / 1000} s`,
    };
  }
  if (!claimNonce(nonce, Number(timestamp) + OPEN_TOLERANCE_MS)) {
    return { ok: false, reason: "nonce was already used (replayed open)" };
  }
  return { ok: true, hubId, hubNonce: nonce, secret };
}

/** Derives the per-stream key both sides use for envelope MACs. */
export function deriveSessionKey(secret: string, hubNonce: string, edgeNonce: Uint8Array, streamId: string): Buffer {
  return hmac(secret, SESSION_LABEL, hubNonce, Buffer.from(edgeNonce).toString("base64url"), streamId);
}

/** A sealed message as it travels (the shape of StreamRequest and StreamResponse). */
export interface Envelope {
  seq: bigint;
  frame: Uint8Array;
  mac: Uint8Array;
}

function envelopeMac(key: Uint8Array, direction: Direction, streamId: string, seq: bigint, frame: Uint8Array): Buffer {
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigUInt64BE(seq);
  return hmac(key, direction, streamId, seqBytes, frame);
}

/** One direction of one stream: what each envelope's MAC binds besides its number and frame. */
abstract class EnvelopeChannel {
  constructor(
    private readonly key: Uint8Array,
    private readonly direction: Direction,
    private readonly streamId: string,
  ) {}

  /** The MAC of frame number `seq` on this channel. */
  protected mac(seq: bigint, frame: Uint8Array): Buffer {
    return envelopeMac(this.key, this.direction, this.streamId, seq, frame);
  }
}

/** Seals outgoing frames: numbers them 1, 2, 3… and MACs each. */
export class EnvelopeSealer extends EnvelopeChannel {
  private seq = 0n;

  /** Seals the next frame. */
  seal(frame: Uint8Array): Envelope {
    this.seq += 1n;
    return { seq: this.seq, frame, mac: this.mac(this.seq, frame) };
  }
}

/** Thrown when an envelope fails its check; the stream must be closed. */
export class EnvelopeError extends Error {
  override name = "EnvelopeError";
}

/** Opens incoming envelopes, insisting on the next sequence number. */
export class EnvelopeOpener extends EnvelopeChannel {
  private expected = 1n;

  /** Returns the frame bytes, or throws EnvelopeError for a forged, replayed or reordered message. */
  open(envelope: Envelope): Uint8Array {
    if (envelope.seq !== this.expected) {
      throw new EnvelopeError(`message out of order: expected seq ${this.expected}, got ${envelope.seq}`);
    }
    const mac = this.mac(envelope.seq, envelope.frame);
    if (!bytesEqual(mac, envelope.mac)) {
      throw new EnvelopeError(`message ${envelope.seq} failed authentication`);
    }
    this.expected += 1n;
    return envelope.frame;
  }
}
