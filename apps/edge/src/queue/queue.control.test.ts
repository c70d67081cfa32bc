/**
 * The head-of-line rule, exhaustively: every action against every status,
 * head or not, waiting or not.
 */
import { describe, expect, it } from "vitest";
import type { DeliveryStatusName } from "../webhook/webhook.store.js";
import { DELIVERY_ACTIONS, checkAction, settledMessage } from "./queue.control.js";

const STATUSES: DeliveryStatusName[] = ["pending", "delivered", "failed", "dead_letter", "filtered"];

describe("checkAction", () => {
  it("applies each action exactly where it is meant to, over every combination", () => {
    for (const action of DELIVERY_ACTIONS) {
      for (const status of STATUSES) {
        for (const held of [true, false]) {
          for (const head of held ? [false] : [true, false]) {
            for (const waiting of [true, false]) {
              const got = checkAction(action, { status, head, waiting, held });
              const want =
                status === "pending" &&
                (held
                  ? action === "release" || action === "cancel"
                  : (action === "retry_now" && waiting) || (action === "skip" && head) || (action === "cancel" && !head));
              expect(got.ok, `${action} on ${status}, head ${head}, waiting ${waiting}, held ${held}`).toBe(want);
              if (!got.ok) expect(got.reason.length).toBeGreaterThan(10);
            }
          }
        }
      }
    }
  });

  it("says why, pointing to the action that does apply", () => {
    const behind = { status: "pending" as const, head: false, waiting: false };
    expect(checkAction("skip", behind)).toEqual({ ok: false, reason: "it is not at the head of its queue: cancel it instead" });
    expect(checkAction("cancel", { ...behind, head: true })).toEqual({ ok: false, reason: "it is at the head of its queue: skip it instead" });
    expect(checkAction("retry_now", { status: "dead_letter", head: true, waiting: false })).toEqual({
      ok: false,
      reason: "it is dead letter, not pending: nothing to retry now (replay it instead)",
    });
    expect(settledMessage("skip", "github:alice")).toBe("skipped by github:alice");
    expect(settledMessage("cancel", "admin")).toBe("cancelled by admin");
  });
});
