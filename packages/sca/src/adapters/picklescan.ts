import {
  ToolOutputError,
  type ExitMeaning,
  type InventoryItem,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type SkipDecision,
  type ToolAdapter,
  type ToolContext,
  type ToolInvocation,
  type UncheckedItem
} from '@secgate/core';
import { PICKLE_FORMATS, discoverModelFiles, type ModelFile } from '../models.js';

/**
 * picklescan: lists the imports (globals) a pickle stream would perform when loaded, in plain
 * pickles, PyTorch files (zip and legacy: the first five pickles), numpy object arrays and zips of
 * them. https://github.com/mmaitre314/picklescan
 *
 * picklescan has no JSON output. Its log text (picklescan 1.0.5, `-g -l INFO`) is read strictly,
 * one invocation per model file so that every line belongs to that file:
 *
 * ```
 * <file>[:<zip member>]: dangerous import '<module> <name>' FOUND     one per dangerous global
 * WARNING: could not parse <file> as pickle: <reason>                  → the file is unchecked
 * ERROR: parsing pickle in <file>: <reason>                            → partly read: unchecked
 * Invalid file <member> in zip archive <file>: <reason>                → a member unread: unchecked
 * WARNING: Invalid PyTorch magic number for file <file>…               (it retries as a pickle)
 * Unhandled exception / Traceback … / <Error>: <message>               → unchecked (exit 2, no summary)
 * ----------- SCAN SUMMARY -----------
 * Scanned files: N / Infected files: N / Suspicious globals: N / Dangerous globals: N
 * All globals found:                                                   (only when there are any)
 *   * <module>.<name> - innocuous|suspicious|dangerous
 * ```
 *
 * Any other line, a missing summary or a globals list whose counts differ from the summary (a
 * global name holding a newline) is a ToolOutputError. Why not its Python API through a helper
 * script: the installer runs a locked distribution's own entry points, and a text format pinned
 * with the version is read here as strictly as a JSON report. The console script, not
 * `python -m picklescan`: picklescan's `__main__` drops main()'s return value (always exit 0).
 *
 * Severity map:
 *
 * | picklescan | secgate | why |
 * |---|---|---|
 * | dangerous | critical | loading the file runs that callable (`posix.system`, `builtins.eval`, …): code execution |
 * | suspicious | low | an import outside picklescan's small allow-list (every scikit-learn class is one): it shows what code loading imports, and does not block on its own |
 * | innocuous | — | no finding |
 *
 * A file is `unsafe` in the inventory when it has a dangerous global, `not-scanned` when it is
 * unchecked, else `clean`. picklescan does not read Keras (`.h5`, `.keras`) or SavedModel files:
 * they are modelscan's, and picklescan is "not applicable" when nothing else is in scope.
 */
export const PICKLESCAN_SEVERITY: Readonly<Record<string, Severity>> = {
  DANGEROUS: 'critical',
  SUSPICIOUS: 'low'
};

const SAFETY_LEVELS = new Set(['innocuous', 'suspicious', 'dangerous']);
const SUMMARY_HEADER = '----------- SCAN SUMMARY -----------';
const SUMMARY_KEYS = ['Scanned files', 'Infected files', 'Suspicious globals', 'Dangerous globals'] as const;
/** Longest operator name kept in a rule id (a pickle can name a global of any length). */
const MAX_OPERATOR_LENGTH = 200;

/** A global's name as a rule id: control characters shown as `?`, cut at MAX_OPERATOR_LENGTH. */
export function operatorId(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > MAX_OPERATOR_LENGTH ? `${clean.slice(0, MAX_OPERATOR_LENGTH - 1)}…` : clean;
}

/** Reasons quote the scanned file's absolute path: shown workspace-relative, and cut short. */
function reasonText(text: string, file: ModelFile): string {
  const relative = text.split(file.absolute).join(file.path).trim();
  return relative.length > 300 ? `${relative.slice(0, 299)}…` : relative;
}

