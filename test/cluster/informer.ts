import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from '@kubernetes/client-node';

export type WatchVerb = 'add' | 'update' | 'delete';

const RESTART_MS = 500;

/**
 * A list-and-watch cache of one resource across all namespaces (client-node's informer),
 * restarted after an error (client-node's stops on one), so a harness component sees every
 * change for as long as it runs. start() resolves after the first list.
 */
export class Watched<T extends KubernetesObject> {
  private readonly informer;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    config: KubeConfig,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    onEvent: (verb: WatchVerb, object: T) => void,
  ) {
    this.informer = makeInformer<T>(config, path, list);
    for (const verb of ['add', 'update', 'delete'] as const) {
      this.informer.on(verb, (object) => {
        if (!this.stopped) onEvent(verb, object);
      });
    }
    this.informer.on('error', () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.informer.start().catch(() => undefined);
      }, RESTART_MS);
    });
  }

  start(): Promise<void> {
    return this.informer.start();
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    void this.informer.stop();
  }
}
