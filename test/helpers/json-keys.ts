/**
 * Keys that one JSON object in `text` holds more than once, at any depth. JSON.parse keeps
 * the last of them silently, so a log line that writes a key twice can only be seen in
 * its raw text. Throws on text that is not JSON.
 */
export function duplicateKeys(text: string): string[] {
  const dups: string[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`not JSON (${what} at ${i}): ${text.slice(0, 200)}`);
  };
  const space = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const expect = (c: string) => {
    space();
    if (text[i] !== c) fail(`expected ${c}`);
    i++;
  };
  const string = (): string => {
    expect('"');
    const start = i;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    const raw = text.slice(start - 1, ++i);
    return JSON.parse(raw) as string;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        const key = string();
        if (keys.has(key)) dups.push(key);
        keys.add(key);
        expect(':');
        value();
        space();
        if (text[i++] === '}') return;
        if (text[i - 1] !== ',') fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (text[i++] === ']') return;
        if (text[i - 1] !== ',') fail('expected , or ]');
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 40));
    if (!m) fail('unexpected character');
    i += m![0].length;
  };
  value();
  space();
  if (i !== text.length) fail('trailing text');
  return dups;
}
