import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSkiffError } from '../../../src/errors.js';
import { initSite } from '../../../src/site/create.js';
import { CA_SECRET, SERVER_SECRET, SITE_KEY, type SiteRecord } from '../../../src/site/records.js';
import { reissueServerCert, uncoveredHosts } from '../../../src/site/server-cert.js';
import { FileStore } from '../../../src/state/file-store.js';

describe('the link server certificate grown for advertised hosts', { timeout: 30_000 }, () => {
  let dir: string;
  let store: FileStore;
  let site: SiteRecord;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-server-cert-'));
    store = new FileStore(dir);
    await store.init();
    site = await initSite(store, {
      name: 'west',
      linkHost: 'skiff.west.svc',
      linkPort: 8443,
      linkAccess: true,
    });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const keys = async () => ({
    caKeyPem: (await store.getSecret(CA_SECRET))!,
    serverKeyPem: (await store.getSecret(SERVER_SECRET))!,
  });

  it('names the hosts of URLs the certificate does not cover, once each', () => {
    assert.deepEqual(
      uncoveredHosts(site.serverCertPem, [
        'wss://skiff.west.svc:8443/v1/link',
        'wss://127.0.0.1:8443/v1/link',
        'wss://[::1]:8443/v1/link',
        'wss://203.0.113.7:443/v1/link',
        'wss://lb.example.test:8443/v1/link',
        'wss://lb.example.test:9443/v1/link',
      ]),
      ['203.0.113.7', 'lb.example.test'],
    );
  });

  it('reissues it for the same key, naming what it named and the new hosts, and saves it', async () => {
    const updated = await reissueServerCert({
      store,
      site,
      ...(await keys()),
      hosts: ['203.0.113.7', 'lb.example.test'],
    });
    const cert = new X509Certificate(updated.serverCertPem);
    for (const host of ['skiff.west.svc', 'lb.example.test', 'localhost']) {
      assert.equal(cert.checkHost(host), host);
    }
    for (const ip of ['203.0.113.7', '127.0.0.1']) assert.equal(cert.checkIP(ip), ip);
    assert.ok(cert.checkIssued(new X509Certificate(site.caPem)), 'signed by the site CA');
    assert.equal(
      cert.publicKey.export({ format: 'pem', type: 'spki' }),
      createPublicKey((await keys()).serverKeyPem).export({ format: 'pem', type: 'spki' }),
      'the same key',
    );
    assert.equal((await store.get('site', SITE_KEY))?.serverCertPem, updated.serverCertPem);
    assert.deepEqual(uncoveredHosts(updated.serverCertPem, ['wss://lb.example.test:1/']), []);
    site = updated;
  });

  it('refuses to grow past its bound, saving nothing', async () => {
    const before = (await store.get('site', SITE_KEY))?.serverCertPem;
    const many = Array.from({ length: 40 }, (_, i) => `h${i}.example.test`);
    await assert.rejects(
      reissueServerCert({ store, site, ...(await keys()), hosts: many }),
      (err) => isSkiffError(err) && /more than 32/.test(err.message),
    );
    assert.equal((await store.get('site', SITE_KEY))?.serverCertPem, before);
  });
});
