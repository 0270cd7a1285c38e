import { Command, CommanderError, Option } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ConfigurationError,
  DEFAULT_BASELINE_FILE,
  SecgateError,
  ToolInstaller,
  buildJsonReport,
  buildSarif,
  buildSbom,
  describeCommitRange,
  errorMessage,
  historyCommits,
  isGitWorkTree,
  parseList,
  parseRangeSpec,
  parseSinceDate,
  prepareScan,
  resolveCommit,
  runScan,
  selectAdapters,
  writeBaseline,
  type CommitRange,
  type Logger,
  type PreparedScan,
  type RawSettings,
  type ScanResult
} from '@secgate/core';
import { HISTORY_TOOLS, STAGES, stagesByName } from './stages.js';
import { renderReport, terminalLogger } from './terminal.js';

/** Exit codes mirror the gate (documented in README). */
export const EXIT = { pass: 0, fail: 1, configuration: 2, tool: 3, internal: 4 } as const;

interface ScanFlags {
  stage: string;
  tools?: string;
  failOn?: string;
  reportSeverity?: string;
  newOnly?: string;
  config?: string;
  baseline?: string;
  paths?: string;
  exclude?: string;
  sarif?: string;
  json?: string;
  toolVersions?: string;
  allowUnverifiedTools?: boolean;
  timeoutMinutes?: string;
  mirrorUrl?: string;
  pipIndexUrl?: string;
  python?: string;
  semgrepRules?: string;
  secretsScan?: string;
  osvUrl?: string;
  vulnerabilityService?: string;
  unknownSeverity?: string;
  ignoreUnfixed?: boolean;
  osvOfflineDb?: string;
  manifests?: string;
  modelPaths?: string;
  image?: string;
  imageTar?: string;
  dockerfile?: string;
  iacPaths?: string;
  scanners?: string;
  trivyDbDir?: string;
  trivyDbRepository?: string;
  trivyDbMaxAge?: string;
  clairUrl?: string;
  clairLayerHost?: string;
  mode?: string;
  target?: string;
  apiKeyHeader?: string;
  maxQueries?: string;
  profile?: string;
  concurrency?: string;
  rateLimit?: string;
  seed?: string;
  baselineReport?: string;
  regressionMargin?: string;
  evalData?: string;
  requestTemplate?: string;
  responsePath?: string;
  inputRange?: string;
  epsilon?: string;
  norm?: string;
  attacks?: string;
  samples?: string;
  modelFile?: string;
  minRobustAccuracy?: string;
  maxAttackSuccessRate?: string;
  minCleanAccuracy?: string;
  model?: string;
  engines?: string;
  probes?: string;
  openapi?: string;
  sbom?: string;
  range?: string;
  since?: string;
  verbose?: boolean;
}

/** Secret sca options and the environment variables the CLI reads them from. */
const SECRET_ENV: readonly (readonly [string, string])[] = [
  ['safety-api-key', 'SECGATE_SAFETY_API_KEY'],
  ['snyk-token', 'SNYK_TOKEN'],
  ['token', 'GITHUB_TOKEN'],
  ['api-key', 'SECGATE_ADVERSARIAL_API_KEY']
];

/** Outside a runner, tool-cache needs these; a per-user cache makes the second run fast. */
function ensureRunnerDirs(): void {
  const cacheHome = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  process.env['RUNNER_TOOL_CACHE'] ||= path.join(cacheHome, 'secgate', 'tools');
  process.env['RUNNER_TEMP'] ||= path.join(os.tmpdir(), 'secgate');
}

