/**
 * The admin API on the kubernetes platform (decision 0024): the same AdminClient the verbs
 * use locally, over the namespace's objects through the user's kubeconfig, so a namespace
 * admin can run every verb. Desired state (connectors, listeners) is written as the records
 * the router watches; what only the router can do (sign a token, redeem one with a key made
 * in its pod, end or change a link, revoke a token) is asked of it with a request Secret
 * (kube/admin-request.ts); what it reports is read from its `skiff-status` ConfigMap.
 */
import { randomBytes } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type {
  ConnectorInfo,
  EndpointRequest,
  EndpointUpdate,
  LinkInfo,
  ListenerInfo,
  NetworkStatus,
  SiteStatus,
} from '../admin/api.js';
import type { AdminClient, AdminClientOptions } from '../admin/client.js';
import { toCreatedToken, toLinkInfo, toTokenInfo, type Wire } from '../admin/mapping.js';
import { formatDuration } from '../config/duration.js';
import { fieldsText, readTarget, targetFields } from '../config/targets.js';
import { describe, ErrorCode, SkiffError } from '../errors.js';
import {
  type AdminRequest,
  type Answer,
  readAnswer,
  requestSecret,
} from '../kube/admin-request.js';
import { connectKube, type KubeConnection } from '../kube/connect.js';
import { apiFailure, notFound } from '../kube/errors.js';
import { advertisedAddress } from '../kube/link-address.js';
import { STATUS_CONFIGMAP, STATUS_KEY, type StatusDocument } from '../kube/status-doc.js';
import type { ConnectorRecord, ListenerRecord } from '../site/records.js';
import { KubeStore } from '../state/kube-store.js';
import { tokenInfo } from '../token/issuer.js';
import type { CliContext } from './context.js';
import { writeErr } from './output.js';
import { waitFor } from './wait.js';

/**
 * The router rewrites its status at least once a minute: older than this, it is taken to
 * be gone (the pod not running, or it cannot write).
 */
const STALE_MS = 150_000;
/** Default deadline of a request the router answers at once, and of a redemption (as locally). */
const REQUEST_MS = 30_000;
const LINK_REQUEST_MS = 120_000;
/** Larger is not a status the router wrote (it keeps it under 128 KiB). */
const MAX_STATUS_CHARS = 1024 * 1024;

export function kubeAdmin(ctx: CliContext, opts: AdminClientOptions = {}): AdminClient {
  const kube = connectKube({
    ...(ctx.namespace === undefined ? {} : { namespace: ctx.namespace }),
    ...(ctx.kubeContext === undefined ? {} : { context: ctx.kubeContext }),
  });
  return new KubeAdmin(ctx, kube, opts);
}

class KubeAdmin implements AdminClient {
  private readonly store: KubeStore;
  private readonly ns: string;

  constructor(
    private readonly ctx: CliContext,
    private readonly kube: KubeConnection,
    private readonly opts: AdminClientOptions,
  ) {
    this.store = new KubeStore(kube.core, kube.namespace);
    this.ns = kube.namespace;
  }

  close(): void {}

  // ---- what the router reports ----

  async status(): Promise<SiteStatus> {
    return siteStatus(await this.liveStatus());
  }

  async networkStatus(): Promise<NetworkStatus> {
    const doc = await this.liveStatus();
    const names = new Set<string>([doc.site.name]);
    for (const a of doc.addresses.items) for (const s of a.sites) names.add(s);
    for (const l of doc.links.items) names.add(l.peerSiteName);
    const served = (site: string) =>
      doc.addresses.items.filter((a) => a.sites.includes(site)).map((a) => a.address);
    return {
      // The status names the sites its links and addresses name: the ids of the others,
      // and the links between them, are the router's own to know (debug dump in the pod).
      sites: [...names].sort().map((name) => ({
        id: name === doc.site.name ? doc.site.id : '',
        name,
        reachable: true,
        addresses: served(name),
      })),
      links: doc.links.items
        .filter((l) => l.state === 'up')
        .map((l) => ({
          from: l.direction === 'out' ? doc.site.name : l.peerSiteName,
          to: l.direction === 'out' ? l.peerSiteName : doc.site.name,
          cost: l.cost ?? 1,
          ...(l.rttMs === undefined ? {} : { rttMs: l.rttMs }),
        })),
      addresses: doc.addresses.items.map((a) => ({ address: a.address, sites: [...a.sites] })),
    };
  }

