import { type DestinationStream, type Logger, pino } from 'pino';
import { defaultLogFormat, type LogFormat } from './log-format.js';
import { prettyLine } from './log-pretty.js';
import type { LogRing } from './log-ring.js';

export type { Logger };

/** Paths pino blanks out wherever they appear in a log object: keys, secrets, token text. */
const redactPaths = [
  'key',
  'privateKey',
  'keyPem',
  'caKeyPem',
  'secret',
  'token',
  'password',
  '*.key',
  '*.privateKey',
  '*.keyPem',
  '*.caKeyPem',
  '*.secret',
  '*.token',
  '*.password',
];

export interface LoggerOptions {
  /** Default: pretty when stderr is a terminal, else json. */
  format?: LogFormat;
  /** Also keeps each line (as JSON, after redaction) here, for `debug dump`. */
  recent?: LogRing;
}

/**
 * The root logger writes to stderr, so stdout stays free for what the CLI prints for
 * people; integration tests read the JSON lines as events.
 */
export function createLogger(
  level = process.env.SKIFF_LOG_LEVEL ?? 'info',
  { format = defaultLogFormat(), recent }: LoggerOptions = {},
): Logger {
  const out: DestinationStream =
    format === 'pretty'
      ? { write: (line) => process.stderr.write(prettyLine(line)) }
      : pino.destination({ fd: 2, sync: false });
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    recent ? recording(out, recent) : out,
  );
}

/** `out`, with every line also pushed into `recent`; flush() reaches `out`. */
function recording(out: DestinationStream, recent: LogRing): DestinationStream {
  const flushable = out as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void };
  return {
    write(line: string) {
      recent.push(line);
      out.write(line);
    },
    ...(flushable.flush ? { flush: (cb?: (err?: Error) => void) => flushable.flush!(cb) } : {}),
  } as DestinationStream;
}

/**
 * `logger.child(bindings)` without the keys `logger` already binds: pino would write such
 * a key twice in every line (`"link":"east","link":"east"`), and a reader of the JSON
 * would see only one of them.
 */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  const bound = logger.bindings();
  const fresh = Object.entries(bindings).filter(([key]) => !Object.hasOwn(bound, key));
  return fresh.length === 0 ? logger : logger.child(Object.fromEntries(fresh));
}

/** A logger that drops everything: the default for library code used without wiring. */
export const silentLogger: Logger = pino({ level: 'silent' });