function settingsFrom(target: string, flags: ScanFlags): RawSettings {
  const options: Record<string, string> = {};
  if (flags.semgrepRules) options['semgrep-rules'] = flags.semgrepRules;
  if (flags.secretsScan) options['secrets-scan'] = flags.secretsScan;
  if (flags.osvUrl) options['osv-url'] = flags.osvUrl;
  if (flags.vulnerabilityService) options['vulnerability-service'] = flags.vulnerabilityService;
  if (flags.unknownSeverity) options['unknown-severity'] = flags.unknownSeverity;
  if (flags.ignoreUnfixed) options['ignore-unfixed'] = 'true';
  if (flags.osvOfflineDb) options['osv-offline-db'] = path.resolve(flags.osvOfflineDb);
  if (flags.manifests) options['manifests'] = flags.manifests;
  if (flags.modelPaths) options['model-paths'] = flags.modelPaths;
  // container: workspace paths stay relative to the scanned folder (as in the action); the DB
  // directory may live anywhere, so it is made absolute here.
  if (flags.image) options['image'] = flags.image;
  if (flags.imageTar) options['image-tar'] = flags.imageTar;
  if (flags.dockerfile) options['dockerfile'] = flags.dockerfile;
  if (flags.iacPaths) options['iac-paths'] = flags.iacPaths;
  if (flags.scanners) options['scanners'] = flags.scanners;
  if (flags.trivyDbDir) options['trivy-db-dir'] = path.resolve(flags.trivyDbDir);
  if (flags.trivyDbRepository) options['trivy-db-repository'] = flags.trivyDbRepository;
  if (flags.trivyDbMaxAge) options['trivy-db-max-age'] = flags.trivyDbMaxAge;
  if (flags.clairUrl) options['clair-url'] = flags.clairUrl;
  if (flags.clairLayerHost) options['clair-layer-host'] = flags.clairLayerHost;
  // adversarial: every flag is the input of the same name (files stay relative to the scanned folder).
  const adversarial: [keyof ScanFlags, string][] = [
    ['mode', 'mode'], ['target', 'target'], ['apiKeyHeader', 'api-key-header'], ['maxQueries', 'max-queries'], ['profile', 'profile'],
    ['concurrency', 'concurrency'], ['rateLimit', 'rate-limit'], ['seed', 'seed'], ['baselineReport', 'baseline-report'],
    ['regressionMargin', 'regression-margin'], ['evalData', 'eval-data'], ['requestTemplate', 'request-template'], ['responsePath', 'response-path'],
    ['inputRange', 'input-range'], ['epsilon', 'epsilon'], ['norm', 'norm'], ['attacks', 'attacks'], ['samples', 'samples'], ['modelFile', 'model-file'],
    ['minRobustAccuracy', 'min-robust-accuracy'], ['maxAttackSuccessRate', 'max-attack-success-rate'], ['minCleanAccuracy', 'min-clean-accuracy'],
    ['model', 'model'], ['engines', 'engines'], ['probes', 'probes'], ['openapi', 'openapi']
  ];
  for (const [flag, input] of adversarial) {
    const value = flags[flag];
    if (typeof value === 'string' && value !== '') options[input] = value;
  }
  // Keys come from the environment only, never from flags (flags end up in shell history).
  for (const [option, variable] of SECRET_ENV) {
    const value = process.env[variable];
    if (value) options[option] = value;
  }
  return {
    workspace: target,
    tools: flags.tools,
    paths: flags.paths,
    exclude: flags.exclude,
    failOn: flags.failOn,
    reportSeverity: flags.reportSeverity,
    newOnly: flags.newOnly,
    config: flags.config,
    baseline: flags.baseline,
    toolVersions: flags.toolVersions,
    allowUnverifiedTools: flags.allowUnverifiedTools,
    timeoutMinutes: flags.timeoutMinutes,
    mirrorUrl: flags.mirrorUrl ?? process.env['SECGATE_MIRROR_URL'],
    pipIndexUrl: flags.pipIndexUrl,
    python: flags.python,
    options
  };
}

/** What the secret scanners' history part covers, decided (and validated) before any tool is installed. */
interface HistoryPlan {
  commitRange?: CommitRange;
  /** Shown with the report: which commits were read. */
  note?: string;
  /** History was part of the default scan but could not be read: the run must not pass. */
  notScanned?: string;
}

/**
 * The CLI scans local history: all of it from HEAD by default, or `--range base..head`, or the
 * commits since `--since`. Asked-for history that cannot be read is a configuration error; for the
 * default (`both`) in a folder that is not a git repository the files are scanned and the run
 * ends in an error naming what was not scanned, never in a pass.
 */
