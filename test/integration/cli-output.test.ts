/**
 * Issue 10 point 3: what scripts read. Every command's `-o json` and `-o yaml` document is
 * checked against docs/cli-output.schema.json (envelope, kind, every field documented, none
 * missing), lists stay lists, one item has its list shape, and failures are one error
 * document on stderr with the documented exit code. Real routers, the real CLI.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ErrorCode } from '../../src/errors.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { loadCliOutputSchema, type SchemaFile, schemaProblems } from '../helpers/json-schema.js';
import { createListener, listenerOnFreePort } from '../helpers/listeners.js';
import { useNetwork } from '../helpers/network.js';
import { awaitLinkUp, waitForAddress } from '../helpers/pair.js';
import type { RouterProcess } from '../helpers/router.js';
import { type EchoServer, startEchoServer } from '../helpers/tcp.js';

type Format = 'json' | 'yaml';
const FORMATS: readonly Format[] = ['json', 'yaml'];
const API_VERSION = 'skiff.dev/v1';

interface Doc {
  kind: string;
  action?: string;
  /** The document without apiVersion, kind and action. */
  body: Record<string, unknown>;
}

const schema: SchemaFile = loadCliOutputSchema();

function parseAs(format: Format, text: string, what: string): unknown {
  try {
    return format === 'json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${what} printed no ${format}: ${JSON.stringify(text)}`, { cause: err });
  }
}

/** Every rttMs anywhere in `value`, which must be rounded to microseconds. */
function checkRtts(value: unknown, path: string): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkRtts(v, `${path}[${i}]`);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, field] of Object.entries(value)) {
      if (key === 'rttMs') {
        assert.equal(Math.round((field as number) * 1000) / 1000, field, `${path}.rttMs noise`);
      }
      checkRtts(field, `${path}.${key}`);
    }
  }
}

/** Asserts the envelope, the schema of the kind it names, and rounded RTTs. */
function checkDocument(raw: unknown, what: string): Doc {
  assert.ok(typeof raw === 'object' && raw !== null && !Array.isArray(raw), `${what}: an object`);
  const { apiVersion, kind, action, ...body } = raw as Record<string, unknown>;
  assert.equal(apiVersion, API_VERSION, `${what}: apiVersion`);
  assert.equal(typeof kind, 'string', `${what}: kind`);
  const name = kind as string;
  let problems: string[];
  if (name.endsWith('List')) {
    assert.equal(action, undefined, `${what}: a list has no action`);
    assert.deepEqual(Object.keys(body), ['items'], `${what}: a list holds items only`);
    assert.ok(Array.isArray(body.items), `${what}: items is a list`);
    const item = schema.$defs[name.slice(0, -'List'.length)];
    assert.ok(item, `${what}: ${name} is not documented`);
    problems = schemaProblems(schema, { type: 'array', items: item }, body.items, '$.items');
  } else {
    const def = (action !== undefined && schema.$defs[`${name}Result`]) || schema.$defs[name];
    assert.ok(def, `${what}: kind ${name} is not documented`);
    if (action !== undefined) {
      problems = schemaProblems(schema, { $ref: '#/$defs/Action' }, action, '$.action');
    } else problems = [];
    problems.push(...schemaProblems(schema, def, body));
  }
  assert.deepEqual(problems, [], `${what} breaks docs/cli-output.schema.json`);
  checkRtts(body, '$');
  return { kind: name, ...(action === undefined ? {} : { action: action as string }), body };
}

/** `skiff -o FORMAT ...args` at `router`: exit 0, one document of `kind`. */
async function doc(
  router: RouterProcess | string,
  format: Format,
  args: readonly string[],
  kind: string,
): Promise<Doc> {
  const dir = typeof router === 'string' ? router : router.stateDir;
  return docOf(await runCli(dir, ['-o', format, ...args]), format, kind);
}

/** What doc() checks, of a command run already with `-o FORMAT`. */
function docOf(result: CliResult, format: Format, kind: string): Doc {
  assert.equal(result.code, 0, `${result.command} exited ${result.code}: ${result.stderr}`);
  assert.equal(result.stderr, '', `${result.command}: nothing on stderr`);
  const d = checkDocument(parseAs(format, result.stdout, result.command), result.command);
  assert.equal(d.kind, kind, `${result.command}: kind`);
  return d;
}

