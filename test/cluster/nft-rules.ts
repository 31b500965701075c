import type { ServiceView } from './services.js';

/** The table kube-proxy's rules live in, in each pod's network namespace. */
export const PROXY_TABLE = 'skiff_proxy';

/**
 * The nftables script that makes a pod's namespace do what kube-proxy does for connections
 * it opens: a connection to a ClusterIP:port is DNATed to one of the port's backends,
 * chosen round-robin per connection (`numgen inc`); one to a port with no backend is
 * refused (a TCP reset, a UDP port-unreachable), as kube-proxy rejects it. The script
 * replaces the whole table in one transaction, so a connection never sees half the rules;
 * conntrack keeps established connections where they went.
 */
export function proxyRules(views: readonly ServiceView[]): string {
  const dnat: string[] = [];
  const reject: string[] = [];
  for (const view of views) {
    for (const port of view.ports) {
      const proto = port.protocol === 'TCP' ? 'tcp' : 'udp';
      const match = `ip daddr ${view.clusterIP} ${proto} dport ${port.port}`;
      if (port.backends.length === 0) {
        reject.push(`${match} reject${proto === 'tcp' ? ' with tcp reset' : ''}`);
        continue;
      }
      const map = port.backends.map((b, i) => `${i} : ${b.ip} . ${b.port}`).join(', ');
      dnat.push(`${match} dnat ip to numgen inc mod ${port.backends.length} map { ${map} }`);
    }
  }
  const chain = (name: string, hook: string, rules: string[]): string[] => [
    `  chain ${name} {`,
    `    type ${hook}; policy accept;`,
    ...rules.map((rule) => `    ${rule}`),
    '  }',
  ];
  return [
    // Declaring the table first makes the delete succeed on a namespace that has none yet.
    `table ip ${PROXY_TABLE}`,
    `delete table ip ${PROXY_TABLE}`,
    `table ip ${PROXY_TABLE} {`,
    ...chain('services', 'nat hook output priority -100', dnat),
    ...chain('no_endpoints', 'filter hook output priority 0', reject),
    '}',
    '',
  ].join('\n');
}