async function planHistory(prepared: PreparedScan, flags: ScanFlags, logger: Logger): Promise<HistoryPlan> {
  const { workspace, options } = prepared.request;
  const asked = flags.secretsScan !== undefined;
  const mode = (flags.secretsScan ?? 'both').trim().toLowerCase();
  const selection = flags.range !== undefined ? '--range' : flags.since !== undefined ? '--since' : undefined;
  if (mode === 'tree') {
    if (selection) throw new ConfigurationError(`${selection} selects commits to scan: it needs --secrets-scan history or both`, 'secrets-scan');
    return {};
  }
  const historyTools = selectAdapters(prepared.request.stages, prepared.request.tools).filter((s) => HISTORY_TOOLS.includes(s.adapter.id));
  if (historyTools.length === 0) {
    if (selection) throw new ConfigurationError(`${selection} applies to ${HISTORY_TOOLS.join(' and ')}, and neither is selected`, 'tools');
    return {};
  }
  if (!(await isGitWorkTree(workspace))) {
    if (asked || selection) {
      throw new ConfigurationError(`history scanning was asked for, but the scanned folder is not a git repository (use --secrets-scan tree)`, 'secrets-scan');
    }
    options['secrets-scan'] = 'tree';
    return {
      notScanned: 'history not scanned: the scanned folder is not a git repository, so only its files were scanned (--secrets-scan tree scans the files alone)'
    };
  }
  const since = flags.since !== undefined ? parseSinceDate(flags.since) : undefined;
  const spec = flags.range !== undefined ? parseRangeSpec(flags.range) : undefined;
  const head = await resolveCommit(workspace, spec?.head ?? 'HEAD');
  if (!head) {
    if (spec) throw new ConfigurationError(`'${spec.head}' is not a commit of this repository`, 'range');
    if (asked || selection) throw new ConfigurationError('history scanning was asked for, but the repository has no commits yet', 'secrets-scan');
    // Nothing committed, so no history can hold a secret: the files are all there is.
    options['secrets-scan'] = 'tree';
    return { note: 'Secrets history: the repository has no commits yet; only the files were scanned' };
  }
  const base = spec ? await resolveCommit(workspace, spec.base) : undefined;
  if (spec && !base) throw new ConfigurationError(`'${spec.base}' is not a commit of this repository`, 'range');
  const range: CommitRange = { head, ...(base ? { base } : {}), ...(since ? { since } : {}) };
  const commits = await historyCommits(workspace, range, logger);
  if (commits.length === 0) {
    throw new ConfigurationError(`${describeCommitRange(range)} holds no commits, so there is no history to scan`, selection === '--range' ? 'range' : 'since');
  }
  return { commitRange: range, note: `Secrets history: ${commits.length} commit(s), ${describeCommitRange(range)}` };
}

/** A history the default scan could not read is an error of the run, in the terminal and in the reports. */
function withHistoryError(result: ScanResult, notScanned: string | undefined): ScanResult {
  if (!notScanned) return result;
  return { ...result, errors: [...result.errors, new ConfigurationError(notScanned, 'secrets-scan')], verdict: 'error' };
}

/** `error` ends in 2 when only the settings were at fault, 3 when a tool failed. */
function exitCodeOf(result: ScanResult): number {
  if (result.verdict === 'pass') return EXIT.pass;
  if (result.verdict === 'fail') return EXIT.fail;
  return result.errors.length > 0 && result.errors.every((e) => e.kind === 'configuration') ? EXIT.configuration : EXIT.tool;
}

async function scan(target: string, flags: ScanFlags, writeBaselineTo?: string): Promise<number> {
  ensureRunnerDirs();
  const logger = terminalLogger(Boolean(flags.verbose));
  const stages = stagesByName(parseList(flags.stage));
  const prepared = await prepareScan(stages, settingsFrom(target, flags), { logger, now: new Date() });
  const history = await planHistory(prepared, flags, logger);
  const installer = new ToolInstaller({ ...prepared.installer, logger });
  const scanned = await runScan({ ...prepared.request, commitRange: history.commitRange }, { installer, logger });
  const result = withHistoryError(scanned, history.notScanned);
  const report = (): string => renderReport(result, { notes: history.note ? [history.note] : [] }) + '\n';
  if (writeBaselineTo) {
    if (result.errors.length > 0) {
      process.stdout.write(report());
      logger.error('baseline not written: a tool failed, so the baseline would be incomplete');
      return EXIT.tool;
    }
    const file = path.resolve(prepared.request.workspace, writeBaselineTo);
    const written = await writeBaseline(file, result.findings);
    logger.info(`Wrote ${written.findings.length} fingerprint(s) to ${file}`);
    return EXIT.pass;
  }
  if (flags.sarif) {
    await mkdir(path.dirname(path.resolve(flags.sarif)), { recursive: true });
    await writeFile(flags.sarif, buildSarif(result).text);
  }
  if (flags.json) {
    await mkdir(path.dirname(path.resolve(flags.json)), { recursive: true });
    await writeFile(flags.json, buildJsonReport(result));
  }
  if (flags.sbom) {
    await mkdir(path.dirname(path.resolve(flags.sbom)), { recursive: true });
    await writeFile(flags.sbom, buildSbom(result));
  }
  process.stdout.write(report());
  return exitCodeOf(result);
}

