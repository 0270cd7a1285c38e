/**
 * Seeded mutations of real tool reports for fuzz.test.ts. Each mutator takes the original report
 * bytes and returns mutated bytes plus a short label; all randomness comes from the PRNG, so a
 * seed reproduces every case exactly.
 *
 * Mutations never turn a report into a well-formed *clean* one (e.g. the findings array replaced
 * by `[]`): such a report's correct verdict is pass, and the suite asserts that no case passes.
 */

/** mulberry32: small, fast, good enough to spread mutations; reproducible from a 32-bit seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;
const int = (random: Random, max: number): number => Math.floor(random() * max);
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)]!;

export interface Mutation {
  kind: string;
  bytes: Buffer;
}

type Mutator = (original: Buffer, random: Random, findingsPath: readonly (string | number)[]) => Mutation;

// ---- byte and text level (every report format) ----

const truncate: Mutator = (original, random) => ({ kind: 'truncate', bytes: original.subarray(0, int(random, original.length)) });

const bitFlips: Mutator = (original, random) => {
  const bytes = Buffer.from(original);
  const flips = 1 + int(random, 8);
  for (let i = 0; i < flips; i++) bytes[int(random, bytes.length)]! ^= 1 << int(random, 8);
  return { kind: 'bit-flips', bytes };
};

function insertAt(original: Buffer, at: number, inserted: Buffer): Buffer {
  return Buffer.concat([original.subarray(0, at), inserted, original.subarray(at)]);
}

const nulBytes: Mutator = (original, random) => {
  let bytes = original;
  for (let i = 1 + int(random, 3); i > 0; i--) bytes = insertAt(bytes, int(random, bytes.length + 1), Buffer.from([0]));
  return { kind: 'nul-bytes', bytes };
};

/** A lone continuation byte, a cut 2-byte sequence, an encoded surrogate, 0xFF: none is UTF-8. */
const INVALID_UTF8 = [[0x80], [0xc3], [0xed, 0xa0, 0x80], [0xff, 0xfe], [0xf8, 0x88, 0x80, 0x80, 0x80]];

const nonUtf8: Mutator = (original, random) => {
  let bytes = original;
  for (let i = 1 + int(random, 3); i > 0; i--) bytes = insertAt(bytes, int(random, bytes.length + 1), Buffer.from(pick(random, INVALID_UTF8)));
  return { kind: 'non-utf8', bytes };
};

// ---- JSON structure level ----

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Slot = { parent: Json[] | { [key: string]: Json }; key: string | number; path: (string | number)[] };

/** Every value slot of the document (iteratively: a mutated deep document must not overflow us). */
function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const stack: { value: Json; path: (string | number)[] }[] = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (Array.isArray(value)) {
      value.forEach((child, index) => {
        out.push({ parent: value, key: index, path: [...path, index] });
        stack.push({ value: child, path: [...path, index] });
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        out.push({ parent: value, key, path: [...path, key] });
        stack.push({ value: child, path: [...path, key] });
      }
    }
  }
  return out;
}

const samePath = (a: readonly (string | number)[], b: readonly (string | number)[]): boolean => a.length === b.length && a.every((p, i) => p === b[i]);

const get = (slot: Slot): Json => (slot.parent as Record<string | number, Json>)[slot.key]!;
const put = (slot: Slot, value: Json): void => {
  (slot.parent as Record<string | number, Json>)[slot.key] = value;
};

/** Values of every JSON type, and the odd strings and numbers parsers trip on. */
const ODD_VALUES: readonly Json[] = [
  null, true, false, 0, -1, -0, 1.5, 1e21, 1e308, -1e308, 2 ** 53 + 1, '', ' ', 'HIGH ', 'CRITICAL', 'NaN', 'Infinity', '-1',
  'x', '\u0000', '\u202e\u0085::error::forged', [], [null], {}, { line: -1 }, ['a', 1]
];
const ODD_NUMBERS: readonly number[] = [-1, 0, -0, 0.5, 1e21, 1e308, -1e308, 2 ** 31, 2 ** 53 + 1, 4294967297];

function jsonMutator(kind: string, change: (root: Json, random: Random, findingsPath: readonly (string | number)[]) => string | undefined): Mutator {
  return (original, random, findingsPath) => {
    const root = JSON.parse(original.toString('utf8')) as Json;
    const text = change(root, random, findingsPath) ?? JSON.stringify(root);
    return { kind, bytes: Buffer.from(text, 'utf8') };
  };
}

const wrongType = jsonMutator('wrong-type', (root, random, findingsPath) => {
  const slot = pick(random, slots(root));
  const current = get(slot);
  // The findings array replaced by an empty one is a real clean report: not a malformed one.
  const candidates = ODD_VALUES.filter((v) => !(samePath(slot.path, findingsPath) && Array.isArray(v) && v.length === 0) && typeof v !== typeof current);
  put(slot, pick(random, candidates.length > 0 ? candidates : ODD_VALUES.filter((v) => v !== null)));
  return undefined;
});

const oddNumber = jsonMutator('odd-number', (root, random) => {
  const numbers = slots(root).filter((s) => typeof get(s) === 'number');
  if (numbers.length === 0) return undefined;
  put(pick(random, numbers), pick(random, ODD_NUMBERS));
  return undefined;
});

const missingKey = jsonMutator('missing-key', (root, random) => {
  const keyed = slots(root).filter((s) => typeof s.key === 'string');
  if (keyed.length === 0) return undefined;
  const slot = pick(random, keyed);
  delete (slot.parent as Record<string, Json>)[slot.key as string];
  return undefined;
});

