import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickPort as freePort } from '../test/helpers/ports.js';
import { waitForPort } from './iperf.js';

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
  const clientPorts = new Map<number, number>();
  const tlsPorts: number[] = [];
  const server = [...common, `cert = ${dir}/server.pem`, `key = ${dir}/server.key`];
  const client = [...common, 'client = yes', `cert = ${dir}/client.pem`, `key = ${dir}/client.key`];
  for (const target of targets) {
    const tlsPort = await freePort();
    const plainPort = await freePort();
    clientPorts.set(target, plainPort);
    tlsPorts.push(tlsPort);
    server.push(`[t${target}]`, `accept = 127.0.0.1:${tlsPort}`, `connect = 127.0.0.1:${target}`);
    server.push(`CAfile = ${dir}/ca.pem`, 'verifyChain = yes', 'requireCert = yes');
    client.push(
      `[t${target}]`,
      `accept = 127.0.0.1:${plainPort}`,
      `connect = 127.0.0.1:${tlsPort}`,
    );
    client.push(`CAfile = ${dir}/ca.pem`, 'verifyChain = yes', 'checkHost = server');
  }
  await writeFile(join(dir, 'server.conf'), `${server.join('\n')}\n`);
  await writeFile(join(dir, 'client.conf'), `${client.join('\n')}\n`);
  const children: ChildProcess[] = ['server', 'client'].map((side) =>
    spawn('stunnel4', [join(dir, `${side}.conf`)], { stdio: 'ignore' }),
  );
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of [...tlsPorts, ...clientPorts.values()]) await waitForPort(port);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    portFor: (target) => clientPorts.get(target)!,
    pids: () => children.map((c) => c.pid).filter((p): p is number => p !== undefined),
    stop,
  };
}
