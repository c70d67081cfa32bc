import { describe, expect, it } from "vitest";
import { actorLabel, auditSummary } from "./audit";

describe("audit actors", () => {
  it.each([
    ["admin", "admin"],
    ["github:mona", "mona (GitHub)"],
    ["token:tok_abc", "API token tok_abc"],
    ["telegram:12345", "Telegram chat 12345"],
    ["unknown", "unknown"],
    ["cli:someone", "cli:someone"],
  ])("%s reads as %s", (actor, label) => {
    expect(actorLabel(actor)).toBe(label);
  });
});

describe("audit entries in words", () => {
  const names = (id: string) => (id === "dst_a" ? "home NAS" : id);

  it("a replay: the copy it made, where to, and whether it was re-signed", () => {
    expect(auditSummary({ action: "replay", destinationId: "dst_a", detailJson: '{"replayId":"wh_2","resigned":true}' }, names)).toEqual({
      action: "Replayed",
      destination: "home NAS",
      replayId: "wh_2",
      notes: ["re-signed"],
    });
  });

  it("a skip from a bulk action, with an attempt under way", () => {
    expect(auditSummary({ action: "skip", destinationId: "dst_x", detailJson: '{"bulk":true,"matched":12,"inFlight":true}' }, names)).toEqual({
      action: "Skipped",
      destination: "dst_x",
      notes: ["an attempt was under way", "bulk action on 12 webhooks"],
    });
  });

  it("a release of a held delivery, from a bulk action", () => {
    expect(auditSummary({ action: "release", destinationId: "dst_a", detailJson: '{"bulk":true,"matched":3}' }, names)).toEqual({
      action: "Released",
      destination: "home NAS",
      notes: ["bulk action on 3 webhooks"],
    });
  });

  it("an unknown action as it is, and a detail that is not JSON left out", () => {
    expect(auditSummary({ action: "mute", destinationId: "", detailJson: "{oops" })).toEqual({ action: "mute", notes: [] });
    expect(auditSummary({ action: "retry_now", destinationId: "", detailJson: "[1,2]" })).toEqual({ action: "Retried now", notes: [] });
  });
});