  async listLinks(): Promise<LinkInfo[]> {
    return (await this.status()).links;
  }

  async listConnectors(): Promise<ConnectorInfo[]> {
    return (await this.status()).connectors;
  }

  async listListeners(): Promise<ListenerInfo[]> {
    return (await this.status()).listeners;
  }

  async debugDump(): Promise<string> {
    const doc = await this.readStatus();
    const dump = {
      note: `the status the router in namespace ${this.ns} last wrote; for its full dump run skiff debug dump - in its pod`,
      status: doc,
    };
    return `${JSON.stringify(dump, null, 2)}\n`;
  }

  // ---- desired state: records the router follows ----

  async expose(req: EndpointRequest): Promise<ConnectorInfo> {
    const target = readTarget({
      port: req.port,
      ...(req.host === '' ? {} : { host: req.host }),
      ...(req.workload === undefined ? {} : { workload: req.workload }),
      ...(req.selector === undefined ? {} : { selector: req.selector }),
      ...(req.targetPort === undefined ? {} : { targetPort: req.targetPort }),
    });
    if (target.problem !== undefined) {
      throw new SkiffError(ErrorCode.INVALID_ARGUMENT, `the target: ${target.problem}`);
    }
    const rec: ConnectorRecord = { address: req.address, ...targetFields(target.value) };
    const existing = await this.store.get('connector', req.address);
    if (existing && !req.replace) {
      throw new SkiffError(
        ErrorCode.ALREADY_EXISTS,
        `"${req.address}" is already exposed in namespace ${this.ns}, to ${fieldsText(existing)}; pass --replace to retarget it, or use skiff connector update`,
      );
    }
    await this.store.put('connector', req.address, rec);
    return connectorInfo(rec);
  }

  async updateConnector(req: EndpointUpdate): Promise<ConnectorInfo> {
    const existing = await this.store.get('connector', req.address);
    if (!existing) throw this.notExposed(req.address);
    const port = req.port ?? existing.port;
    const rec: ConnectorRecord =
      req.host === undefined
        ? { ...existing, port }
        : { address: req.address, host: req.host, port };
    await this.store.put('connector', req.address, rec);
    return connectorInfo(rec);
  }

  async unexpose(address: string): Promise<void> {
    if (!(await this.store.delete('connector', address))) throw this.notExposed(address);
  }

  async createListener(req: EndpointRequest): Promise<ListenerInfo> {
    const existing = await this.store.get('listener', req.address);
    if (existing && !req.replace) {
      throw new SkiffError(
        ErrorCode.ALREADY_EXISTS,
        `a listener for "${req.address}" exists in namespace ${this.ns}, on ${existing.host}:${existing.port}; pass --replace to move it, or use skiff listener update`,
      );
    }
    const rec: ListenerRecord = { address: req.address, host: req.host, port: req.port };
    await this.store.put('listener', req.address, rec);
    return listenerInfo(rec);
  }

  async updateListener(req: EndpointUpdate): Promise<ListenerInfo> {
    const existing = await this.store.get('listener', req.address);
    if (!existing) throw this.noListener(req.address);
    const rec: ListenerRecord = {
      address: req.address,
      host: req.host ?? existing.host,
      port: req.port ?? existing.port,
    };
    await this.store.put('listener', req.address, rec);
    return listenerInfo(rec);
  }

  async deleteListener(address: string): Promise<void> {
    if (!(await this.store.delete('listener', address))) throw this.noListener(address);
  }

  // ---- tokens ----

