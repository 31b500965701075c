import type { SiteInfo } from '../admin/api.js';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../log.js';
import type { StateStore } from '../state/store.js';
import type { Exposer } from './exposer.js';
import type { Router } from './router.js';
import type { TargetResolver } from './targets.js';

/**
 * What differs between the places a site runs (decision 0008), behind one seam so
 * `site run` (run.ts) has no platform branches: where the state is kept, where the
 * settings come from, where the admin socket goes, and what follows changes others make
 * to the state while the router runs. local-platform.ts and kube/platform.ts build one.
 */
export interface Platform {
  readonly name: SiteInfo['platform'];
  readonly store: StateStore;
  /** Where the state is, for messages: the state dir, or `namespace NS`. */
  readonly where: string;
  /** The admin API's unix socket: in the state dir, or a run dir (an emptyDir in a pod). */
  readonly adminSocket: string;
  /** What the site is created with when the state holds none and `create` allows it. */
  readonly create: SiteDefaults | undefined;
  /** What to tell someone whose state holds no site and who may not create one here. */
  readonly noSiteHint: string;
  /** Makes what must exist before the site is opened (a state or run directory). */
  prepare(): Promise<void>;
  loadSettings(): Promise<Settings>;
  /**
   * Starts following changes to the state made by others and reporting status, once the
   * router runs; resolves when it follows, or rejects when it cannot (FORBIDDEN...).
   */
  follow(router: Router, logger: Logger): Promise<Follower>;
  /** Where connectors' streams go; without it, to their host:port (site/targets.ts). */
  targets?(logger: Logger): TargetResolver;
  /** How apps reach the network's addresses besides listeners; without it, only listeners. */
  exposer?(settings: Settings, logger: Logger): Exposer;
}

/** The defaults a site is created with at `site run` (the local --init, a new namespace). */
export interface SiteDefaults {
  name: string;
  linkHost?: string;
  linkPort?: number;
  linkBindPort?: number;
}

export interface Follower {
  stop(): Promise<void>;
}

/** A platform on which nothing changes behind the router's back (changes come through the admin API). */
export const NOTHING_TO_FOLLOW: Follower = { stop: async () => undefined };
