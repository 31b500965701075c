import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DemoUsageError, parseDemoArgs } from '../../../scripts/demo-args.js';
import { kubeDemoProblems } from '../../../scripts/demo-kube-checks.js';

describe('npm run demo arguments', () => {
  it('takes --kubernetes and --keep in any order, and nothing else', () => {
    assert.deepEqual(parseDemoArgs([]), { kubernetes: false, keep: false });
    assert.deepEqual(parseDemoArgs(['--keep']), { kubernetes: false, keep: true });
    assert.deepEqual(parseDemoArgs(['--keep', '--kubernetes']), { kubernetes: true, keep: true });
    assert.throws(
      () => parseDemoArgs(['--kubernetse']),
      (err: unknown) =>
        err instanceof DemoUsageError &&
        /unknown argument: --kubernetse\nusage: npm run demo -- \[--kubernetes\] \[--keep\]/.test(
          err.message,
        ),
    );
  });
});

describe('what the kubernetes demo needs from the machine', () => {
  const ready = {
    uid: 0,
    commands: new Set(['ip', 'nft']),
    cacheDir: '/root/.cache/skiff-controlplane/v1',
    controlPlaneBuilt: true,
    goMissing: undefined,
  };

  it('nothing missing: no problems', () => {
    assert.deepEqual(kubeDemoProblems(ready), []);
  });

  it('says each missing thing with what to do about it', () => {
    const problems = kubeDemoProblems({
      uid: 1000,
      commands: new Set(['ip']),
      cacheDir: ready.cacheDir,
      controlPlaneBuilt: false,
      goMissing: 'no go command on PATH',
    });
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /run it as root/);
    assert.match(problems[1]!, /^nft not found: install iproute2 and nftables/);
    assert.match(problems[2]!, /not built in \/root\/\.cache\/skiff-controlplane\/v1/);
    assert.match(problems[2]!, /`npm run controlplane` \(Go 1\.\d+ or later.*about 16 min/);
    assert.match(problems[2]!, /no go command on PATH: install Go/);
  });

  it('binaries built: Go is not needed', () => {
    const problems = kubeDemoProblems({ ...ready, goMissing: 'no go command on PATH' });
    assert.deepEqual(problems, []);
  });
});
