import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ConnectorInfo, ListenerInfo } from '../../../src/admin/api.js';
import { isSkiffError } from '../../../src/errors.js';
import { connectKube, type KubeConnection } from '../../../src/kube/connect.js';
import { OwnWrites } from '../../../src/kube/own-writes.js';
import { type RecordTarget, RecordWatch } from '../../../src/kube/record-watch.js';
import { silentLogger } from '../../../src/log.js';
import type { Change } from '../../../src/site/connectors.js';
import type { EndpointKind, EndpointRecords } from '../../../src/site/router.js';
import { KubeStore } from '../../../src/state/kube-store.js';
import {
  type KubeApiStandIn,
  startKubeApiStandIn,
  WATCH_LOG_SIZE,
} from '../../helpers/kube-api.js';
import { pollUntil } from '../../helpers/wait.js';
import { recordManifest } from '../../kube/records.js';

// RecordWatch against the stand-in, for what a real API server will not do on demand: end
// a watch, refuse it for a while, and forget the changes it missed (410 Gone). What the
// watch does with records on a real server is in test/kube/router.test.ts.

const T = { timeout: 20_000 };

/** The router's side, as far as the watch sees it: what it applied, in order. */
class Target implements RecordTarget {
  readonly state = { connector: new Map<string, string>(), listener: new Map<string, string>() };
  readonly applied: string[] = [];

  async applyRecord<K extends EndpointKind>(
    kind: K,
    address: string,
    rec: EndpointRecords[K] | undefined,
    stale: () => boolean = () => false,
  ): Promise<Change | undefined> {
    if (stale()) return undefined;
    const map = this.state[kind];
    const before = map.get(address);
    if (rec === undefined) map.delete(address);
    else map.set(address, `${rec.host}:${rec.port}`);
    this.applied.push(`${kind}/${address}=${rec ? `${rec.host}:${rec.port}` : 'none'}`);
    return rec === undefined ? 'deleted' : before === undefined ? 'created' : 'changed';
  }

  async listConnectors(): Promise<ConnectorInfo[]> {
    return [...this.state.connector.keys()].map((address) => ({ address }) as ConnectorInfo);
  }

  async listListeners(): Promise<ListenerInfo[]> {
    return [...this.state.listener.keys()].map((address) => ({ address }) as ListenerInfo);
  }
}

describe('RecordWatch (stand-in)', () => {
  let api: KubeApiStandIn;
  let kube: KubeConnection;
  let store: KubeStore;
  let own: OwnWrites;
  let target: Target;
  let watch: RecordWatch | undefined;
  beforeEach(async () => {
    api = await startKubeApiStandIn({ namespace: 'team-a' });
    process.env.KUBECONFIG = api.kubeconfigPath;
    kube = connectKube();
    own = new OwnWrites();
    store = new KubeStore(kube.core, kube.namespace, { ownWrites: own });
    target = new Target();
  });
  afterEach(async () => {
    await watch?.stop();
    watch = undefined;
    await api.close();
  });

  function start(): Promise<void> {
    watch = new RecordWatch({
      kube,
      store,
      own,
      target,
      logger: silentLogger,
      backoff: { initialMs: 20, maxMs: 100 },
    });
    return watch.start();
  }

  const connector = (address: string, port: number) =>
    recordManifest('connector', address, { address, host: '127.0.0.1', port });

  it('lists again after 410 Gone and applies what changed while it was away', T, async () => {
    api.put('configmaps', connector('kept', 1));
    api.put('configmaps', connector('gone', 2));
    await start();
    assert.deepEqual([...target.state.connector].sort(), [
      ['gone', '127.0.0.1:2'],
      ['kept', '127.0.0.1:1'],
    ]);

    // The watch ends and is refused for a while: the router goes on, and says so (a watch
    // ended within a second of opening is a failure too, which may show first).
    api.deny('configmaps', 'watch');
    api.dropWatches();
    await pollUntil(
      'the watch to report the refusal',
      async () =>
        watch!.health().state === 'retrying' &&
        /refused to watch configmaps in namespace team-a/.test(watch!.health().error ?? ''),
    );
    // More changes than the server keeps for a watch to resume from.
    for (let i = 0; i <= WATCH_LOG_SIZE; i++) api.put('configmaps', connector('kept', 1000 + i));
    api.remove('configmaps', 'skiff-connector-gone');
    api.put('configmaps', connector('new', 3));
    api.allow('configmaps', 'watch');

    // Listed again (the new connector is there), then watching again.
    await pollUntil(
      'the watch to catch up',
      async () => target.state.connector.has('new') && watch!.health().state === 'watching',
    );
    assert.deepEqual([...target.state.connector].sort(), [
      ['kept', `127.0.0.1:${1000 + WATCH_LOG_SIZE}`],
      ['new', '127.0.0.1:3'],
    ]);
    // A fresh list, not a replay: only the last state of "kept" was applied.
    assert.equal(target.applied.filter((a) => a.startsWith('connector/kept=')).length, 2);
    api.put('configmaps', connector('after', 4));
    await pollUntil('the new watch to deliver', async () => target.state.connector.has('after'));
  });

  it("skips the store's own writes and whatever they replaced", T, async () => {
    await start();
    await store.put('connector', 'mine', { address: 'mine', host: '127.0.0.1', port: 1 });
    await store.put('connector', 'mine', { address: 'mine', host: '127.0.0.1', port: 2 });
    await store.delete('connector', 'mine');
    api.put('configmaps', connector('theirs', 5));
    await pollUntil('a change of someone else', async () => target.state.connector.has('theirs'));
    await watch!.settled();
    assert.deepEqual(target.applied, ['connector/theirs=127.0.0.1:5']);
    assert.equal(own.size, 0, 'every own write was seen and forgotten');
  });

  it('refuses to start when the watch is refused', T, async () => {
    api.deny('configmaps', 'watch');
    await assert.rejects(start(), (err) => {
      assert.ok(isSkiffError(err, 'SKIFF_ERR_FORBIDDEN'), String(err));
      assert.match(err.message, /refused to watch configmaps in namespace team-a/);
      return true;
    });
  });
});
