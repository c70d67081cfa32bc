/**
 * Structured logs (pino). Secrets, tokens and signature headers are redacted
 * by path so a careless `log.info({ headers })` cannot leak them. Lines go to
 * stdout through a destination that drops what stdout refuses (a full disk, a
 * closed pipe) instead of ending the process.
 */
import { createLogDestination } from "@hookly/proto/log-destination";
import { pino, type Logger } from "pino";

/** Header and field names that never appear in logs. */
export const REDACTED_PATHS = [
  "*.authorization",
  "*.cookie",
  "*.secret",
  "*.token",
  "*.signature_secret",
  "*.signatureSecret",
  'headers["stripe-signature"]',
  'headers["x-hub-signature-256"]',
  'headers["x-hub-signature"]',
  'headers["x-telegram-bot-api-secret-token"]',
  'headers["webhook-signature"]',
  'headers["authorization"]',
  'headers["proxy-authorization"]',
  'headers["cookie"]',
  'headers["hookly-signature"]',
];

/**
 * Creates the process logger, writing to stdout. Lines stdout refuses are
 * dropped; once it takes lines again, a warning says how many were lost.
 */
export function createLogger(level: string, name: string): Logger {
  const destination = createLogDestination({
    onRestored: (outage) => log.warn(outage, "stdout refused log lines; they were dropped"),
  });
  const log = pino({ name, level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } }, destination);
  return log;
}

export type { Logger };