function addScanOptions(command: Command): Command {
  return command
    .option('-s, --stage <stages>', `comma list of stages (${STAGES.map((s) => s.id).join(', ')})`, 'sast')
    .option('-t, --tools <tools>', 'comma list of tools (default: each stage’s defaults)')
    .addOption(new Option('--fail-on <severity>', 'fail at or above this severity').choices(['critical', 'high', 'medium', 'low', 'info', 'none']))
    .addOption(new Option('--report-severity <severity>', 'show findings at or above this severity').choices(['critical', 'high', 'medium', 'low', 'info']))
    .addOption(new Option('--new-only <mode>', 'count only new findings').choices(['off', 'baseline']))
    .option('-c, --config <file>', 'policy file (default .secgate.yml in the scanned folder)')
    .option('--baseline <file>', `baseline file (default ${DEFAULT_BASELINE_FILE})`)
    .option('--paths <paths>', 'comma list of paths inside the folder to scan (default: all of it)')
    .option('--exclude <globs>', 'comma list of paths/globs to leave out')
    .option('--tool-versions <list>', 'tool=version[@sha256] overrides, comma separated')
    .option('--allow-unverified-tools', 'allow overridden versions without a checksum')
    .option('--timeout-minutes <n>', 'per-tool time limit')
    .option('--mirror-url <url>', 'base URL replacing https://github.com/ for release downloads')
    .option('--pip-index-url <url>', 'Python package index for tool installs')
    .option('--python <path>', 'Python interpreter for tool venvs')
    .option('--semgrep-rules <paths>', 'extra Semgrep rule files/folders (sast)')
    .addOption(
      new Option('--secrets-scan <mode>', 'secret scanners read the files (tree), the local git history (history) or both; default both (sast)').choices(['tree', 'history', 'both'])
    )
    .option('--range <base..head>', 'history: only the commits of base..head (branches, tags or SHAs; default: all history from HEAD)')
    .option('--since <date>', 'history: only commits dated on or after this ISO 8601 date (YYYY-MM-DD means 00:00 UTC)')
    .addOption(new Option('--vulnerability-service <service>', 'where pip-audit looks advisories up (sca; default osv)').choices(['osv', 'pypi']))
    .option('--osv-url <url>', 'base URL of an OSV-compatible API for lookups and severity enrichment (sca; default https://api.osv.dev)')
    .option('--osv-offline-db <dir>', 'offline OSV database directory for osv-scanner (sca; air-gapped)')
    .addOption(new Option('--unknown-severity <severity>', 'severity of an advisory or check without one (sca, container; default high)').choices(['critical', 'high', 'medium', 'low', 'info']))
    .option('--ignore-unfixed', 'vulnerabilities no release fixes are shown but never block (sca, container)')
    .option('--manifests <paths>', 'comma list of dependency manifests/lockfiles to audit (sca; default: discovered)')
    .option('--model-paths <paths>', 'comma list of model files/folders to scan (sca; default: discovered by extension)')
    .option('--image <ref>', 'image reference in a registry to scan (container; needs network)')
    .option('--image-tar <file>', 'image tarball inside the scanned folder: docker save or OCI layout tar (container)')
    .option('--dockerfile <file>', 'Dockerfile whose final FROM line image findings point at (container; default: found)')
    .option('--iac-paths <paths>', 'comma list of IaC and Dockerfile paths inside the scanned folder (container; default: --paths)')
    .option('--scanners <list>', 'comma list of vuln, misconfig, secret (container; default: all)')
    .option('--trivy-db-dir <dir>', 'Trivy vulnerability DB directory (trivy.db + metadata.json), used as is (container; air-gapped)')
    .option('--trivy-db-repository <repo>', 'OCI repository to download the Trivy DB from (container)')
    .option('--trivy-db-max-age <hours>', 'refuse a Trivy DB older than this (container; default 168)')
    .option('--clair-url <url>', 'Clair v4 base URL: index and match the image tarball there (container)')
    .option('--clair-layer-host <host>', 'address Clair reaches this machine on to fetch layers (container; default 127.0.0.1)')
    .addOption(new Option('--mode <mode>', 'what the target is (adversarial)').choices(['classifier', 'llm', 'api']))
    .option('--target <url>', 'endpoint URL to attack (adversarial; the key comes from SECGATE_ADVERSARIAL_API_KEY)')
    .option('--api-key-header <name>', 'header carrying the key (adversarial; default Authorization: Bearer <key>)')
    .option('--max-queries <n>', 'hard budget on model evaluations (adversarial)')
    .addOption(new Option('--profile <profile>', 'attack depth (adversarial; default fast)').choices(['fast', 'deep']))
    .option('--concurrency <n>', 'requests in flight (adversarial; default 4)')
    .option('--rate-limit <n>', 'requests per second at most (adversarial)')
    .option('--seed <n>', 'random seed (adversarial; default 42)')
    .option('--baseline-report <file>', 'previous secgate JSON report to compare metrics with (adversarial)')
    .option('--regression-margin <x>', 'allowed regression against --baseline-report (adversarial; default 0.05)')
    .option('--eval-data <file>', 'labelled evaluation set, .npz (x, y) or .csv (adversarial classifier)')
    .option('--request-template <json>', 'request body with $INSTANCES or $INPUT (adversarial)')
    .option('--response-path <jsonpath>', 'where the answer is in the response (adversarial)')
    .option('--input-range <min,max>', 'clip range of inputs (adversarial classifier)')
    .option('--epsilon <x>', 'perturbation budget (adversarial classifier)')
    .addOption(new Option('--norm <norm>', 'perturbation norm (adversarial classifier; default inf)').choices(['inf', '2']))
    .option('--attacks <list>', 'attacks to run (adversarial classifier)')
    .option('--samples <n>', 'samples to attack (adversarial classifier)')
    .option('--model-file <file>', 'ONNX model or surrogate for white-box FGSM/PGD (adversarial classifier)')
    .option('--min-robust-accuracy <x>', 'gate: robust accuracy at least (adversarial classifier)')
    .option('--max-attack-success-rate <x>', 'gate: attack success rate at most (adversarial)')
    .option('--min-clean-accuracy <x>', 'below this the endpoint is broken (adversarial classifier; default 0.5)')
    .option('--model <name>', 'model name for OpenAI-style chat requests (adversarial llm)')
    .option('--engines <list>', 'garak, promptfoo or both (adversarial llm)')
    .option('--probes <list>', 'probe families (adversarial llm)')
    .option('--openapi <file|url>', 'OpenAPI schema of the target (adversarial api)')
    .option('-v, --verbose', 'debug output');
}

