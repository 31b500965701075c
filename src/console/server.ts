import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import {
  type EndpointPlace,
  knownPath,
  PLAIN_TEXT,
  reply,
  startHttpEndpoint,
} from '../tcp/http-endpoint.js';
import { loadAssets } from './assets.js';
import { ConsoleToken } from './auth.js';
import { LiveViews } from './live.js';
import { CONTENT_SECURITY_POLICY, PAGE } from './page.js';
import { buildView, type ConsoleSource } from './view.js';

/**
 * The router's web console (docs/decisions/0025-console.md): off until the admin API's
 * StartConsole, on its own small HTTP server, bound to 127.0.0.1 unless asked otherwise.
 * Every path needs the access token (auth.ts); without it, 401.
 *   /            the page (with ?token=: sets the cookie and redirects to /)
 *   /console.js  /console.css   its bundled script and style
 *   /state       the view as JSON, once
 *   /events      the view as server-sent events, again on each change
 */
export interface ConsoleServer {
  readonly host: string;
  readonly port: number;
  /** The page's URL with the token. */
  readonly url: string;
  close(): Promise<void>;
}

const PATHS = ['/', '/console.js', '/console.css', '/state', '/events'] as const;
/** A page sends a few small requests and holds one event stream. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A few pages and a curl: the console is for people, not for crowds. */
const MAX_CONNECTIONS = 32;
const MAX_EVENT_STREAMS = 16;

export async function startConsoleServer(
  opts: EndpointPlace & { source: ConsoleSource },
): Promise<ConsoleServer> {
  const { host, source, logger } = opts;
  const assets = await loadAssets();
  const token = new ConsoleToken();
  const viewText = () => JSON.stringify(buildView(source));
  const live = new LiveViews(viewText, MAX_EVENT_STREAMS);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    const url = new URL(req.url ?? '/', 'http://console');
    if (url.pathname === '/' && token.matches(url.searchParams.get('token') ?? undefined)) {
      // Into the cookie, out of the address bar and the history.
      res.setHeader('set-cookie', token.setCookie());
      res.setHeader('location', '/');
      reply(res, 303, PLAIN_TEXT, 'see /\n');
      return;
    }
    // Before anything else: without the token, not even which paths exist is told.
    if (!token.admits(req)) {
      res.setHeader('www-authenticate', 'Bearer realm="skiff console"');
      reply(res, 401, PLAIN_TEXT, 'this console needs its token: skiff console prints its URL\n');
      return;
    }
    const path = knownPath(req, res, PATHS);
    if (path === undefined) return;
    switch (path) {
      case '/':
        return reply(res, 200, 'text/html; charset=utf-8', PAGE);
      case '/console.js':
        return reply(res, 200, 'text/javascript; charset=utf-8', assets.script);
      case '/console.css':
        return reply(res, 200, 'text/css; charset=utf-8', assets.style);
      case '/state':
        return reply(res, 200, 'application/json', `${viewText()}\n`);
      case '/events':
        if (req.method === 'HEAD') return reply(res, 200, 'text/event-stream', '');
        if (!live.add(res)) reply(res, 503, PLAIN_TEXT, 'too many console pages open\n');
        return;
    }
  };

  const endpoint = await startHttpEndpoint({
    host,
    port: opts.port,
    what: 'console',
    portTakenHint: 'pick another with skiff console --port, or stop what holds it',
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxConnections: MAX_CONNECTIONS,
    logger,
    handle,
  });
  return {
    host,
    port: endpoint.port,
    url: `http://${urlHost(host)}:${endpoint.port}/?token=${token.value}`,
    close: async () => {
      live.close();
      await endpoint.close();
    },
  };
}

/** Where a browser on this machine reaches a server bound to `host`. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}
