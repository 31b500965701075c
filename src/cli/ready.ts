/**
 * What "ready" means for each thing a create command waits for (decision 0016), as waits
 * that resolve with its latest info for the command to print:
 * - a link: up, i.e. both HELLOs exchanged;
 * - a connector: its address is advertised by this site and its target accepts a TCP connection;
 * - a listener: `bound`, which the router says once it accepts and a reachable site serves
 *   its address (else `no-route`, or `retrying` while its port is taken).
 */
import { connect } from 'node:net';
import type { ConnectorInfo, LinkInfo, ListenerInfo, SiteStatus } from '../admin/api.js';
import type { AdminClient } from '../admin/client.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import type { CliContext } from './context.js';
import { hostPort } from './format.js';
import { type Readiness, waitFor } from './wait.js';

/** How long one TCP probe of a connector's target may take before it counts as no answer. */
const PROBE_MS = 1000;

export async function waitForLink(
  ctx: CliContext,
  api: AdminClient,
  created: LinkInfo,
  timeoutMs: number,
): Promise<LinkInfo> {
  let latest = created;
  let first = true;
  await waitFor(ctx, {
    what: `link ${created.name} to come up`,
    timeoutMs,
    hint: `it keeps retrying, see: skiff link status ${created.name}`,
    check: async () => {
      if (!first) {
        const found = present(
          ctx,
          await api.listLinks(),
          (l) => l.name === created.name,
          'link',
          created.name,
        );
        if (found === undefined) return notReported;
        latest = found;
      }
      first = false;
      if (latest.state === 'up') return { done: true };
      return { done: false, detail: latest.lastError ?? latest.state };
    },
  });
  return latest;
}

export async function waitForConnector(
  ctx: CliContext,
  api: AdminClient,
  created: ConnectorInfo,
  timeoutMs: number,
): Promise<ConnectorInfo> {
  let latest = created;
  await waitFor(ctx, {
    what: `${created.address} to be ready`,
    timeoutMs,
    hint: 'it stays exposed, see: skiff status',
    check: async () => {
      const status = await api.status();
      const found = present(
        ctx,
        status.connectors,
        (c) => c.address === created.address,
        'connector',
        created.address,
      );
      if (found === undefined) return notReported;
      latest = found;
      // On kubernetes the target is in the cluster, out of the CLI's reach: the router's
      // advert (it resolves workloads to ready pods) is what is known.
      const probe =
        ctx.platform === 'kubernetes' ? undefined : await tcpProblem(latest.host, latest.port);
      return connectorReadiness(status, latest, probe);
    },
  });
  return latest;
}

export async function waitForListener(
  ctx: CliContext,
  api: AdminClient,
  created: ListenerInfo,
  timeoutMs: number,
): Promise<ListenerInfo> {
  let latest = created;
  let first = true;
  await waitFor(ctx, {
    what: `the listener for ${created.address} to be ready`,
    timeoutMs,
    hint: 'the listener stays, see: skiff listener list',
    check: async () => {
      if (!first) {
        const found = present(
          ctx,
          await api.listListeners(),
          (l) => l.address === created.address,
          'listener',
          created.address,
        );
        if (found === undefined) return notReported;
        latest = found;
      }
      first = false;
      // The router calls a listener bound once it accepts and a reachable site serves its address.
      if (latest.state === 'bound') return { done: true };
      return { done: false, detail: latest.error ?? latest.state };
    },
  });
  return latest;
}

function connectorReadiness(
  status: SiteStatus,
  connector: ConnectorInfo,
  targetProblem: string | undefined,
): Readiness {
  const target = hostPort(connector.host, connector.port);
  if (targetProblem !== undefined) {
    return {
      done: false,
      detail: `target ${target} does not accept connections: ${targetProblem}`,
    };
  }
  if (!servedBy(status, connector.address).includes(status.site.name)) {
    return { done: false, detail: `${connector.address} is not advertised by this site yet` };
  }
  return { done: true };
}

function servedBy(status: SiteStatus, address: string): string[] {
  return status.addresses.find((a) => a.address === address)?.sites ?? [];
}

/**
 * The item a wait is about; gone means someone deleted it meanwhile. On kubernetes it may
 * not be in the status the router writes yet (undefined: not reported).
 */
function present<T>(
  ctx: CliContext,
  items: readonly T[],
  is: (item: T) => boolean,
  kind: string,
  name: string,
): T | undefined {
  const item = items.find(is);
  if (item === undefined && ctx.platform !== 'kubernetes') {
    throw new SkiffError(
      ErrorCode.NOT_FOUND,
      `the ${kind} ${name} was deleted while waiting for it`,
    );
  }
  return item;
}

const notReported: Readiness = {
  done: false,
  detail: 'not in the status the router writes yet',
};

/** Undefined when `host:port` accepts a TCP connection (closed again at once), else why not. */
function tcpProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.unref();
    const done = (problem?: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(`no answer within ${PROBE_MS} ms`), PROBE_MS).unref();
    socket.once('connect', () => done());
    socket.once('error', (err) => done(describe(err)));
  });
}
