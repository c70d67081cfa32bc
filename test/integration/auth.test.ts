/**
 * The hub stream's authentication: wrong secret, stale timestamp, replayed
 * nonce, forged or reordered messages are all refused.
 */
import { createClient, Code, ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { StreamService } from "@hookly/proto/gen/stream_pb";
import { signStreamOpen } from "@hookly/proto/stream-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_SECRETS, startEdge, startHub, waitUntil, type TestEdge } from "../harness.js";

let edge: TestEdge;
beforeAll(async () => {
  edge = await startEdge();
});
afterAll(async () => {
  await edge.close();
});

/** Opens a stream with the given headers and returns the error it ends with. */
async function openWith(headers: Record<string, string>): Promise<ConnectError | undefined> {
  const client = createClient(StreamService, createConnectTransport({ baseUrl: edge.url, httpVersion: "2" }));
  async function* nothing() {
    await new Promise((r) => setTimeout(r, 2_000));
  }
  try {
    for await (const _ of client.stream(nothing(), { headers, timeoutMs: 3_000 })) {
      return undefined; // a welcome means it was accepted
    }
  } catch (err) {
    return ConnectError.from(err);
  }
  return undefined;
}

describe("hub stream authentication", () => {
  it.each([
    ["wrong secret", () => signStreamOpen("not-the-secret-but-long-enough-0123456789", "h", Date.now()), /does not match/],
    ["stale timestamp", () => signStreamOpen(TEST_SECRETS.HOME_HUB_SECRET, "h", Date.now() - 6 * 60_000), /outside/],
    ["future timestamp", () => signStreamOpen(TEST_SECRETS.HOME_HUB_SECRET, "h", Date.now() + 6 * 60_000), /outside/],
    ["no headers", () => ({}), /missing/],
  ])("refuses %s with Unauthenticated", async (_name, headers, message) => {
    const err = await openWith(headers());
    expect(err?.code).toBe(Code.Unauthenticated);
    expect(err?.rawMessage).toMatch(message);
  });

  it("accepts a good open once and refuses its replay", async () => {
    const headers = signStreamOpen(TEST_SECRETS.HOME_HUB_SECRET, "h", Date.now(), "fixed-nonce-0123456789abcdef");
    expect(await openWith(headers)).toBeUndefined();
    const replay = await openWith(headers);
    expect(replay?.code).toBe(Code.Unauthenticated);
    expect(replay?.rawMessage).toMatch(/nonce/);
  });

  it("a hub with the wrong secret never connects and says why", async () => {
    const hub = await startHub(edge.url, { HOME_HUB_SECRET: "wrong-secret-but-long-enough-0123456789" });
    try {
      await waitUntil(() => hub.state().lastError, 5_000, "an error");
      expect(hub.state().connected).toBe(false);
      expect(hub.state().lastError).toMatch(/does not match/);
      expect(edge.app.relay.hubStatus().hubId).not.toBe("test-hub");
    } finally {
      await hub.stop();
    }
  });

  it("accepts either secret during a rotation", async () => {
    const rotating = await startEdge({ env: { HOME_HUB_SECRET: `new-secret-for-rotation-0123456789abcd,${TEST_SECRETS.HOME_HUB_SECRET}` } });
    const hub = await startHub(rotating.url);
    try {
      await waitUntil(() => hub.state().connected, 5_000, "connection with the old secret");
    } finally {
      await hub.stop();
      await rotating.close();
    }
  });
});