  async listTokens() {
    const now = Date.now();
    return (await this.store.list('token'))
      .map((r) => tokenInfo(r, now))
      .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  async createToken(req: { expiryMs: number; uses: number; linkHost?: string; linkPort?: number }) {
    const { linkHost, linkPort, ...rest } = req;
    const address = await advertisedAddress(this.kube, {
      ...(linkHost === undefined ? {} : { linkHost }),
      ...(linkPort === undefined ? {} : { linkPort }),
    });
    const created = await this.ask(
      { op: 'CreateToken', args: { ...rest, ...(address.urls ? { urls: address.urls } : {}) } },
      'the router to sign the token',
      toCreatedToken,
    );
    if (address.note !== undefined && this.ctx.output === 'text') {
      writeErr(`note: ${address.note}\n`);
    }
    return created;
  }

  revokeToken(id: string) {
    return this.ask(
      { op: 'RevokeToken', args: { id } },
      `the router to revoke token ${id}`,
      toTokenInfo,
    );
  }

  // ---- links: the router redeems, with a key made in its pod ----

  createLink(req: { token: string; name?: string; cost: number }): Promise<LinkInfo> {
    return this.ask(
      { op: 'CreateLink', args: req },
      'the token to be redeemed',
      toLinkInfo,
      this.opts.linkTimeoutMs ?? LINK_REQUEST_MS,
      `the router in namespace ${this.ns} redeems it at the issuer, with a key it makes in its pod`,
    );
  }

  updateLink(req: { name: string; cost: number }): Promise<LinkInfo> {
    return this.ask(
      { op: 'UpdateLink', args: req },
      `the router to update link ${req.name}`,
      toLinkInfo,
    );
  }

  async deleteLink(name: string): Promise<void> {
    await this.ask(
      { op: 'DeleteLink', args: { name } },
      `the router to delete link ${name}`,
      () => undefined,
    );
  }

  // ---- the console: served inside the pod ----

  /**
   * The console binds the pod's loopback and its token lives in the router's memory, so it
   * is started in the pod and reached with a port-forward rather than asked for here
   * (decision 0025).
   */
  async startConsole(): Promise<never> {
    const where = `-n ${this.ns} deploy/skiff-router`;
    throw new SkiffError(
      ErrorCode.INVALID_ARGUMENT,
      `on kubernetes the console runs in the router's pod: kubectl exec ${where} -- skiff console --port 8090, ` +
        `then kubectl port-forward ${where} 8090 and open the URL it printed`,
    );
  }

  // ---- helpers ----

  /** The router's latest status document; NO_ROUTER when it has written none. */
  private async readStatus(): Promise<StatusDocument> {
    let cm: V1ConfigMap;
    try {
      cm = await this.kube.core.readNamespacedConfigMap({
        name: STATUS_CONFIGMAP,
        namespace: this.ns,
      });
    } catch (err) {
      if (notFound(err)) {
        throw new SkiffError(
          ErrorCode.NO_ROUTER,
          `no skiff router has run in namespace ${this.ns} (it has no configmap ${STATUS_CONFIGMAP}); install one with: kubectl apply -n ${this.ns} -k deploy/kubernetes`,
        );
      }
      throw apiFailure(err, 'get', `configmaps "${STATUS_CONFIGMAP}"`, this.ns);
    }
    return parseStatus(cm.data?.[STATUS_KEY], this.ns);
  }

  /**
   * The status of a router that runs: NO_ROUTER when it stopped or stopped writing. `now`:
   * the API server's time when known (a request's creationTimestamp), else this machine's,
   * which may be off from the cluster's.
   */
  private async liveStatus(serverNow?: number): Promise<StatusDocument> {
    const doc = await this.readStatus();
    const ageMs = (serverNow ?? Date.now()) - Date.parse(doc.updatedAt);
    const clock = serverNow === undefined ? "this machine's" : "the API server's";
    const pods = `see: kubectl get pods -n ${this.ns}`;
    if (doc.router.state === 'stopped') {
      throw new SkiffError(
        ErrorCode.NO_ROUTER,
        `the router in namespace ${this.ns} stopped at ${doc.updatedAt}; ${pods}`,
      );
    }
    if (!(ageMs <= STALE_MS)) {
      throw new SkiffError(
        ErrorCode.NO_ROUTER,
        `the router in namespace ${this.ns} last wrote its status ${formatDuration(Math.max(0, ageMs))} ago (at ${doc.updatedAt}, by ${clock} clock), so it is not running or cannot write; ${pods}`,
      );
    }
    return doc;
  }

  /**
   * Asks the router (admin-request.ts): writes the request Secret, waits for its answer
   * with progress, deletes it. The router must be running (its status fresh), as the admin
   * socket needs one locally.
   */
  private async ask<T>(
    req: AdminRequest,
    what: string,
    map: (w: Wire) => T,
    timeoutMs = this.opts.timeoutMs ?? REQUEST_MS,
    /** Shown while it waits (off a terminal: once); quick requests show only a spinner. */
    detail?: string,
  ): Promise<T> {
    const { core } = this.kube;
    const name = `skiff-request-${req.op.toLowerCase()}-${randomBytes(5).toString('hex')}`;
    let created: Date | undefined;
    try {
      created = (
        await core.createNamespacedSecret({
          namespace: this.ns,
          body: requestSecret(name, req, await this.store.owners.referencesFor(name)),
        })
      ).metadata?.creationTimestamp;
    } catch (err) {
      throw apiFailure(err, 'create', 'secrets', this.ns);
    }
    // Checked against the server's clock: a laptop's may be minutes off the cluster's.
    try {
      await this.liveStatus(created === undefined ? undefined : new Date(created).getTime());
    } catch (err) {
      await this.forget(name);
      throw err;
    }
    let answer: Answer | undefined;
    try {
      await waitFor(this.ctx, {
        what,
        timeoutMs,
        hint: `the request stays as secrets "${name}" in namespace ${this.ns} until the router answers; is it running? see: kubectl get pods -n ${this.ns}`,
        check: async () => {
          answer = readAnswer(await this.readRequest(name));
          return answer ? { done: true } : { done: false, ...(detail ? { detail } : {}) };
        },
      });
    } catch (err) {
      if (!(err instanceof SkiffError && err.code === ErrorCode.TIMEOUT)) await this.forget(name);
      throw err;
    }
    await this.forget(name);
    if (!answer!.ok) throw new SkiffError(answer!.error.code, answer!.error.message);
    const value = answer!.value;
    return map(value !== null && typeof value === 'object' ? (value as Wire) : {});
  }

  private async readRequest(name: string) {
    try {
      return await this.kube.core.readNamespacedSecret({ name, namespace: this.ns });
    } catch (err) {
      if (notFound(err)) {
        throw new SkiffError(
          ErrorCode.INTERNAL,
          `the request secrets "${name}" in namespace ${this.ns} was deleted before the router answered it`,
        );
      }
      throw apiFailure(err, 'get', `secrets "${name}"`, this.ns);
    }
  }

  /** Deletes an answered request; one left behind is swept by the router later. */
  private async forget(name: string): Promise<void> {
    try {
      await this.kube.core.deleteNamespacedSecret({ name, namespace: this.ns });
    } catch (err) {
      if (!notFound(err) && this.ctx.output === 'text') {
        writeErr(`note: could not delete secrets "${name}": ${describe(err)}\n`);
      }
    }
  }

  private notExposed(address: string): SkiffError {
    return new SkiffError(
      ErrorCode.NOT_FOUND,
      `"${address}" is not exposed in namespace ${this.ns}; see skiff connector list`,
    );
  }

  private noListener(address: string): SkiffError {
    return new SkiffError(
      ErrorCode.NOT_FOUND,
      `no listener for "${address}" in namespace ${this.ns}; see skiff listener list`,
    );
  }
}

function connectorInfo(rec: ConnectorRecord): ConnectorInfo {
  return { ...rec, host: rec.host ?? '', state: 'ready', activeStreams: 0 };
}

function listenerInfo(rec: ListenerRecord): ListenerInfo {
  return {
    ...rec,
    state: 'no-route',
    error: 'the router has not taken it up yet',
    activeStreams: 0,
  };
}

function parseStatus(text: string | undefined, ns: string): StatusDocument {
  const bad = (why: string) =>
    new SkiffError(
      ErrorCode.STATE_CORRUPT,
      `configmaps "${STATUS_CONFIGMAP}" in namespace ${ns} ${why}; the router rewrites it within a minute (delete it if it stays)`,
    );
  if (text === undefined) throw bad(`has no "${STATUS_KEY}"`);
  if (text.length > MAX_STATUS_CHARS) throw bad('is larger than a router writes');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad('does not hold JSON');
  }
  const d = doc as Partial<StatusDocument> | null;
  const sections = ['links', 'connectors', 'listeners', 'addresses', 'problems'] as const;
  if (
    d === null ||
    typeof d !== 'object' ||
    d.kind !== 'SiteStatus' ||
    typeof d.updatedAt !== 'string' ||
    typeof d.site?.name !== 'string' ||
    typeof d.router?.state !== 'string' ||
    sections.some((s) => !Array.isArray(d[s]?.items))
  ) {
    throw bad('is not a skiff SiteStatus document');
  }
  return d as StatusDocument;
}

