import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { outputFormatOf, renderAction, renderItem, renderList } from '../../../src/cli/output.js';

const never = (): string => assert.fail('text asked for with json/yaml');

describe('CLI output documents', () => {
  it('reads -o from argv as commander would take it, text when absent or invalid', () => {
    const cases: Array<[string[], string]> = [
      [[], 'text'],
      [['status'], 'text'],
      [['-o', 'json', 'status'], 'json'],
      [['status', '-o', 'yaml'], 'yaml'],
      [['-ojson', 'status'], 'json'],
      [['--output', 'yaml', 'status'], 'yaml'],
      [['--output=json', 'status'], 'json'],
      [['-o', 'json', '-o', 'yaml'], 'yaml'],
      [['-o', 'xml', 'status'], 'text'],
      [['-o'], 'text'],
      [['--', '-o', 'json'], 'text'],
      [['--state-dir', '/tmp/x', '-o', 'text'], 'text'],
    ];
    for (const [argv, format] of cases) assert.equal(outputFormatOf(argv), format, argv.join(' '));
  });

  it('wraps lists, items and actions in the envelope; text is only asked for in text', () => {
    assert.deepEqual(JSON.parse(renderList('json', 'Link', [], never)), {
      apiVersion: 'skiff.dev/v1',
      kind: 'LinkList',
      items: [],
    });
    assert.deepEqual(JSON.parse(renderItem('json', 'Listener', { address: 'a', port: 1 }, never)), {
      apiVersion: 'skiff.dev/v1',
      kind: 'Listener',
      address: 'a',
      port: 1,
    });
    const deleted = renderAction('yaml', 'Link', 'deleted', { name: 'east' }, never);
    assert.equal(deleted, 'apiVersion: skiff.dev/v1\nkind: Link\naction: deleted\nname: east\n');
    assert.deepEqual(parse(renderList('yaml', 'Token', [{ id: 'x' }], never)), {
      apiVersion: 'skiff.dev/v1',
      kind: 'TokenList',
      items: [{ id: 'x' }],
    });
    assert.equal(
      renderList('text', 'Link', [], () => 'no links'),
      'no links',
    );
  });

  it('folds no long line in yaml', () => {
    const message = `${'word '.repeat(40)}end`;
    assert.equal(renderItem('yaml', 'Version', { version: message }, never).split('\n').length, 4);
  });
});
