/**
 * A reader of the Prometheus text exposition format (version 0.0.4) as /metrics serves it:
 * enough to check names, types, labels and values, and strict about what it does read, so
 * a malformed line fails the test instead of being skipped.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** `# TYPE` per metric family. */
  types: Map<string, string>;
  /** `# HELP` per metric family. */
  helps: Map<string, string>;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), helps: new Map() };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? out.helps : out.types).set(meta[2]!, meta[3]!);
      continue;
    }
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const body = m[3] ?? '';
    labelPair.lastIndex = 0;
    while (labelPair.lastIndex < body.length) {
      const pair = labelPair.exec(body);
      if (!pair) throw new Error(`bad labels in ${JSON.stringify(line)}`);
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    out.samples.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}

/** Samples named `name` whose labels include every one of `labels`. */
export function samplesOf(
  exp: Exposition,
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return exp.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The value of the one sample `samplesOf` finds; throws when there are none or several. */
export function sampleValue(
  exp: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  const found = samplesOf(exp, name, labels);
  if (found.length !== 1) {
    throw new Error(
      `${found.length} samples of ${name} with ${JSON.stringify(labels)}: ${JSON.stringify(found)}`,
    );
  }
  return found[0]!.value;
}
