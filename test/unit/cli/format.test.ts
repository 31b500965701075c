import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatRtt, formatUptime, hostPort, table } from '../../../src/cli/format.js';
import { parseHostPort } from '../../../src/cli/validate.js';

describe('CLI text formatting', () => {
  it('aligns table columns without trailing spaces, or says there is nothing', () => {
    assert.equal(
      table(
        ['A', 'LONGER'],
        [
          ['x', ''],
          ['wide cell', 'y'],
        ],
        'nothing',
      ),
      'A          LONGER\nx\nwide cell  y',
    );
    assert.equal(table(['A'], [], 'no rows'), 'no rows');
  });

  it('formats rtt, uptime and sizes', () => {
    assert.equal(formatRtt(undefined), '-');
    assert.equal(formatRtt(0.44), '0.4ms');
    assert.equal(formatRtt(123.4), '123ms');
    assert.equal(formatRtt(1530), '1.5s');
    assert.equal(formatUptime(0), '0s');
    assert.equal(formatUptime(59), '59s');
    assert.equal(formatUptime(3725), '1h2m');
    assert.equal(formatUptime(86_400 + 60), '1d');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
    assert.equal(hostPort('::1', 80), '[::1]:80');
  });

  it('parses HOST:PORT forms, IPv6 in brackets', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:8080', '--target'), {
      host: '127.0.0.1',
      port: 8080,
    });
    assert.deepEqual(parseHostPort('db.local:5432', '--target'), { host: 'db.local', port: 5432 });
    assert.deepEqual(parseHostPort('[::1]:80', '--target'), { host: '::1', port: 80 });
    for (const bad of ['', ':80', 'host:', 'host:0', 'host:1e3', '[db]:80', '[::1]80', 'a b:80']) {
      assert.throws(() => parseHostPort(bad, '--target'), /--target/, bad);
    }
  });
});
