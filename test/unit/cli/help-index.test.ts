import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { helpIndexOf, readHelpIndex } from '../../../src/cli/help-index.js';
import { buildProgram } from '../../../src/cli/program.js';

function helpAt(program: Command, width: number): string {
  program.configureHelp({ ...program.configureHelp(), helpWidth: width });
  return program.helpInformation();
}

describe('skiff --help from the build-time index', () => {
  it('is the whole tree’s help, at every width', async () => {
    const whole = await buildProgram('text');
    const fast = await buildProgram('text', ['--help']);
    // Stand-ins: the fast tree holds none of the real commands' subcommands or options.
    assert.ok(fast.commands.every((c) => c.commands.length === 0 && c.options.length === 0));
    for (const width of [40, 60, 80, 120, 200]) {
      assert.equal(helpAt(fast, width), helpAt(whole, width), `width ${width}`);
    }
  });

  it('is what the build recorded: the whole tree’s entries', async () => {
    assert.deepEqual(readHelpIndex(), helpIndexOf(await buildProgram('text')));
  });

  it('is not used for a command’s own help or when the index is unreadable', async () => {
    const linkHelp = await buildProgram('text', ['link', '--help']);
    assert.ok(linkHelp.commands.find((c) => c.name() === 'link')!.commands.length > 0);
    const dir = await mkdtemp(join(tmpdir(), 'skiff-help-index-'));
    try {
      const file = join(dir, 'help-index.json');
      for (const text of ['', '{', '{"name":"x"}', '[{"name":"x","term":1,"description":""}]']) {
        await writeFile(file, text);
        assert.equal(readHelpIndex(pathToFileURL(file)), undefined, text);
      }
      assert.equal(readHelpIndex(pathToFileURL(join(dir, 'absent.json'))), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
