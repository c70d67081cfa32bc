/**
 * Structured logs (pino). Secrets, tokens and signature headers are redacted
 * by path so a careless `log.info({ headers })` cannot leak them.
 */
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
  'headers["cookie"]',
  'headers["hookly-signature"]',
];

/** Creates the process logger. */
export function createLogger(level: string, name: string): Logger {
  return pino({ name, level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } });
}

export type { Logger };
