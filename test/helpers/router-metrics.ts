import { PortTaken, saysPortInUse, withFreePort } from './ports.js';
import { type RouterOptions, RouterProcess } from './router.js';
import { httpGet } from './tcp.js';

/**
 * A started `site run` whose metrics endpoint is on a picked port (another if that one was
 * taken), turned on by `--metrics-port` or by the `metricsPort` setting.
 */
export async function routerWithMetrics(
  name: string,
  how: 'flag' | 'setting' = 'flag',
  options: Partial<RouterOptions> = {},
): Promise<{ router: RouterProcess; port: number }> {
  return withFreePort(async (port) => {
    const router = await RouterProcess.create({
      name,
      ...options,
      ...(how === 'flag'
        ? { runArgs: [...(options.runArgs ?? []), '--metrics-port', String(port)] }
        : { settings: { ...options.settings, metricsPort: port } }),
    });
    try {
      await router.start();
    } catch (err) {
      const taken = saysPortInUse(router.tail(), port);
      await router.dispose();
      throw taken ? new PortTaken(port, (err as Error).message) : err;
    }
    return { router, port };
  });
}

/** GET http://127.0.0.1:port/metrics: the exposition text. */
export async function fetchMetrics(port: number): Promise<string> {
  const res = await httpGet(port, '/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics on port ${port}: ${res.status}`);
  return res.body;
}
