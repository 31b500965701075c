/**
 * How log lines are written, apart from log.ts so the CLI can offer the choice without
 * loading pino: `json`, one pino JSON object per line (for machines), or `pretty`
 * (log-pretty.ts, for people).
 */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** What a log line looks like when nobody chose: a terminal gets pretty lines. */
export function defaultLogFormat(): LogFormat {
  return process.stderr.isTTY ? 'pretty' : 'json';
}
