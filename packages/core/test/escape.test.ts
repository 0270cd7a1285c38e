import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ANNOTATION_FILE_MAX,
  LOG_LINE_LIMIT,
  buildSummary,
  capText,
  commandText,
  escapeCode,
  escapeMarkdown,
  neutraliseCommands,
  safeLogText,
  stripAnsi,
  toAnnotation,
  type EvaluatedFinding,
  type ScanResult
} from '@secgate/core';
import { actionsLogger, failStep, publishResult } from '@secgate/core/action';
import { parseWorkflowCommands } from '../../../test/helpers/workflow-commands.js';

/** .NET Char.IsWhiteSpace, written out independently of escape.ts: what the runner's TrimStart() removes. */
const DOTNET_WHITESPACE = [
  '\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00a0', '\u1680',
  ...Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)),
  '\u2028', '\u2029', '\u202f', '\u205f', '\u3000'
];
const LINE_BREAKS = ['\n', '\r', '\r\n', '\v', '\f', '\u0085', '\u2028', '\u2029'];

/**
 * Reads output the way the runner might at worst: any Unicode line terminator ends a line, then
 * .NET TrimStart(), then `::` (a command) or `##[` anywhere (the legacy form).
 */
function forgedCommands(output: string): string[] {
  const forged: string[] = [];
  for (const line of output.split(/\r\n|[\n\r\v\f\u0085\u2028\u2029]/)) {
    let start = 0;
    while (start < line.length && DOTNET_WHITESPACE.includes(line[start]!)) start++;
    if (line.startsWith('::', start) || line.includes('##[')) forged.push(line);
  }
  return forged;
}

/** Payloads from the issue: line breaks and runner whitespace before `::`, stop-commands, legacy form. */
const PAYLOADS = [
  'x\n\u0085::error file=a.py,line=1::forged',
  'x\u2028::warning::forged',
  'x\u2029\u3000::notice::forged',
  '::stop-commands::x',
  'before\n  \t::add-mask::x',
  'tool said ##[error]forged',
  'a\r::error::cr only',
  'a\v\u00a0::error::vt',
  'a\f\u205f::error::ff',
  ...LINE_BREAKS.flatMap((br) => DOTNET_WHITESPACE.map((ws) => `ok${br}${ws}${ws}::error::p`))
];

function captureStdout(fn: () => void | Promise<void>): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: unknown) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  return Promise.resolve()
    .then(fn)
    .finally(() => {
      process.stdout.write = write;
    })
    .then(() => out);
}

describe('workflow-command neutralisation', () => {
  it('neutraliseCommands leaves no `::` after any runner whitespace at any line start, nor `##[`', () => {
    for (const payload of PAYLOADS) expect(forgedCommands(neutraliseCommands(payload))).toEqual([]);
    // The payloads really are forgeries before neutralisation.
    for (const payload of PAYLOADS) expect(forgedCommands(payload).length).toBeGreaterThan(0);
  });

  it('keeps ordinary text readable and is idempotent', () => {
    expect(neutraliseCommands('a::b c:: d')).toBe('a::b c:: d');
    const once = neutraliseCommands('x\n\u0085::error::y');
    expect(neutraliseCommands(once)).toBe(once);
    // NEL became a line break; the `::` after it is broken by a zero-width space.
    expect(once).toBe('x\n\n:\u200b:error::y');
  });

  it('the actions logger forges nothing, whatever a message holds, at every level', async () => {
    const out = await captureStdout(async () => {
      for (const payload of PAYLOADS) {
        actionsLogger.info(payload);
        actionsLogger.warning(payload);
        actionsLogger.error(payload);
        actionsLogger.debug(payload);
        await actionsLogger.group(payload, async () => undefined);
      }
    });
    // Only the logger's own ::debug / ::group / ::endgroup commands.
    expect(forgedCommands(out.split('\n').filter((l) => !/^::(debug|group|endgroup)::/.test(l)).join('\n'))).toEqual([]);
    const commands = parseWorkflowCommands(out);
    expect(new Set(commands.map((c) => c.command))).toEqual(new Set(['debug', 'group', 'endgroup']));
    expect(commands).toHaveLength(PAYLOADS.length * 3);
  });

  it('failStep writes exactly one capped ::error line', async () => {
    const out = await captureStdout(() => failStep(`bad\n\u0085::warning::x ##[error]y ${'z'.repeat(100_000)}`));
    process.exitCode = undefined;
    const lines = out.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThanOrEqual(LOG_LINE_LIMIT);
    expect(parseWorkflowCommands(out).map((c) => c.command)).toEqual(['error']);
    expect(out).not.toContain('##[');
  });
});

