import type { Cluster } from './cluster.js';
import { run, runSync } from './command.js';
import { atExit } from './exit-cleanup.js';

/** The provider side of the wire between two clusters' namespaces, and the other end. */
const PROVIDER_ADDR = '192.0.2.1';
const CONSUMER_ADDR = '192.0.2.2';
const WIRE_PREFIX = 30;
/** The load balancers' addresses (TEST-NET-3), held in the provider cluster's namespace. */
const LB_NET = '203.0.113';
const LB_TABLE = 'skiff_lb';

let created = 0;

/** One Service given an address: where the harness sends what arrives there. */
export interface LoadBalancerTarget {
  namespace: string;
  service: string;
  port: number;
  /** Where connections to the address's port go: e.g. the router pod's link port. */
  backend: { ip: string; port: number };
}

/**
 * The cloud's load balancer between two test clusters: a veth pair joins the provider's
 * and the consumer's cluster namespaces (each routes for its pods once forwarding is on);
 * serve() gives a LoadBalancer Service of the provider an address held on the provider's
 * end of the wire, writes it into the Service's status.loadBalancer (as a cloud's
 * controller does), and DNATs connections to address:port there to a backend, keeping the
 * dialler's source (externalTrafficPolicy: Local). The consumer's pods reach it through
 * their default route; replies come back by the route to the consumer's pod network. The
 * rule names a pod address, so it does not follow the pod if it is replaced. Nothing is
 * added to the test's own namespace; dispose() (also at process exit) deletes the wire,
 * and the rules and routes go with it or with the namespaces.
 */
export class LoadBalancers {
  private readonly veth: string;
  private readonly cancelAtExit: () => void;
  private readonly targets: (LoadBalancerTarget & { ip: string })[] = [];

  private constructor(private readonly provider: Cluster) {
    this.veth = `lb${process.pid % 100000}x${++created}`;
    this.cancelAtExit = atExit(() => {
      try {
        runSync(['ip', '-n', this.provider.network.ns, 'link', 'del', this.veth]);
      } catch {
        // already gone with a namespace
      }
    });
  }

  /** Wires `consumer`'s pods to addresses `provider` serves. The two need distinct podCidrs. */
  static async create(provider: Cluster, consumer: Cluster): Promise<LoadBalancers> {
    if (provider.network.podCidr === consumer.network.podCidr) {
      throw new Error(
        `both clusters use pod network ${provider.network.podCidr}: give one another podCidr`,
      );
    }
    const lb = new LoadBalancers(provider);
    try {
      const p = provider.network.ns;
      const c = consumer.network.ns;
      const peer = `${lb.veth}p`;
      await run([
        'ip',
        '-n',
        p,
        'link',
        'add',
        lb.veth,
        'type',
        'veth',
        'peer',
        'name',
        peer,
        'netns',
        c,
      ]);
      await run(
        ['ip', '-n', p, '-batch', '-'],
        [
          `addr add ${PROVIDER_ADDR}/${WIRE_PREFIX} dev ${lb.veth}`,
          `link set ${lb.veth} up`,
          `route add ${consumer.network.podCidr} via ${CONSUMER_ADDR}`,
          '',
        ].join('\n'),
      );
      await run(
        ['ip', '-n', c, '-batch', '-'],
        [
          `addr add ${CONSUMER_ADDR}/${WIRE_PREFIX} dev ${peer}`,
          `link set ${peer} up`,
          `route add ${LB_NET}.0/24 via ${PROVIDER_ADDR}`,
          '',
        ].join('\n'),
      );
      for (const ns of [p, c]) {
        await run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      }
    } catch (err) {
      lb.dispose();
      throw err;
    }
    return lb;
  }

  /** Gives the Service the next address, sends address:port to the backend; resolves to the address. */
  async serve(target: LoadBalancerTarget): Promise<string> {
    const ip = `${LB_NET}.${10 + this.targets.length}`;
    const p = this.provider.network.ns;
    await run(['ip', '-n', p, 'addr', 'add', `${ip}/32`, 'dev', this.veth]);
    this.targets.push({ ...target, ip });
    await run(['ip', 'netns', 'exec', p, 'nft', '-f', '-'], this.rules());
    const patched = await this.provider.kubectl([
      'patch',
      'service',
      target.service,
      '-n',
      target.namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { loadBalancer: { ingress: [{ ip }] } } }),
    ]);
    if (patched.code !== 0) {
      throw new Error(
        `the load balancer status of ${target.namespace}/${target.service}: ${patched.stderr}`,
      );
    }
    return ip;
  }

  /**
   * How many connections the load balancer has sent on for `ip` (a nat chain sees only a
   * connection's first packet): proof that a link went through it, not around it.
   */
  async connections(ip: string): Promise<number> {
    const table = await run([
      'ip',
      'netns',
      'exec',
      this.provider.network.ns,
      'nft',
      'list',
      'table',
      'ip',
      LB_TABLE,
    ]);
    const line = table.split('\n').find((l) => l.includes(`ip daddr ${ip} `));
    const packets = /counter packets (\d+)/.exec(line ?? '')?.[1];
    if (packets === undefined) throw new Error(`no load balancer rule for ${ip}:\n${table}`);
    return Number(packets);
  }

  /** The provider namespace's DNAT table, whole, replaced in one transaction. */
  private rules(): string {
    const dnat = this.targets.map(
      (t) =>
        `    ip daddr ${t.ip} tcp dport ${t.port} counter dnat ip to ${t.backend.ip}:${t.backend.port}`,
    );
    return [
      `table ip ${LB_TABLE}`,
      `delete table ip ${LB_TABLE}`,
      `table ip ${LB_TABLE} {`,
      '  chain prerouting {',
      '    type nat hook prerouting priority -100; policy accept;',
      ...dnat,
      '  }',
      '}',
      '',
    ].join('\n');
  }

  /** Deletes the wire (the peer and both routes go with it). Synchronous, safe to call twice. */
  dispose(): void {
    this.cancelAtExit();
  }
}
