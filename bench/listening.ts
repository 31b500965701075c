import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { PortTaken, pickPort, withFreePort } from '../test/helpers/ports.js';

/** Inodes of the LISTEN sockets on 127.0.0.1, by port (from /proc/net/tcp). */
function listeningInodes(): Map<number, string> {
  const byPort = new Map<number, string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [address, port] = (fields[1] ?? '').split(':');
    if (address === '0100007F' && fields[3] === '0A') {
      byPort.set(Number.parseInt(port!, 16), fields[9]!);
    }
  }
  return byPort;
}

/** The socket inodes among a process's open file descriptors. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' });
      if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
    }
  } catch {
    // the process is gone (or a descriptor closed meanwhile): the next look tells
  }
  return inodes;
}

/**
 * Starts a server program that binds `count` ports it is given (iperf3, sockperf, stunnel,
 * the node relay: none reports a port of its own choosing) on picked ports, and resolves
 * once the program itself listens on each: a port something else holds would pass for it
 * if a connect were the check. A program that exits first while another process holds one
 * of its ports lost the race for it and is started again on other ports.
 */
export function startOnFreePorts(
  what: string,
  count: number,
  start: (ports: number[]) => ChildProcess,
  timeoutMs = 10_000,
): Promise<{ ports: number[]; child: ChildProcess }> {
  return withFreePort(async (first) => {
    const ports = [first];
    while (ports.length < count) ports.push(await pickPort());
    const child = start(ports);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const listening = listeningInodes();
      if (exited || child.pid === undefined) {
        const held = ports.find((port) => listening.has(port));
        if (held !== undefined) throw new PortTaken(held, `${what} exited: the port is held`);
        throw new Error(`${what} exited before it listened on ${ports.join(', ')}`);
      }
      const own = socketInodes(child.pid);
      if (ports.every((port) => own.has(listening.get(port) ?? ''))) return { ports, child };
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        const held = ports.find((port) => listening.has(port) && !own.has(listening.get(port)!));
        if (held !== undefined) throw new PortTaken(held, `another process holds it, not ${what}`);
        throw new Error(`${what} did not listen on ${ports.join(', ')} within ${timeoutMs} ms`);
      }
      await delay(50);
    }
  });
}
