import { existsSync, readFileSync } from 'node:fs';

/** One stream an echo pod (echo-main.ts) logged as ended: the bytes and hash of what came in. */
export interface EchoSession {
  bytes: number;
  sha256: string;
}

/** The sessions in an echo pod's log file (PodRunner.logFile()); none before it exists. */
export function echoSessions(logFile: string): EchoSession[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as EchoSession & { event: string })
    .filter((e) => e.event === 'session');
}

/** What tcp-client-main.ts prints per connection: the pod that answered and both hashes, or the error. */
export interface ClientOutcome {
  pod?: string;
  sent?: number;
  sentSha256?: string;
  received?: number;
  receivedSha256?: string;
  error?: string;
}
