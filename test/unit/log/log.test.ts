import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { childLogger } from '../../../src/log.js';
import { prettyLine } from '../../../src/log-pretty.js';
import { withTimeout } from '../../helpers/wait.js';

/** A pino logger writing into an array, as createLogger's does into stderr. */
function captured(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ base: null }, { write: (line: string) => lines.push(line) }), lines };
}

/** Runs `script` (ESM, with log.js and log-ring.js imported) in a child; resolves with its stderr. */
async function stderrOf(script: string): Promise<string> {
  const log = new URL('../../../src/log.js', import.meta.url).href;
  const ring = new URL('../../../src/log-ring.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createLogger } from ${JSON.stringify(log)};\nimport { LogRing } from ${JSON.stringify(ring)};\n${script}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await withTimeout(
    new Promise((resolve) => child.once('close', resolve)),
    10_000,
    'the logging child to exit',
  );
  assert.equal(code, 0, stderr);
  return stderr;
}

describe('log', () => {
  it('childLogger binds a key once when the parent binds it already', () => {
    const { logger, lines } = captured();
    const link = logger.child({ link: 'east' });
    childLogger(link, { link: 'east', stream: 3 }).info('x');
    childLogger(logger, { link: 'west' }).info('y');
    assert.equal(childLogger(link, { link: 'east' }), link);
    assert.deepStrictEqual(
      lines.map((l) => l.replace(/"time":\d+,/, '')),
      [
        '{"level":30,"link":"east","stream":3,"msg":"x"}\n',
        '{"level":30,"link":"west","msg":"y"}\n',
      ],
    );
  });

  it('redacts secret-bearing keys in what it writes and what it keeps for a dump', async () => {
    const stderr = await stderrOf(`
      const ring = new LogRing(10);
      const logger = createLogger('info', { format: 'json', recent: ring });
      logger.info({ secret: 's1', token: 's2', keyPem: 's3', caKeyPem: 's4', password: 's5',
        grant: { privateKey: 's6', secret: 's7' }, link: 'east' }, 'with secrets');
      // The JSON destination writes asynchronously: the ring line must come after it.
      logger.flush(() => process.stderr.write('RING ' + JSON.stringify(ring.lines()) + '\\n'));
    `);
    // Two writers to stderr (pino's destination and the test's write): either may come first.
    const lines = stderr.trim().split('\n');
    const ringLine = lines.find((l) => l.startsWith('RING '));
    const logLine = lines.find((l) => !l.startsWith('RING '));
    assert.ok(logLine && ringLine, stderr);
    const kept = JSON.parse(ringLine.slice(5)) as string[];
    assert.deepStrictEqual(kept, [logLine]);
    assert.doesNotMatch(stderr, /\bs[1-7]\b/);
    const entry = JSON.parse(logLine) as Record<string, unknown>;
    assert.equal(entry.secret, '[redacted]');
    assert.deepStrictEqual(entry.grant, { privateKey: '[redacted]', secret: '[redacted]' });
    assert.equal(entry.link, 'east');
  });

  it('writes pretty lines when asked, and keeps JSON for the dump', async () => {
    const stderr = await stderrOf(`
      const ring = new LogRing(10);
      const logger = createLogger('info', { format: 'pretty', recent: ring });
      logger.info({ link: 'east', peer: 'east' }, 'link up');
      process.stderr.write('RING ' + JSON.stringify(ring.lines()) + '\\n');
    `);
    const [pretty, ringLine] = stderr.trim().split('\n');
    assert.match(pretty!, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}link up {2}link=east peer=east$/);
    const kept = JSON.parse(ringLine!.slice(5)) as string[];
    assert.equal((JSON.parse(kept[0]!) as { msg: string }).msg, 'link up');
  });
});

describe('prettyLine', () => {
  const time = '2026-01-02T03:04:05.678Z';
  const clock = (() => {
    const d = new Date(time);
    const two = (n: number) => String(n).padStart(2, '0');
    return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.678`;
  })();

  it('prints time, level and message, then the fields; no pid', () => {
    const line = JSON.stringify({
      level: 40,
      time,
      pid: 9,
      msg: 'link down',
      link: 'east',
      error: 'connection refused',
      streams: 2,
      ok: false,
    });
    assert.equal(
      prettyLine(line),
      `${clock} WARN  link down  link=east error="connection refused" streams=2 ok=false\n`,
    );
  });

  it('quotes what would be ambiguous and shows objects as JSON', () => {
    const line = JSON.stringify({
      level: 30,
      time,
      msg: 'routes changed',
      reachable: ['a', 'b'],
      addresses: {},
      empty: '',
      eq: 'a=b',
    });
    assert.equal(
      prettyLine(line),
      `${clock} INFO  routes changed  reachable=["a","b"] addresses={} empty="" eq="a=b"\n`,
    );
  });

  it('puts multi-line values (a stack) on indented lines below', () => {
    const line = JSON.stringify({
      level: 60,
      time,
      msg: 'uncaught exception',
      err: 'boom',
      stack: 'Error: boom\n    at f (x.js:1:1)',
    });
    assert.equal(
      prettyLine(line),
      `${clock} FATAL uncaught exception  err=boom\n    stack:\n      Error: boom\n          at f (x.js:1:1)\n`,
    );
  });

  it('passes through a line that is not a JSON object', () => {
    assert.equal(prettyLine('(node:1) Warning: something\n'), '(node:1) Warning: something\n');
    assert.equal(prettyLine('[1,2]'), '[1,2]\n');
  });
});