/** The status the admin API would give, from the document (what it does not hold is zero). */
function siteStatus(doc: StatusDocument): SiteStatus {
  const cut = (name: string, more: number | undefined) =>
    more === undefined
      ? []
      : [
          {
            kind: 'status',
            name,
            where: `configmaps "${STATUS_CONFIGMAP}"`,
            problem: `${more} ${name} are left out of the status (it is kept under 128 KiB)`,
          },
        ];
  return {
    site: {
      id: doc.site.id,
      name: doc.site.name,
      platform: 'kubernetes',
      linkAccess: doc.site.linkUrl !== undefined,
      ...(doc.site.linkUrl === undefined ? {} : { linkUrl: doc.site.linkUrl }),
    },
    version: doc.router.version,
    pid: doc.router.pid,
    uptimeSeconds: doc.router.uptimeSeconds,
    links: doc.links.items.map((l) => ({
      id: l.id,
      name: l.name,
      direction: l.direction === 'in' ? 'in' : 'out',
      peerSiteId: l.peerSiteId ?? '',
      peerSiteName: l.peerSiteName,
      cost: l.cost ?? 1,
      state: l.state as LinkInfo['state'],
      ...(l.url === undefined ? {} : { url: l.url }),
      ...(l.lastError === undefined ? {} : { lastError: l.lastError }),
      since: l.since,
      ...(l.rttMs === undefined ? {} : { rttMs: l.rttMs }),
      streams: 0,
    })),
    listeners: doc.listeners.items.map((l) => ({
      address: l.address,
      host: l.host,
      port: l.port,
      state: l.state as ListenerInfo['state'],
      ...(l.error === undefined ? {} : { error: l.error }),
      activeStreams: 0,
    })),
    connectors: doc.connectors.items.map((c) => ({
      address: c.address,
      host: c.host,
      port: c.port,
      ...(c.workload === undefined ? {} : { workload: c.workload }),
      ...(c.selector === undefined ? {} : { selector: c.selector }),
      ...(c.targetPort === undefined ? {} : { targetPort: c.targetPort }),
      state: c.state as ConnectorInfo['state'],
      ...(c.error === undefined ? {} : { error: c.error }),
      activeStreams: 0,
    })),
    addresses: doc.addresses.items.map((a) => ({ address: a.address, sites: [...a.sites] })),
    streams: { ...doc.streams },
    buffered: { current: 0, peak: 0 },
    problems: [
      ...doc.problems.items.map((p) => ({ ...p })),
      ...cut('links', doc.links.more),
      ...cut('connectors', doc.connectors.more),
      ...cut('listeners', doc.listeners.more),
      ...cut('addresses', doc.addresses.more),
    ],
  };
}