/** The model file an invocation scans (set by `command`). */
function fileOf(invocation: ToolInvocation): ModelFile {
  const file = invocation.data?.['file'] as ModelFile | undefined;
  if (!file) throw new ToolOutputError('picklescan', 'internal: the invocation names no model file');
  return file;
}

/**
 * Reads picklescan's output for one file (see the format above): findings, and an unchecked item
 * when picklescan could not read all of it.
 */
export function parsePicklescanOutput(text: string, file: ModelFile): ParsedReport {
  const fail = (problem: string): never => {
    throw new ToolOutputError('picklescan', problem);
  };
  if (text.trim() === '') fail('the output is empty');
  const lines = text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  const unreadable: string[] = [];
  const summary = new Map<string, number>();
  const globals: { id: string; level: string }[] = [];
  let section: 'log' | 'summary' | 'globals' = 'log';
  let dangerousLines = 0;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const at = `line ${index + 1}`;
    if (section === 'log') {
      if (line === SUMMARY_HEADER) {
        section = 'summary';
      } else if (line === 'Unhandled exception') {
        // Traceback follows; its last line is `<ExceptionType>: <message>`. No summary is printed.
        const last = lines.slice(index + 1).filter((l) => l.trim() !== '').pop() ?? 'no detail';
        unreadable.push(`picklescan failed on it (${reasonText(last, file)})`);
        return finish(file, [], unreadable);
      } else if (line.startsWith(file.absolute) && line.endsWith("' FOUND") && / import '/.test(line)) {
        dangerousLines++;
      } else if (line.startsWith(`WARNING: could not parse ${file.absolute}`)) {
        const separator = line.indexOf(' as pickle: ');
        const reason = separator < 0 ? line : line.slice(separator + ' as pickle: '.length);
        unreadable.push(`not a pickle stream picklescan can read (${reasonText(reason, file)})`);
      } else if (line.startsWith(`ERROR: parsing pickle in ${file.absolute}`)) {
        unreadable.push(`picklescan read it only in part (${reasonText(line.slice('ERROR: parsing pickle in '.length), file)})`);
      } else if (line.startsWith('Invalid file ') && line.includes(` in zip archive ${file.absolute}`)) {
        unreadable.push(`a zip member could not be read (${reasonText(line, file)})`);
      } else if (line.startsWith(`WARNING: Invalid PyTorch magic number for file ${file.absolute}`)) {
        // picklescan then scans the file as a plain pickle; what that finds (or fails to read) follows.
      } else {
        fail(`${at} is not part of picklescan's documented output (${JSON.stringify(operatorId(line).slice(0, 80))})`);
      }
    } else if (section === 'summary') {
      const key = SUMMARY_KEYS[summary.size];
      if (key !== undefined) {
        const match = /^(.+): (\d{1,12})$/.exec(line);
        if (!match || match[1] !== key) fail(`${at} should be "${key}: <count>"`);
        summary.set(key, Number(match![2]));
      } else if (line === 'All globals found:') {
        section = 'globals';
      } else {
        fail(`${at} follows the summary but is not "All globals found:"`);
      }
    } else {
      const match = /^ {2}\* (.+) - ([a-z]+)$/.exec(line);
      if (!match || !SAFETY_LEVELS.has(match[2]!)) fail(`${at} is not a "  * <module>.<name> - <safety>" entry`);
      globals.push({ id: operatorId(match![1]!), level: match![2]! });
    }
  }
  if (summary.size !== SUMMARY_KEYS.length) fail('the scan summary is missing or incomplete');
  const count = (level: string): number => globals.filter((g) => g.level === level).length;
  if (count('dangerous') !== summary.get('Dangerous globals') || count('suspicious') !== summary.get('Suspicious globals')) {
    fail(
      `the globals listed (${count('dangerous')} dangerous, ${count('suspicious')} suspicious) differ from the summary (${summary.get('Dangerous globals')}, ${summary.get('Suspicious globals')})`
    );
  }
  if (dangerousLines !== summary.get('Dangerous globals')) {
    fail(`${dangerousLines} "FOUND" line(s) for ${summary.get('Dangerous globals')} dangerous global(s)`);
  }
  if (summary.get('Scanned files') === 0) unreadable.push('picklescan found nothing in it to scan');
  return finish(file, globals, unreadable);
}

