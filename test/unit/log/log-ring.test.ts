import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogRing } from '../../../src/log-ring.js';

describe('LogRing', () => {
  it('keeps the last `capacity` lines, oldest first, without their newline', () => {
    const ring = new LogRing(3);
    assert.deepStrictEqual(ring.lines(), []);
    ring.push('{"n":1}\n');
    ring.push('{"n":2}\n');
    assert.deepStrictEqual(ring.lines(), ['{"n":1}', '{"n":2}']);
    for (let n = 3; n <= 7; n++) ring.push(`{"n":${n}}\n`);
    assert.deepStrictEqual(ring.lines(), ['{"n":5}', '{"n":6}', '{"n":7}']);
  });

  it('holds at most capacity x maxLineChars however long the lines are', () => {
    const ring = new LogRing(4, 100);
    for (let i = 0; i < 50; i++) ring.push(`${String(i).padStart(3, '0')}${'x'.repeat(10_000)}`);
    const lines = ring.lines();
    assert.equal(lines.length, 4);
    assert.deepStrictEqual(
      lines.map((l) => l.slice(0, 3)),
      ['046', '047', '048', '049'],
    );
    for (const line of lines) {
      assert.ok(line.startsWith('0'), line.slice(0, 10));
      assert.ok(line.endsWith('... [9903 more chars cut]'), line.slice(-40));
      assert.ok(line.length < 140);
    }
  });

  it('gives the lines back as the objects they encode, a cut line as text', () => {
    const ring = new LogRing(3, 40);
    ring.push('{"level":30,"msg":"router ready"}\n');
    ring.push(`{"level":30,"msg":"${'y'.repeat(100)}"}\n`);
    ring.push('not json\n');
    const [first, cut, text] = ring.entries();
    assert.deepStrictEqual(first, { level: 30, msg: 'router ready' });
    assert.equal(typeof cut, 'string');
    assert.match(cut as string, /more chars cut\]$/);
    assert.equal(text, 'not json');
  });

  it('refuses a capacity below one line', () => {
    assert.throws(() => new LogRing(0), RangeError);
    assert.throws(() => new LogRing(1.5), RangeError);
  });
});
