import { type Logger, pino } from 'pino';

export type { Logger };

/** Paths pino blanks out wherever they appear in a log object. */
const redactPaths = [
  'key',
  'privateKey',
  'secret',
  'token',
  '*.key',
  '*.privateKey',
  '*.secret',
  '*.token',
];

/**
 * The root logger writes JSON lines to stderr, so stdout stays free for what the CLI
 * prints for people; integration tests read these lines as events.
 */
export function createLogger(level = process.env.SKIFF_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything: the default for library code used without wiring. */
export const silentLogger: Logger = pino({ level: 'silent' });
