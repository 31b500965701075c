import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOnFreePorts } from './listening.js';

/**
 * The C baseline: a stunnel4 mutual-TLS pair, as a user would run it between two sites.
 * A client stunnel accepts plain TCP and opens TLS 1.3 (AES-128-GCM first, as skiff's link)
 * to a server stunnel, which requires a client certificate from the same CA and connects
 * to the target. One service per target, all on 127.0.0.1.
 */
export interface StunnelPair {
  /** The client stunnel's plain port for each target port. */
  portFor(target: number): number;
  pids(): number[];
  stop(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, a server and a client certificate (P-256) in dir. */
export function makeCerts(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, [
    'req',
    '-x509',
    '-days',
    '2',
    '-subj',
    '/CN=bench-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  ]);
  for (const name of ['server', 'client']) {
    openssl(dir, [
      'req',
      ...ec,
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.pem`,
    ]);
  }
}

const common = [
  'foreground = yes',
  'pid =',
  'debug = 3',
  'sslVersionMin = TLSv1.3',
  'ciphersuites = TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384',
  'socket = l:TCP_NODELAY=1',
  'socket = r:TCP_NODELAY=1',
];

export async function startStunnelPair(targets: number[]): Promise<StunnelPair> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-stunnel-'));
  makeCerts(dir);
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  /** One stunnel4 with a service per target, accepting on picked ports. */
  const side = async (name: string, settings: string[], service: (i: number) => string[]) => {
    const { ports, child } = await startOnFreePorts(`stunnel4 (${name})`, targets.length, (ps) => {
      const conf = [...common, ...settings];
      for (const [i, port] of ps.entries()) {
        conf.push(`[t${targets[i]}]`, `accept = 127.0.0.1:${port}`, ...service(i));
        conf.push(`CAfile = ${dir}/ca.pem`, 'verifyChain = yes');
      }
      const file = join(dir, `${name}.conf`);
      writeFileSync(file, `${conf.join('\n')}\n`);
      return spawn('stunnel4', [file], { stdio: 'ignore' });
    });
    children.push(child);
    return ports;
  };
  try {
    const tlsPorts = await side(
      'server',
      [`cert = ${dir}/server.pem`, `key = ${dir}/server.key`],
      (i) => [`connect = 127.0.0.1:${targets[i]}`, 'requireCert = yes'],
    );
    const plainPorts = await side(
      'client',
      ['client = yes', `cert = ${dir}/client.pem`, `key = ${dir}/client.key`],
      (i) => [`connect = 127.0.0.1:${tlsPorts[i]}`, 'checkHost = server'],
    );
    const clientPorts = new Map(targets.map((target, i) => [target, plainPorts[i]!]));
    return {
      portFor: (target) => clientPorts.get(target)!,
      pids: () => children.map((c) => c.pid).filter((p): p is number => p !== undefined),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