export function buildProgram(): Command {
  // exitOverride: a bad flag is a configuration error (exit 2), not commander's exit 1 = "findings".
  const program = new Command('secgate').description('Security gate for AI/ML repositories').showHelpAfterError().exitOverride();
  addScanOptions(program.command('scan').argument('[path]', 'folder to scan', '.'))
    .option('--sarif <file>', 'write SARIF 2.1.0 here')
    .option('--json <file>', 'write the normalised JSON report here')
    .option('--sbom <file>', 'write a CycloneDX 1.6 SBOM (dependencies, model files, image packages) here')
    .description('scan a folder and gate on the findings')
    .action(async (target: string, flags: ScanFlags) => {
      process.exitCode = await scan(target, flags);
    });
  addScanOptions(program.command('baseline').argument('[path]', 'folder to scan', '.'))
    .option('-o, --output <file>', 'where to write the baseline', DEFAULT_BASELINE_FILE)
    .description('record the current findings so that only new ones fail (new-only: baseline)')
    .action(async (target: string, flags: ScanFlags & { output: string }) => {
      process.exitCode = await scan(target, { ...flags, newOnly: 'off' }, flags.output);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    // commander has printed its message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.pass : EXIT.configuration;
    const kind = error instanceof SecgateError ? error.kind : 'internal error';
    process.stderr.write(`secgate: ${kind}: ${errorMessage(error)}\n`);
    return error instanceof SecgateError ? (error.kind === 'configuration' ? EXIT.configuration : EXIT.tool) : EXIT.internal;
  }
}
