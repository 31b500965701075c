/**
 * Issue 10 point 8: a port a test picks for a router may be bound by another process before
 * the router binds it (the flake: "port ... already in use" in link-port-abuse). Here
 * another process takes the picked port right after each pick, and every path still ends
 * on a port of its own: a router's link port at its first start, a listener's port, the
 * port a proxied site's router binds behind its proxy. Before, each failed the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Network } from '../helpers/network.js';
import { exposeAndListen, linkSites, type TwoSites, twoSites } from '../helpers/pair.js';
import { PortGrabber } from '../helpers/port-grabber.js';
import { setPickHook } from '../helpers/ports.js';
import { match } from '../helpers/router.js';
import { KiB, startEchoServer } from '../helpers/tcp.js';
import { echoStream } from '../helpers/traffic.js';
import { Cleanup } from '../helpers/wait.js';

describe('ports taken between pick and use', { timeout: 180_000 }, () => {
  const cleanup = new Cleanup();
  let grabber: PortGrabber;
  /** Ports the grabber took right after they were picked. */
  const grabbed: number[] = [];
  /** How many of the next picks the grabber takes. */
  let toGrab = 0;

  before(() => {
    grabber = PortGrabber.start();
    cleanup.add(() => grabber.stop());
    setPickHook(async (port) => {
      if (toGrab === 0) return;
      toGrab--;
      grabbed.push(port);
      await grabber.grab(port);
    });
    cleanup.add(() => setPickHook(undefined));
  });
  after(() => cleanup.run(), { timeout: 30_000 });

  test('routers start on other link ports and link; a listener binds another port; bytes arrive intact', {
    timeout: 90_000,
  }, async () => {
    toGrab = 2; // the first pick of each router
    const sites: TwoSites = await twoSites();
    cleanup.add(() => sites.dispose());
    const { a, b } = sites;
    assert.equal(grabbed.length, 2);
    for (const router of [a, b]) {
      assert.ok(!grabbed.includes(router.linkPort), `${router.name} left the taken port`);
    }
    await linkSites(a, b, sites.workDir); // the token names the port A ended on

    const echo = await startEchoServer({ greeting: 'a' });
    cleanup.add(() => echo.close());
    toGrab = 1;
    const port = await exposeAndListen(a, b, 'echo', echo.port);
    assert.equal(grabbed.length, 3);
    assert.notEqual(port, grabbed[2], 'the listener left the taken port');
    const r = await echoStream(port, { bytes: 256 * KiB, seed: 8, deadlineMs: 15_000 });
    assert.equal(r.outcome, 'complete', `${r.outcome} ${r.error ?? ''}`);
  });

  test('a proxied site: its router binds another port behind the proxy; a cut and restore still work', {
    timeout: 90_000,
  }, async () => {
    const before = grabbed.length;
    toGrab = 1; // the proxied router's bind port (the proxy itself binds port 0)
    const n = await Network.start([{ name: 'p', proxied: true }]);
    cleanup.add(() => n.dispose());
    const p = n.site('p');
    assert.equal(grabbed.length, before + 1);
    assert.notEqual(p.bindPort, grabbed[before], 'the router left the taken port');
    assert.equal(p.linkPort, n.proxy('p').port, 'tokens advertise the proxy');
    assert.equal(n.proxy('p').targetPort, p.bindPort, 'the proxy forwards to the bound port');

    const q = await Network.start(['q']);
    cleanup.add(() => q.dispose());
    const dialler = q.site('q');
    await linkSites(p, dialler, n.workDir);
    const since = dialler.mark();
    await n.proxy('p').cut();
    await dialler.waitForEvent(match('link down', { link: 'p' }), { since });
    const sinceUp = dialler.mark();
    await n.proxy('p').restore();
    await dialler.waitForEvent(match('link up', { link: 'p' }), {
      since: sinceUp,
      timeoutMs: 20_000,
    });
  });
});
