import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  details,
  formatBytes,
  formatRtt,
  formatSince,
  formatUntil,
  formatUptime,
  hostPort,
  table,
} from '../../../src/cli/format.js';
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

  it('formats rtt with three significant digits in the unit that fits, never float noise', () => {
    assert.equal(formatRtt(undefined), '-');
    assert.equal(formatRtt(Number.NaN), '-');
    assert.equal(formatRtt(0), '0µs');
    assert.equal(formatRtt(0.0004), '0µs');
    assert.equal(formatRtt(0.42), '420µs');
    assert.equal(formatRtt(0.1 + 0.2), '300µs'); // 0.30000000000000004
    assert.equal(formatRtt(0.9994), '999µs');
    assert.equal(formatRtt(0.9996), '1.00ms'); // rounds up into the next unit
    assert.equal(formatRtt(2.5), '2.50ms');
    assert.equal(formatRtt(1.005), '1.00ms'); // toFixed's binary rounding, still 3 digits
    assert.equal(formatRtt(9.996), '10.0ms');
    assert.equal(formatRtt(12.345), '12.3ms');
    assert.equal(formatRtt(99.96), '100ms');
    assert.equal(formatRtt(123.4), '123ms');
    assert.equal(formatRtt(999.4), '999ms');
    assert.equal(formatRtt(999.6), '1.00s');
    assert.equal(formatRtt(1530), '1.53s');
    assert.equal(formatRtt(12_345), '12.3s');
  });

  it('formats sizes with one decimal, carrying into the next unit', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1024), '1.0 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(1024 * 1024 - 1), '1.0 MiB'); // not 1024.0 KiB
    assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
    assert.equal(formatBytes(5 * 1024 ** 5), '5120.0 TiB');
  });

  it('formats uptime, ages and expiries', () => {
    assert.equal(formatUptime(0), '0s');
    assert.equal(formatUptime(59.9), '59s');
    assert.equal(formatUptime(3725), '1h2m');
    assert.equal(formatUptime(86_400 + 60), '1d');
    const now = Date.parse('2025-01-01T00:10:00.000Z');
    assert.equal(
      formatSince('2025-01-01T00:06:50.000Z', now),
      '2025-01-01T00:06:50.000Z (3m10s ago)',
    );
    assert.equal(formatUntil('2025-01-01T00:25:00.000Z', now), '2025-01-01T00:25:00.000Z (in 15m)');
    assert.equal(formatUntil('2025-01-01T00:09:00.000Z', now), '2025-01-01T00:09:00.000Z (1m ago)');
    assert.equal(formatSince('not a time', now), 'not a time');
    assert.equal(hostPort('::1', 80), '[::1]:80');
  });

  it('aligns a detail view, continuing multi-line values under the first line', () => {
    assert.equal(
      details([
        ['Name', 'east'],
        ['Last error', 'one\ntwo'],
        ['Empty', ''],
      ]),
      ['Name:        east', 'Last error:  one', '             two', 'Empty:'].join('\n'),
    );
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
