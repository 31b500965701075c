import type { ListenerInfo } from '../../src/admin/api.js';
import { resolveSettings } from '../../src/config/settings.js';
import { ErrorCode, isSkiffError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { initSite } from '../../src/site/create.js';
import { CA_SECRET } from '../../src/site/records.js';
import { Router } from '../../src/site/router.js';
import { MemoryStore } from './memory-store.js';
import { PortTaken, saysPortInUse, withFreePort } from './ports.js';

/**
 * Real routers in the test process (no `site run`): the same Router class, its link server
 * on a picked port of 127.0.0.1 and its state in memory, for tests that read a router's
 * objects directly (its metrics) while real links, listeners and TCP connections run.
 */
export async function startRouter(
  name: string,
  settings: Record<string, number> = {},
): Promise<Router> {
  return withFreePort(async (port) => {
    const store = new MemoryStore();
    const site = await initSite(store, {
      name,
      linkHost: '127.0.0.1',
      linkPort: port,
      linkAccess: true,
    });
    const router = new Router({
      site,
      store,
      settings: resolveSettings(settings),
      logger: silentLogger,
      caKeyPem: (await store.getSecret(CA_SECRET))!,
    });
    try {
      await router.start();
    } catch (err) {
      await router.stop();
      if (isSkiffError(err, ErrorCode.PORT_IN_USE)) throw new PortTaken(port, err.message);
      throw err;
    }
    return router;
  });
}

/** `dialler` links to `issuer` with a token of the issuer's; resolves once the link is up. */
export async function linkRouters(issuer: Router, dialler: Router): Promise<void> {
  const token = await issuer.createToken({ expiryMs: 60_000, uses: 1 });
  const link = await dialler.createLink({ token: token.yaml, cost: 1 });
  if (link.state !== 'up') throw new Error(`link ${link.name} is ${link.state}: ${link.lastError}`);
}

/** A listener for `address` at `router` on a picked port (another if that one was taken). */
export function listenOnFreePort(router: Router, address: string): Promise<ListenerInfo> {
  return withFreePort(async (port) => {
    const info = await router.createListener({ address, host: '127.0.0.1', port });
    if (info.state === 'retrying' && saysPortInUse(info.error ?? '', port)) {
      await router.deleteListener(address);
      throw new PortTaken(port, info.error ?? '');
    }
    return info;
  });
}
