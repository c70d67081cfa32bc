import { describe, expect, it } from "vitest";
import { DeliveryStatus, WebhookStatus } from "@hookly/proto/gen/admin_pb";
import { DELIVERY_STATUSES, deliveryStatusLabel, deliveryStatusSlug, statusLabel, statusSlug, statusTone } from "./names";

describe("state names", () => {
  it("names the partial and filtered webhook states", () => {
    expect([statusSlug(WebhookStatus.PARTIAL), statusLabel(WebhookStatus.PARTIAL)]).toEqual(["partial", "Partial"]);
    expect([statusSlug(WebhookStatus.FILTERED), statusLabel(WebhookStatus.FILTERED)]).toEqual(["filtered", "Filtered"]);
    expect(statusSlug(WebhookStatus.UNSPECIFIED)).toBe("unknown");
  });

  it("gives deliveries the same slugs as webhooks", () => {
    expect(deliveryStatusSlug(DeliveryStatus.DEAD_LETTER)).toBe("dead_letter");
    expect(deliveryStatusSlug(DeliveryStatus.FILTERED)).toBe("filtered");
    expect(deliveryStatusLabel(DeliveryStatus.PENDING)).toBe("Pending");
    expect(DELIVERY_STATUSES).toEqual([
      { value: DeliveryStatus.PENDING, slug: "pending", label: "Pending" },
      { value: DeliveryStatus.DELIVERED, slug: "delivered", label: "Delivered" },
      { value: DeliveryStatus.FAILED, slug: "failed", label: "Failed" },
      { value: DeliveryStatus.DEAD_LETTER, slug: "dead_letter", label: "Dead letter" },
      { value: DeliveryStatus.FILTERED, slug: "filtered", label: "Filtered" },
    ]);
  });

  it("colours delivered green, waiting or partial amber, failed red, filtered grey", () => {
    expect(statusTone("delivered")).toBe("success");
    expect(statusTone("partial")).toBe("warning");
    expect(statusTone("pending")).toBe("warning");
    expect(statusTone("dead_letter")).toBe("destructive");
    expect(statusTone("filtered")).toBe("secondary");
    expect(statusTone("unknown")).toBe("outline");
  });
});