/** The value's structure with every leaf replaced by its type: what json and yaml share. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]));
  }
  return typeof value;
}

/** A failed command's stderr: exactly one error document, and nothing on stdout. */
function errorDoc(format: Format, result: CliResult): { code: string; message: string } {
  assert.equal(result.stdout, '', `${result.command}: nothing on stdout`);
  const raw = parseAs(format, result.stderr, result.command);
  assert.deepEqual(schemaProblems(schema, { $ref: '#/$defs/Error' }, raw), [], result.stderr);
  if (format === 'json') {
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, 'one line of JSON');
  }
  return (raw as { error: { code: string; message: string } }).error;
}

describe('CLI output for scripts: documents, lists, items and errors', () => {
  let target: EchoServer;
  let work: string;
  const net = useNetwork(['out-a', 'out-b', 'out-c'], {
    links: [['out-b', 'out-a']],
    setup: async (n) => {
      target = n.track(await startEchoServer());
      await n.expose('out-b', 'echo', target.port);
      await waitForAddress(n.site('out-a'), 'echo', 'out-b');
      await n.listen('out-a', 'echo');
      // Nothing serves this address: the listener binds and says so.
      await createListener(n.site('out-a'), 'nothing', { state: 'no-route' });
    },
  });
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-it-output-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  // [what, site, args, kind]: every command that reads, at a site where it has something to show.
  const reads: Array<[string, string, string[], string]> = [
    ['status', 'out-a', ['status'], 'Status'],
    ['network status', 'out-a', ['network', 'status'], 'Network'],
    ['link status', 'out-a', ['link', 'status'], 'LinkList'],
    ['link list NAME', 'out-a', ['link', 'list', 'out-b'], 'Link'],
    ['listener list', 'out-a', ['listener', 'list'], 'ListenerList'],
    ['listener status ADDRESS', 'out-a', ['listener', 'status', 'echo'], 'Listener'],
    ['connector list', 'out-b', ['connector', 'list'], 'ConnectorList'],
    ['connector list ADDRESS', 'out-b', ['connector', 'list', 'echo'], 'Connector'],
    ['token list', 'out-a', ['token', 'list'], 'TokenList'],
    ['version', 'out-a', ['version'], 'Version'],
    ['console', 'out-c', ['console'], 'Console'],
  ];
  for (const [what, site, args, kind] of reads) {
    test(`${what}: one ${kind} document in json and in yaml, every field documented`, {
      timeout: 30_000,
    }, async () => {
      const router = net().site(site);
      const [json, yaml] = await Promise.all(FORMATS.map((f) => doc(router, f, args, kind)));
      assert.deepEqual(shape(yaml!.body), shape(json!.body), 'yaml holds what json holds');
      if (kind.endsWith('List')) assert.notDeepEqual(json!.body.items, [], `${what}: not empty`);
    });
  }

  test('a list is a list when empty, in both formats', { timeout: 30_000 }, async () => {
    const c = net().site('out-c');
    for (const format of FORMATS) {
      for (const [args, kind] of [
        [['link', 'status'], 'LinkList'],
        [['listener', 'list'], 'ListenerList'],
      ] as const) {
        const d = await doc(c, format, args, kind);
        assert.deepEqual(d.body, { items: [] });
      }
    }
    const yaml = await runCli(c.stateDir, ['-o', 'yaml', 'link', 'status']);
    assert.equal(yaml.stdout, `apiVersion: ${API_VERSION}\nkind: LinkList\nitems: []\n`);
  });

  // [resource, site, key field, key value or undefined for the list's first item]
  const ones: Array<[string, string, string, string | undefined]> = [
    ['link', 'out-a', 'name', 'out-b'],
    ['listener', 'out-a', 'address', 'echo'],
    ['connector', 'out-b', 'address', 'echo'],
    ['token', 'out-a', 'id', undefined],
  ];
  for (const [resource, site, key, value] of ones) {
    test(`one ${resource} has the fields it has in the list, and the same values`, {
      timeout: 30_000,
    }, async () => {
      const router = net().site(site);
      const kind = resource[0]!.toUpperCase() + resource.slice(1);
      const list = await doc(router, 'json', [resource, 'list'], `${kind}List`);
      const items = list.body.items as Array<Record<string, unknown>>;
      const name = value ?? String(items[0]?.[key]);
      const inList = items.find((item) => item[key] === name);
      assert.ok(inList, `${name} is in the list`);
      const one = await doc(router, 'json', [resource, 'list', name], kind);
      assert.deepEqual(Object.keys(one.body).sort(), Object.keys(inList).sort());
      // A link's RTT is measured again between the two commands; everything else holds still.
      const { rttMs: _a, ...fromList } = inList;
      const { rttMs: _b, ...alone } = one.body;
      assert.deepEqual(alone, fromList);
    });
  }

  test('create and delete commands print the item and what they did', {
    timeout: 60_000,
  }, async () => {
    const a = net().site('out-a');
    const c = net().site('out-c');

    const tokenFile = join(work, 'c.token');
    const token = await doc(a, 'yaml', ['token', 'create', tokenFile], 'Token');
    assert.equal(token.action, 'created');
    assert.equal(token.body.file, tokenFile);
    assert.equal(token.body.uses, 1);

    const [sinceA, sinceC] = [a.mark(), c.mark()];
    const link = await doc(c, 'json', ['link', 'create', tokenFile], 'Link');
    assert.equal(link.action, 'created');
    assert.equal(link.body.name, 'out-a');
    await awaitLinkUp(a, c, 'out-a', { sinceIssuer: sinceA, sinceDialler: sinceC });
    const costly = await doc(c, 'yaml', ['link', 'update', 'out-a', '--cost', '3'], 'Link');
    assert.deepEqual([costly.action, costly.body.cost], ['updated', 3]);
    const deleted = await doc(c, 'yaml', ['link', 'delete', 'out-a'], 'Link');
    assert.deepEqual(
      { action: deleted.action, name: deleted.body.name },
      {
        action: 'deleted',
        name: 'out-a',
      },
    );

    const absentLink = await doc(
      c,
      'json',
      ['link', 'delete', 'out-a', '--ignore-not-found'],
      'Link',
    );
    assert.deepEqual([absentLink.action, absentLink.body], ['unchanged', { name: 'out-a' }]);

    const exposed = await doc(
      c,
      'json',
      ['expose', 'echo-c', '--target', `127.0.0.1:${target.port}`],
      'Connector',
    );
    assert.equal(exposed.action, 'created');
    assert.deepEqual([exposed.body.host, exposed.body.port], ['127.0.0.1', target.port]);
    const retargeted = await doc(
      c,
      'json',
      ['connector', 'update', 'echo-c', '--target', '127.0.0.1:9'],
      'Connector',
    );
    assert.deepEqual([retargeted.action, retargeted.body.port], ['updated', 9]);
    const unexposed = await doc(c, 'yaml', ['unexpose', 'echo-c'], 'Connector');
    assert.deepEqual([unexposed.action, unexposed.body.address], ['deleted', 'echo-c']);
    const absent = await doc(c, 'yaml', ['unexpose', 'echo-c', '--ignore-not-found'], 'Connector');
    assert.deepEqual([absent.action, absent.body], ['unchanged', { address: 'echo-c' }]);

    const created = await listenerOnFreePort(c, 'echo', { output: 'yaml' });
    const listener = docOf(created.result, 'yaml', 'Listener');
    assert.deepEqual([listener.action, listener.body.port], ['created', created.port]);
    const updated = await listenerOnFreePort(c, 'echo', { verb: 'update', output: 'json' });
    const moved = docOf(updated.result, 'json', 'Listener');
    assert.deepEqual([moved.action, moved.body.port], ['updated', updated.port]);
    const gone = await doc(c, 'json', ['listener', 'delete', 'echo'], 'Listener');
    assert.deepEqual([gone.action, gone.body.address], ['deleted', 'echo']);

    const revoked = await doc(a, 'json', ['token', 'revoke', String(token.body.id)], 'Token');
    assert.deepEqual([revoked.action, revoked.body.state], ['updated', 'revoked']);
    const noToken = 'f'.repeat(32);
    const unrevoked = await doc(
      a,
      'yaml',
      ['token', 'revoke', noToken, '--ignore-not-found'],
      'Token',
    );
    assert.deepEqual([unrevoked.action, unrevoked.body], ['unchanged', { id: noToken }]);

    const dumpFile = join(work, 'dump.json');
    const dump = await doc(c, 'json', ['debug', 'dump', dumpFile], 'DebugDump');
    assert.deepEqual([dump.action, dump.body.file], ['created', dumpFile]);

    const site = await doc(
      join(work, 'new-site'),
      'yaml',
      ['site', 'create', 'fresh', '--link-port', '18443'],
      'Site',
    );
    assert.deepEqual([site.action, site.body.name], ['created', 'fresh']);
    const siteGone = await doc(join(work, 'new-site'), 'json', ['site', 'delete', '--yes'], 'Site');
    assert.deepEqual([siteGone.action, siteGone.body.name], ['deleted', 'fresh']);
    const noSite = await doc(
      join(work, 'new-site'),
      'yaml',
      ['site', 'delete', '--yes', '--ignore-not-found'],
      'Site',
    );
    assert.equal(noSite.action, 'unchanged');
  });

  test('failures are one error document on stderr with the documented exit code', {
    timeout: 60_000,
  }, async () => {
    const a = net().site('out-a');
    const existing = join(work, 'existing.token');
    await writeFile(existing, 'keep');
    const noRouter = await mkdtemp(join(tmpdir(), 'skiff-it-output-none-'));
    try {
      const cases: Array<[string, string, string[], string, number]> = [
        ['bad input', a.stateDir, ['link', 'create', join(work, 'absent')], 'INVALID_ARGUMENT', 2],
        ['a usage error', a.stateDir, ['link', 'fly'], 'INVALID_ARGUMENT', 2],
        ['a missing option', a.stateDir, ['listener', 'create', 'x'], 'INVALID_ARGUMENT', 2],
        ['no router', noRouter, ['status'], 'NO_ROUTER', 3],
        ['not found', a.stateDir, ['link', 'status', 'nosuch'], 'NOT_FOUND', 4],
        ['a delete of nothing', a.stateDir, ['listener', 'delete', 'nosuch'], 'NOT_FOUND', 4],
        ['anything else', a.stateDir, ['token', 'create', existing], 'ALREADY_EXISTS', 1],
      ];
      for (const [what, dir, args, code, exit] of cases) {
        for (const format of FORMATS) {
          const result = await runCli(dir, ['-o', format, ...args]);
          const error = errorDoc(format, result);
          assert.equal(error.code, ErrorCode[code as keyof typeof ErrorCode], `${what}: code`);
          assert.equal(result.code, exit, `${what} (${format}): exit code`);
          assert.doesNotMatch(error.message, /^skiff: /, 'the message without the text prefix');
        }
        const text = await runCli(dir, args);
        assert.equal(text.code, exit, `${what} (text): exit code`);
        assert.match(text.stderr, /^skiff: \S[^\n]*\n$/, `${what} (text): one skiff: line`);
      }
    } finally {
      await rm(noRouter, { recursive: true, force: true });
    }
  });

  test('text: a link in detail, and the listener table with STATE and ERROR', {
    timeout: 30_000,
  }, async () => {
    const a = net().site('out-a');
    const detail = await a.cli(['link', 'status', 'out-b']);
    assert.equal(detail.code, 0, detail.stderr);
    const lines = detail.stdout.trimEnd().split('\n');
    const labels = lines.map((l) => l.slice(0, l.indexOf(':')));
    assert.deepEqual(labels, [
      'Name',
      'Id',
      'Direction',
      'Peer',
      'State',
      'Cost',
      'RTT',
      'Streams',
      'Last error',
    ]);
    assert.match(lines[4]!, /^State: +up, since \d{4}-\d\d-\d\dT[\d:.]+Z \(\d+[smhd]\S* ago\)$/);
    assert.match(lines[6]!, /^RTT: +(\d+µs|\d\.\d\dms|\d\d\.\dms|\d{3}ms|-)$/);
    const table = await a.cli(['listener', 'list']);
    const rows = table.stdout.trimEnd().split('\n');
    assert.match(rows[0]!, /^ADDRESS +LISTEN +STATE +STREAMS +ERROR$/);
    assert.match(rows.find((r) => r.startsWith('echo '))!, /^echo +127\.0\.0\.1:\d+ +bound +0 +-$/);
    assert.match(
      rows.find((r) => r.startsWith('nothing '))!,
      /^nothing +127\.0\.0\.1:\d+ +no-route +0 +\S/,
    );
  });
});
