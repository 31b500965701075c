import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { invokedCommand } from '../../../src/cli/invoked.js';
import { buildProgram, COMMAND_MODULES } from '../../../src/cli/program.js';

const names = (program: Command) => program.commands.map((c) => c.name());

describe('the command tree, built per command line', () => {
  it('lists for each module exactly the top-level commands it registers', async () => {
    for (const entry of COMMAND_MODULES) {
      const program = new Command('skiff');
      (await entry.load())(program);
      assert.deepStrictEqual(names(program), [...entry.names]);
    }
  });

  it('builds only the named command, or the whole tree when unsure', async () => {
    // Completion describes the whole tree, so it comes with it, last.
    const all = [...COMMAND_MODULES.flatMap((m) => m.names), 'completion'];
    assert.deepStrictEqual(names(await buildProgram('text')), all);
    const cases: Array<[string[], string[]]> = [
      [['status'], ['status', 'network']],
      [['--state-dir', '/x', '-o', 'json', 'link', 'status'], ['link']],
      [
        ['--output=yaml', '--state-dir=/x', 'network', 'status'],
        ['status', 'network'],
      ],
      [
        ['-ojson', 'unexpose', 'api'],
        ['expose', 'unexpose'],
      ],
      [['--help'], all],
      [[], all],
      [['staus'], all],
      [['completion', 'bash'], all],
      [['--no-such-flag', 'status'], all],
    ];
    for (const [args, expected] of cases) {
      assert.deepStrictEqual(names(await buildProgram('text', args)), expected, args.join(' '));
    }
  });

  it('reads the command word past global options and their values', async () => {
    const program = await buildProgram('text', ['version']);
    assert.equal(invokedCommand(program, ['--log-level', 'debug', 'site', 'run']), 'site');
    assert.equal(invokedCommand(program, ['--state-dir', 'status', 'version']), 'version');
    assert.equal(invokedCommand(program, ['--platform=local', 'token', 'create']), 'token');
    assert.equal(invokedCommand(program, ['-n', 'ns', 'link']), 'link');
    assert.equal(invokedCommand(program, ['-o']), undefined);
    assert.equal(invokedCommand(program, ['-h']), undefined);
  });
});