describe('log line caps', () => {
  it('safeLogText caps every line and the whole message', () => {
    const text = safeLogText(`${'a'.repeat(1_000_000)}\nshort\n${'b'.repeat(20_000)}`);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(LOG_LINE_LIMIT);
    expect(text.length).toBeLessThanOrEqual(70_000);
    expect(text).toMatch(/… \[\d+ more characters\]/);
  });

  it('capText says how much was cut and never splits a surrogate pair', () => {
    expect(capText('abc', 5)).toBe('abc');
    const cut = capText('😀'.repeat(100), 50);
    expect(cut.length).toBeLessThanOrEqual(50);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(cut).toContain('more characters');
  });

  it('the logger writes no line over LOG_LINE_LIMIT', async () => {
    const out = await captureStdout(async () => {
      actionsLogger.info('p'.repeat(1_000_000));
      actionsLogger.warning('w'.repeat(100_000));
      actionsLogger.debug('%\n'.repeat(100_000));
      await actionsLogger.group('g'.repeat(100_000), async () => undefined);
    });
    for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(LOG_LINE_LIMIT);
  });
});

let counter = 0;
function finding(overrides: Partial<EvaluatedFinding> = {}): EvaluatedFinding {
  counter++;
  return {
    tool: 'semgrep',
    ruleId: 'custom.rule',
    title: 'Title',
    message: 'Message',
    severity: 'high',
    location: { path: 'src/app.py', startLine: counter },
    fingerprint: counter.toString(16).padStart(32, '0'),
    sources: [{ tool: 'semgrep', ruleId: 'custom.rule' }],
    state: { kind: 'active' },
    isNew: true,
    reported: true,
    ...overrides
  };
}

function result(findings: EvaluatedFinding[], workspace: string): ScanResult {
  return {
    stages: ['sast'],
    workspace,
    tools: [],
    findings,
    blocking: findings,
    ledger: { expired: [], expiringSoon: [], unused: [] },
    policy: { failOn: 'high', reportSeverity: 'info', newOnly: 'off', exceptions: [] },
    verdict: 'fail',
    errors: [],
    durationMs: 1
  };
}

