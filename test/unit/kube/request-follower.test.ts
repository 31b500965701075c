import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { LinkInfo, SiteStatus } from '../../../src/admin/api.js';
import { ANSWERED_LABEL, requestSecret } from '../../../src/kube/admin-request.js';
import { connectKube, type KubeConnection } from '../../../src/kube/connect.js';
import { Owners } from '../../../src/kube/owners.js';
import { RequestFollower, type RequestTarget } from '../../../src/kube/request-follower.js';
import { STATUS_CONFIGMAP, STATUS_KEY, type StatusDocument } from '../../../src/kube/status-doc.js';
import { StatusWriter } from '../../../src/kube/status-writer.js';
import { silentLogger } from '../../../src/log.js';
import { type KubeApiStandIn, startKubeApiStandIn } from '../../helpers/kube-api.js';
import { pollUntil } from '../../helpers/wait.js';

// The CLI reads the status ConfigMap right after a request's answer (`link status` after
// `link create`): CI once saw the new link missing from it, the status written a tick later.

const T = { timeout: 20_000 };
/** Far longer than the test: only flush() and start() write the status. */
const NEVER_MS = 3_600_000;

function siteStatus(links: LinkInfo[]): SiteStatus {
  return {
    site: { id: 'id1', name: 'team-a', platform: 'kubernetes', linkAccess: true },
    version: '0.1.0',
    pid: 1,
    uptimeSeconds: 1,
    links: [...links],
    listeners: [],
    connectors: [],
    addresses: [],
    streams: { active: 0, total: 0 },
    buffered: { current: 0, peak: 0 },
    problems: [],
  };
}

describe('RequestFollower and StatusWriter (stand-in)', () => {
  let api: KubeApiStandIn;
  let kube: KubeConnection;
  let follower: RequestFollower | undefined;
  let status: StatusWriter | undefined;
  beforeEach(async () => {
    api = await startKubeApiStandIn({ namespace: 'team-a' });
    process.env.KUBECONFIG = api.kubeconfigPath;
    kube = connectKube();
  });
  afterEach(async () => {
    follower?.stop();
    await status?.stop();
    await api.close();
  });

  const written = (): StatusDocument | undefined => {
    const cm = api.objects('configmaps').find((o) => o.metadata.name === STATUS_CONFIGMAP);
    return cm === undefined ? undefined : (JSON.parse(cm.data[STATUS_KEY]) as StatusDocument);
  };

  it('answers a request only once the status shows what it did', T, async () => {
    const links: LinkInfo[] = [];
    status = new StatusWriter({
      core: kube.core,
      namespace: kube.namespace,
      logger: silentLogger,
      owners: new Owners(kube.core, kube.namespace),
      tickMs: NEVER_MS,
      read: async (state) => ({
        status: siteStatus(links),
        network: { sites: [], links: [], addresses: [] },
        watch: { state: 'watching', since: 'now' },
        state,
        now: new Date(),
      }),
    });
    const refuse = async (): Promise<never> => {
      throw new Error('not in this test');
    };
    const target: RequestTarget = {
      createToken: refuse,
      revokeToken: refuse,
      updateLink: refuse,
      deleteLink: refuse,
      createLink: async (req) => {
        const link: LinkInfo = {
          id: 'abc',
          name: req.name ?? 'link',
          direction: 'out',
          peerSiteId: 'id2',
          peerSiteName: 'west',
          cost: req.cost,
          state: 'up',
          since: new Date().toISOString(),
          streams: 0,
        };
        links.push(link);
        return link;
      },
    };
    follower = new RequestFollower({
      kube,
      target,
      logger: silentLogger,
      beforeAnswer: () => status!.flush(),
    });
    status.start();
    await pollUntil('the first status', async () => written());
    await follower.start();

    api.put(
      'secrets',
      requestSecret('skiff-request-1', {
        op: 'CreateLink',
        args: { token: 't', name: 'to-west', cost: 1 },
      }),
    );
    await pollUntil('the answer', async () =>
      api.objects('secrets').some((s) => s.metadata.labels?.[ANSWERED_LABEL] === 'true'),
    );
    assert.deepEqual(
      written()!.links.items.map((l) => [l.name, l.state]),
      [['to-west', 'up']],
    );
  });
});
