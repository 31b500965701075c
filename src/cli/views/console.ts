import type { ConsoleInfo } from '../../admin/api.js';

/** The text of `console`: the URL alone on its line, to copy or to pass to a browser. */
export function consoleText(info: ConsoleInfo): string {
  const what = info.started ? 'console started' : 'console running';
  return `${what} on ${info.host} port ${info.port}; open (the token in it is the key):\n${info.url}`;
}