describe('annotations from hostile findings', () => {
  const hostile = 'x\n\u0085::error file=evil.py,line=1::forged\u2028::warning::forged ::stop-commands::tok\n##[error]legacy';

  it('a path that is too long or holds line breaks becomes a job-level annotation naming the cut path', () => {
    const long = toAnnotation(finding({ location: { path: `${'d'.repeat(255)}/`.repeat(20) + 'app.py', startLine: 3 } }));
    expect(long.file).toBeUndefined();
    expect(long.startLine).toBeUndefined();
    expect(long.message.startsWith('ddd')).toBe(true);
    expect(long.message.length).toBeLessThan(4000);
    const broken = toAnnotation(finding({ location: { path: 'a\n\u0085::error::b.py', startLine: 3 } }));
    expect(broken.file).toBeUndefined();
    expect(forgedCommands(broken.message)).toEqual([]);
    const legacy = toAnnotation(finding({ location: { path: 'src/##[error]x.py', startLine: 3 } }));
    expect(legacy.file).toBeUndefined();
    expect(legacy.message).toContain('#\u200b#[error]x.py:3: ');
    const fine = toAnnotation(finding({ location: { path: 'd'.repeat(ANNOTATION_FILE_MAX - 3) + '.py', startLine: 3 } }));
    expect(fine.file).toHaveLength(ANNOTATION_FILE_MAX);
  });

  it('publishResult posts exactly one annotation per finding, capped, and a clean summary', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'secgate-escape-'));
    const saved = { ...process.env };
    process.env['RUNNER_TEMP'] = dir;
    process.env['GITHUB_OUTPUT'] = path.join(dir, 'output');
    process.env['GITHUB_STEP_SUMMARY'] = path.join(dir, 'summary');
    await writeFile(process.env['GITHUB_OUTPUT'], '');
    await writeFile(process.env['GITHUB_STEP_SUMMARY'], '');
    try {
      const findings = [
        finding({ title: hostile, message: hostile + 'm'.repeat(1_000_000) }),
        finding({ location: { path: `evil\n\u0085::error::x${hostile}.py`, startLine: 1 }, message: '\u001b[31mred\u001b[0m \u001b]8;;http://x\u0007link\u001b]8;;\u0007' }),
        finding({ location: { path: `${'p'.repeat(250)}/`.repeat(4000) + 'deep.py', startLine: 2 } })
      ];
      const out = await captureStdout(async () => {
        await publishResult(result(findings, dir), { sarifFile: path.join(dir, 'r.sarif'), reportFile: path.join(dir, 'r.json') }, actionsLogger);
      });
      for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(LOG_LINE_LIMIT);
      const commands = parseWorkflowCommands(out);
      expect(commands.map((c) => c.command)).toEqual(['error', 'error', 'error']);
      expect(commands.map((c) => c.properties['file'])).toEqual(['src/app.py', undefined, undefined]);
      expect(out).not.toContain('##[');
      expect(forgedCommands(out.split('\n').filter((l) => !l.startsWith('::error ')).join('\n'))).toEqual([]);
      const summary = await readFile(process.env['GITHUB_STEP_SUMMARY'], 'utf8');
      expect(summary).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      // A 1 MB path is cut in its table cell instead of pushing every other row out.
      expect(summary).toMatch(/deep\.py|more characters/);
      expect(summary).toContain('… [');
      expect(Buffer.byteLength(summary)).toBeLessThan(1_000_000);
    } finally {
      process.env = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('summary text', () => {
  it('stripAnsi removes CSI, OSC, 8-bit CSI, C0/C1 controls and bidi overrides, and keeps text', () => {
    expect(stripAnsi('\u001b[1;31mred\u001b[0m')).toBe('red');
    expect(stripAnsi('\u001b]8;;https://evil\u0007click\u001b]8;;\u001b\\')).toBe('click');
    expect(stripAnsi('a\u009b31mb')).toBe('ab');
    expect(stripAnsi('a\u0000b\u0007c\u007fd\u0090e')).toBe('abcde');
    expect(stripAnsi('evil\u202egnp.exe')).toBe('evilgnp.exe');
    expect(stripAnsi('a\u2028b\u0085c\r\nd\re')).toBe('a\nb\nc\nd\ne');
    expect(stripAnsi('tab\tkept, ünïcödé kept')).toBe('tab\tkept, ünïcödé kept');
  });

  it('escapeMarkdown and escapeCode strip ANSI before escaping', () => {
    expect(escapeMarkdown('\u001b[31m<b>x</b>\u001b[0m\u2028# h')).toBe('&lt;b&gt;x&lt;/b&gt; \\# h');
    expect(escapeCode('\u001b]0;title\u0007a`b')).toBe('<code>a&#96;b</code>');
  });

  it('buildSummary carries no escape sequence or control from titles, paths and tool errors', () => {
    const summary = buildSummary({
      ...result([finding({ title: '\u001b[2J\u001b[31mcleared\u001b[0m', location: { path: 'a\u001b[8mhidden\u001b[0m.py', startLine: 1 } })], '/ws'),
      tools: [{ stage: 'sast', tool: 'bandit', displayName: 'Bandit\u001b[5m', status: 'ok', findingCount: 1, warnings: ['w\u001b]8;;x\u0007'], installMs: 0, runMs: 0 }]
    });
    expect(summary).not.toMatch(/[\u001b\u009b\u0007]/);
    expect(summary).toContain('cleared');
  });

  it('commandText folds lines for titles and caps', () => {
    expect(commandText('a\nb\u2028c', 100, true)).toBe('a b c');
    expect(commandText('x'.repeat(500), 100).length).toBe(100);
  });
});