function finish(file: ModelFile, globals: { id: string; level: string }[], unreadable: string[]): ParsedReport {
  // One finding per file and global: a global repeated in several pickles of one file is one problem.
  const byId = new Map<string, string>();
  for (const g of globals) {
    if (g.level === 'innocuous') continue;
    if (byId.get(g.id) !== 'dangerous') byId.set(g.id, g.level);
  }
  const findings: RawFinding[] = [...byId].map(([id, level]) => finding(file, id, level));
  const unsafe = findings.some((f) => f.severity === 'critical');
  const unchecked: UncheckedItem[] = unreadable.length > 0 ? [{ kind: 'file', name: file.path, reason: `picklescan: ${unreadable.join('; ')}` }] : [];
  const inventory: InventoryItem[] = [
    {
      kind: 'machine-learning-model',
      name: file.path,
      path: file.path,
      sha256: file.sha256,
      verdict: unsafe ? 'unsafe' : unchecked.length > 0 ? 'not-scanned' : 'clean'
    }
  ];
  return { findings, warnings: [], unchecked, inventory };
}

function finding(file: ModelFile, id: string, level: string): RawFinding {
  const dangerous = level === 'dangerous';
  return {
    tool: 'picklescan',
    ruleId: id,
    title: dangerous ? `Model file imports ${id} when loaded (code execution)` : `Model file imports ${id} when loaded`,
    message: dangerous
      ? `Loading ${file.path} (pickle, torch.load, joblib.load, numpy allow_pickle) calls ${id}: code runs on the machine that loads it. Do not load it; get the model from a trusted source or in a format without code (safetensors).`
      : `Loading ${file.path} imports ${id}, which is outside picklescan's allow-list: check that this code is expected.`,
    severity: PICKLESCAN_SEVERITY[level.toUpperCase()]!,
    location: { path: file.path },
    cwe: ['CWE-502'],
    helpUri: 'https://github.com/mmaitre314/picklescan',
    tags: ['model', file.format],
    identity: `${file.sha256}:${id}`
  };
}

async function pickleFiles(context: ToolContext): Promise<ModelFile[]> {
  return (await discoverModelFiles(context)).filter((f) => PICKLE_FORMATS.has(f.format));
}

export const picklescanAdapter: ToolAdapter = {
  id: 'picklescan',
  displayName: 'picklescan',
  description: 'Imports that pickle-based model files (pickle, PyTorch, joblib, numpy) run when loaded.',
  install: { kind: 'python', tool: 'picklescan', distribution: 'picklescan', module: 'picklescan', script: 'picklescan', defaultVersion: '1.0.5' },
  defaultTimeoutMs: 15 * 60_000,
  severityMap: PICKLESCAN_SEVERITY,
  async skip(context): Promise<SkipDecision | undefined> {
    if ((await pickleFiles(context)).length > 0) return undefined;
    return { reason: 'no pickle-based model file in scope (.pkl, .pickle, .joblib, .pt, .pth, .bin, .ckpt, .npy, .npz)', notApplicable: true };
  },
  async command(_tool, context) {
    return (await pickleFiles(context)).map((file) => ({
      args: ['-p', file.absolute, '-g', '-l', 'INFO'],
      mode: file.path,
      data: { file }
    }));
  },
  exitMeaning(code): ExitMeaning {
    // picklescan/cli.py: 0 no dangerous global, 1 dangerous globals, 2 a file it could not (fully)
    // read or an exception. For 2 the output says which (one file per run): the parser makes the
    // file unchecked, so 2 never reads as clean.
    return code === 0 || code === 2 ? 'clean' : code === 1 ? 'findings' : 'error';
  },
  parse: (report, _context, invocation) => parsePicklescanOutput(report, fileOf(invocation))
};