const swapContainer = jsonMutator('array-object-swap', (root, random) => {
  const containers = slots(root).filter((s) => {
    const v = get(s);
    return v !== null && typeof v === 'object';
  });
  if (containers.length === 0) return Array.isArray(root) ? JSON.stringify({ ...root }) : JSON.stringify(Object.values(root as object));
  const slot = pick(random, containers);
  const value = get(slot);
  put(slot, Array.isArray(value) ? ({ ...value } as Json) : Object.values(value as object));
  return undefined;
});

const PLACEHOLDER = '\u0000secgate-fuzz\u0000';
const placeholderJson = JSON.stringify(PLACEHOLDER);

const deepNesting = jsonMutator('deep-nesting', (root, random) => {
  const depth = 1_000 + int(random, 150_000);
  const open = random() < 0.5 ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  put(pick(random, slots(root)), PLACEHOLDER);
  return JSON.stringify(root).replace(placeholderJson, `${open.repeat(depth)}1${close.repeat(depth)}`);
});

const duplicateKey = jsonMutator('duplicate-key', (root, random, findingsPath) => {
  const objects = slots(root).filter((s) => typeof s.key === 'string');
  if (objects.length === 0) return undefined;
  const slot = pick(random, objects);
  const object = slot.parent as Record<string, Json>;
  // The repeat comes last, so JSON.parse keeps it: the value a naive reader would use.
  const repeat: Json = samePath(slot.path, findingsPath) ? [] : pick(random, ODD_VALUES);
  object[PLACEHOLDER] = repeat;
  return JSON.stringify(root).replace(placeholderJson, JSON.stringify(slot.key));
});

const hugeString = jsonMutator('huge-string', (root, random) => {
  const strings = slots(root).filter((s) => typeof get(s) === 'string');
  if (strings.length === 0) return undefined;
  const size = 64 * 1024 + int(random, 2 * 1024 * 1024);
  put(pick(random, strings), pick(random, ['A', 'é', '\u2028', '../', '\\']).repeat(Math.ceil(size / 3)).slice(0, size));
  return undefined;
});

/**
 * One field changed the same way in EVERY finding (a tool upgrade renaming a severity word, a key
 * gone from every result): the mutation a single-finding change cannot stand for, since the other
 * findings would still fail the gate. The field may be nested (`extra.severity`).
 */
const everyFinding = jsonMutator('every-finding', (root, random, findingsPath) => {
  let findings: Json = root;
  for (const key of findingsPath) findings = (findings as Record<string | number, Json>)[key]!;
  if (!Array.isArray(findings) || findings.length === 0) return undefined;
  // The fields of the first finding, one level of nesting deep.
  const first = findings[0] as Record<string, Json>;
  const fields: string[][] = [];
  for (const [key, value] of Object.entries(first)) {
    fields.push([key]);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const inner of Object.keys(value)) fields.push([key, inner]);
  }
  const field = pick(random, fields);
  const remove = random() < 0.3;
  const replacement = pick(random, ODD_VALUES);
  for (const finding of findings) {
    let holder = finding as Record<string, Json>;
    for (const key of field.slice(0, -1)) holder = (holder?.[key] ?? {}) as Record<string, Json>;
    if (holder === null || typeof holder !== 'object') continue;
    if (remove) delete holder[field[field.length - 1]!];
    else holder[field[field.length - 1]!] = replacement;
  }
  return undefined;
});

export const JSON_MUTATORS: readonly Mutator[] = [
  truncate, bitFlips, nulBytes, nonUtf8, wrongType, oddNumber, missingKey, swapContainer, deepNesting, duplicateKey, hugeString, everyFinding, everyFinding
];

// ---- line level (git-secrets' stderr) ----

function lineMutator(kind: string, change: (lines: string[], random: Random) => void): Mutator {
  return (original, random) => {
    const lines = original.toString('utf8').split('\n');
    change(lines, random);
    return { kind, bytes: Buffer.from(lines.join('\n'), 'utf8') };
  };
}

const ODD_LINE_NUMBERS = ['-1', '0', '99999999999999999999', '1e3', 'NaN', '', '3.5', '0x10'];

export const TEXT_MUTATORS: readonly Mutator[] = [
  truncate,
  bitFlips,
  nulBytes,
  nonUtf8,
  lineMutator('line-deleted', (lines, random) => void lines.splice(int(random, lines.length), 1)),
  lineMutator('line-repeated', (lines, random) => {
    const at = int(random, lines.length);
    lines.splice(at, 0, lines[at]!);
  }),
  lineMutator('lines-swapped', (lines, random) => {
    const a = int(random, lines.length);
    const b = int(random, lines.length);
    [lines[a], lines[b]] = [lines[b]!, lines[a]!];
  }),
  lineMutator('odd-line-number', (lines, random) => {
    const matches = lines.map((l, i) => (/^(?:[0-9a-f]{40}:)?[^:]+:\d+:/.test(l) ? i : -1)).filter((i) => i >= 0);
    const at = matches.length > 0 ? pick(random, matches) : int(random, lines.length);
    lines[at] = lines[at]!.replace(/:(\d+):/, `:${pick(random, ODD_LINE_NUMBERS)}:`);
  }),
  lineMutator('garbage-line', (lines, random) => {
    lines.splice(int(random, lines.length + 1), 0, pick(random, ['fatal: not a git repository', 'usage: git secrets --scan', '\u0085::error::x', ':::', 'x'.repeat(100_000), '{"results": []}']));
  }),
  lineMutator('huge-line', (lines, random) => {
    const at = int(random, lines.length);
    lines[at] = `${lines[at]}${'A'.repeat(64 * 1024 + int(random, 1024 * 1024))}`;
  })
];

export function mutate(original: Buffer, random: Random, mutators: readonly Mutator[], findingsPath: readonly (string | number)[]): Mutation {
  return pick(random, mutators)(original, random, findingsPath);
}
