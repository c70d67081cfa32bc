/**
 * One endpoint's deliveries on the hub: forwarded strictly one after another,
 * in the order the edge sent them. After a transient failure the lane blocks
 * its epoch: every later delivery of that epoch is answered SKIPPED without
 * being tried, until the edge re-sends from the failed webhook under a newer
 * epoch. So k+1 can never reach the LAN service before k is settled.
 *
 * A job the session refused (no room for its body, HUB_MAX_BODY_BYTES) is
 * answered SKIPPED when its turn comes and blocks its epoch the same way;
 * the edge, on that SKIPPED, restarts the lane from it under a new epoch.
 *
 * A destination whose policy is concurrent sends `concurrency` > 1 with each
 * delivery, each under an epoch of its own: the lane then forwards up to that
 * many at once, taking them in the order they came.
 */
import { DeliveryOutcome } from "@hookly/proto/gen/stream_pb";
import { blocksQueue, judgeOutcome } from "@hookly/proto/outcome";
import type { BodyStream, ForwardResult } from "./forward/forward.js";

/** A delivery waiting in a lane; its body may still be arriving. */
export interface LaneJob {
  deliveryId: string;
  webhookId: string;
  epoch: bigint;
  /** Resolves with the complete body (or, for a large one, its stream), rejects when the stream dies mid-transfer. */
  body: Promise<Uint8Array | BodyStream>;
  /** Forwards the job. */
  run: (body: Uint8Array | BodyStream) => Promise<ForwardResult>;
  /** Called once the job is done with, run or not (its body's room is given back; a streamed body drops what is still to come). */
  done?: () => void;
  /** Whether the session refused the job's body (asked when its turn comes): it is skipped and blocks its epoch. */
  refused?: () => boolean;
  /** Jobs of this lane that may run at once (the destination's policy); default 1. */
  concurrency?: number;
}

/** What a lane reports for each job. */
export type LaneReport = (job: LaneJob, result: ForwardResult | "skipped") => void;

/** Maps the forwarder's outcome names to the wire enum. */
export const OUTCOME_TO_WIRE: Record<ForwardResult["outcome"], DeliveryOutcome> = {
  response: DeliveryOutcome.RESPONSE,
  timeout: DeliveryOutcome.TIMEOUT,
  connection_error: DeliveryOutcome.CONNECTION_ERROR,
  destination_not_allowed: DeliveryOutcome.DESTINATION_NOT_ALLOWED,
  invalid: DeliveryOutcome.INVALID,
};

/** A sequential delivery lane. */
export class Lane {
  private readonly queue: LaneJob[] = [];
  private blockedEpoch = -1n;
  /** Jobs of this epoch and older that arrive from now on are refused (one of that epoch already was). */
  private refusedEpoch = -1n;
  /** Jobs running now (at most `limit`). */
  private active = 0;
  /** How many may run at once: the latest job's concurrency. */
  private limit = 1;
  private stopped = false;
  private finishing = false;
  private idle: (() => void)[] = [];

  constructor(private readonly report: LaneReport) {}

  /** Adds a job; it runs after every job added before it. */
  push(job: LaneJob): void {
    if (this.stopped || this.finishing) return;
    this.limit = Math.max(1, Math.min(64, job.concurrency ?? 1));
    this.queue.push(job);
    // note: a worker takes its first job synchronously, so each turn of this loop shortens the queue.
    while (this.active < this.limit && this.queue.length > 0) void this.drain();
  }

  /**
   * A job of `epoch` was refused: it and every later one of that epoch will be
   * skipped, so the session need not take in their bodies either.
   */
  refuse(epoch: bigint): void {
    if (epoch > this.refusedEpoch) this.refusedEpoch = epoch;
  }

  /** Whether a job of `epoch` arriving now is refused (see {@link refuse}). */
  refusing(epoch: bigint): boolean {
    return epoch <= this.refusedEpoch || epoch <= this.blockedEpoch;
  }

  /** Drops queued jobs (the stream ended; the edge will re-send them). */
  stop(): void {
    this.stopped = true;
    this.dropQueued();
  }

  private dropQueued(): void {
    for (const job of this.queue.splice(0)) job.done?.();
  }

  /**
   * Takes no more jobs and drops the waiting ones (the edge re-sends them
   * after the next connect); the job running now finishes and is reported.
   * Resolves once nothing runs.
   */
  finish(): Promise<void> {
    this.finishing = true;
    this.dropQueued();
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Jobs waiting or running. */
  get size(): number {
    return this.queue.length + this.active;
  }

  /** One worker: takes jobs in order until none is left (several run at once when the lane is concurrent). */
  private async drain(): Promise<void> {
    this.active += 1;
    try {
      while (!this.stopped) {
        const job = this.queue.shift();
        if (!job) return;
        if (job.epoch <= this.blockedEpoch || job.refused?.()) {
          if (job.epoch > this.blockedEpoch) this.blockedEpoch = job.epoch;
          job.done?.();
          this.report(job, "skipped");
          continue;
        }
        let body: Uint8Array | BodyStream;
        try {
          body = await job.body;
        } catch {
          job.done?.();
          return; // note: the stream died mid-transfer; the edge re-sends after reconnecting.
        }
        if (this.stopped) {
          job.done?.();
          return;
        }
        let result: ForwardResult;
        try {
          result = await job.run(body);
        } finally {
          job.done?.();
        }
        if (this.stopped) return;
        const code = result.outcome === "response" ? result.statusCode : 0;
        if (blocksQueue(judgeOutcome(OUTCOME_TO_WIRE[result.outcome], code))) this.blockedEpoch = job.epoch;
        this.report(job, result);
      }
    } finally {
      this.active -= 1;
      if (this.active === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
