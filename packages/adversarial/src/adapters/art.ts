import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  ReportReader,
  ToolFailureError,
  parseJsonReport,
  verdictAgainst,
  wilsonInterval,
  type ExitMeaning,
  type GateMetric,
  type ParsedReport,
  type RawFinding,
  type Severity,
  type ToolAdapter,
  type ToolContext,
  type UncheckedItem
} from '@secgate/core';
import { compareWithBaseline, readBaseline, type Baseline } from '../baseline.js';
import { apiKeyEnv, displayUrl, readApiKey, readBaselineSetting, readClassifierSettings, readMode, type ClassifierGate, type ClassifierSettings } from '../options.js';
import { RUNNER_ATTACKS, RUNNER_ENTRY, RUNNER_FILES } from '../runner-files.js';

/**
 * ART (Adversarial Robustness Toolbox) through secgate's classifier runner
 * (packages/adversarial/runner): black-box evasion of a live classifier endpoint (HopSkipJump on
 * labels, Square on probabilities) and, with `model-file`, white-box FGSM/PGD crafted on the ONNX
 * model and sent to the endpoint. The runner writes our own JSON report
 * (`secgate-adversarial-classifier/1`, see runner/README.md); this adapter gates it.
 *
 * Gate, per attack, with a 95 % Wilson interval on the attacked samples (`attempted`: the samples
 * the endpoint classified correctly):
 * - robust accuracy = robust_correct / attempted ≥ `min-robust-accuracy` (default 0.7 when neither
 *   bar is given), attack success rate = succeeded / attempted ≤ `max-attack-success-rate`;
 * - verdict `fail` when the whole interval misses the bar, `inconclusive` when it straddles it
 *   (a warning: raise `samples`), `pass` otherwise;
 * - clean accuracy below `min-clean-accuracy` (default 0.5) is a ToolFailureError, never a pass:
 *   the endpoint, the labels or the request/response mapping is wrong, so nothing was measured.
 *
 * Severity of an attack's finding (`ART_SEVERITY` documents it): a confirmed miss (`fail`) by 0.3
 * or more is critical, any other confirmed miss high — so it fails the default gate (fail-on high);
 * an inconclusive result is low (shown, not blocking by default; set fail-on low to block on it).
 *
 * Never a silent pass: an attack stopped by the query budget (`max-queries`), an attack that
 * errored and samples the endpoint never scored are ParsedReport.unchecked items (the run is
 * incomplete, red) naming how far the run got; their partial metrics are still shown.
 */
export const ART_SEVERITY: Readonly<Record<string, Severity>> = {
  'FAIL, MISSED BY >= 0.3': 'critical',
  'FAIL, MISSED BY < 0.3': 'high',
  INCONCLUSIVE: 'low'
};

export const ART_TOOL = 'art';
export const ART_REPORT_SCHEMA = 'secgate-adversarial-classifier/1';

const reader: ReportReader = new ReportReader(ART_TOOL);

type Access = 'black-box-labels' | 'black-box-scores' | 'white-box-transfer';
type Status = 'complete' | 'budget-exhausted' | 'error';

const ACCESS: Readonly<Record<string, Access>> = {
  'BLACK-BOX-LABELS': 'black-box-labels',
  'BLACK-BOX-SCORES': 'black-box-scores',
  'WHITE-BOX-TRANSFER': 'white-box-transfer'
};
const STATUS: Readonly<Record<string, Status>> = { COMPLETE: 'complete', 'BUDGET-EXHAUSTED': 'budget-exhausted', ERROR: 'error' };
const NORM: Readonly<Record<string, 'inf' | '2'>> = { INF: 'inf', '2': '2' };
const RESPONSE: Readonly<Record<string, 'probabilities' | 'labels'>> = { PROBABILITIES: 'probabilities', LABELS: 'labels' };
const PROFILE: Readonly<Record<string, 'fast' | 'deep'>> = { FAST: 'fast', DEEP: 'deep' };
const ERROR_KIND: Readonly<Record<string, 'http' | 'config' | 'attack'>> = { HTTP: 'http', CONFIG: 'config', ATTACK: 'attack' };

/** Examples quoted per failing attack. */
const MAX_EXAMPLES = 3;
/** Runner ratios are written rounded; a value further than this from its counts is garbled. */
const RATIO_TOLERANCE = 0.002;

// ---------------------------------------------------------------------------------------------
// Reading the runner's report

export interface ArtExample {
  index: number;
  trueLabel: number;
  cleanPred: number;
  advPred: number;
  perturbation: number | null;
}

export interface ArtAttack {
  id: string;
  name: string;
  access: Access;
  norm: 'inf' | '2';
  eps: number;
  attempted: number;
  succeeded: number;
  robustCorrect: number;
  meanConfidenceDrop: number | null;
  medianPerturbation: number | null;
  queries: number;
  seconds: number;
  status: Status;
  error: string | null;
  examples: ArtExample[];
}

export interface ArtReport {
  runnerVersion: string;
  artVersion: string;
  target: string;
  profile: 'fast' | 'deep';
  seed: number;
  /** null when the endpoint never answered usefully. */
  response: 'probabilities' | 'labels' | null;
  nbClasses: number;
  inputShape: number[];
  samples: { requested: number; evaluated: number; correct: number };
  budget: { maxQueries: number; used: number; exhausted: boolean };
  attacks: ArtAttack[];
  http: { requests: number; instances: number; retries: number; errors: Record<string, number> };
  errors: { kind: 'http' | 'config' | 'attack'; message: string }[];
}

/** A value as an error quotes it: a scalar as JSON, cut short; a container by its kind only (a deeply nested one overflows JSON.stringify). */
function shown(value: unknown, max = 40): string {
  if (value === undefined) return 'missing';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return JSON.stringify(typeof value === 'string' ? value.slice(0, max) : value).slice(0, max);
}

function number(value: unknown, where: string, min: number, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) reader.fail(where, `is ${shown(value)}, expected a number from ${min} to ${max}`);
  return value;
}

function nullableNumber(value: unknown, where: string, min: number, max?: number): number | null {
  return value === null ? null : number(value, where, min, max);
}

function boolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') reader.fail(where, `is ${shown(value)}, expected true or false`);
  return value;
}

/** A written ratio must agree with the counts it was computed from. */
function checkRatio(value: unknown, where: string, numerator: number, denominator: number): void {
  if (denominator === 0) {
    if (value !== null) number(value, where, 0, 1);
    return;
  }
  const written = number(value, where, 0, 1);
  if (Math.abs(written - numerator / denominator) > RATIO_TOLERANCE) reader.fail(where, `is ${written}, but its counts give ${numerator}/${denominator}`);
}

function readExample(item: unknown, where: string): ArtExample {
  const e = reader.object(item, where);
  return {
    index: reader.integer(e['index'], `${where}.index`, 0),
    trueLabel: reader.integer(e['true_label'], `${where}.true_label`, 0),
    cleanPred: reader.integer(e['clean_pred'], `${where}.clean_pred`, 0),
    advPred: reader.integer(e['adv_pred'], `${where}.adv_pred`, 0),
    perturbation: e['perturbation'] === undefined ? null : nullableNumber(e['perturbation'], `${where}.perturbation`, 0)
  };
}

function readAttack(item: unknown, where: string): ArtAttack {
  const a = reader.object(item, where);
  const attempted = reader.integer(a['attempted'], `${where}.attempted`, 0);
  const succeeded = reader.integer(a['succeeded'], `${where}.succeeded`, 0);
  const robustCorrect = reader.integer(a['robust_correct'], `${where}.robust_correct`, 0);
  if (succeeded + robustCorrect > attempted) reader.fail(`${where}.succeeded`, `(${succeeded}) plus robust_correct (${robustCorrect}) exceed attempted (${attempted})`);
  checkRatio(a['robust_accuracy'], `${where}.robust_accuracy`, robustCorrect, attempted);
  checkRatio(a['attack_success_rate'], `${where}.attack_success_rate`, succeeded, attempted);
  const status = reader.oneOf(a['status'], `${where}.status`, STATUS);
  const error = a['error'] === null ? null : reader.string(a['error'], `${where}.error`);
  if (status === 'error' && error === null) reader.fail(`${where}.error`, 'is null although the status is error');
  return {
    id: reader.word(a['id'], `${where}.id`),
    name: reader.word(a['name'], `${where}.name`),
    access: reader.oneOf(a['access'], `${where}.access`, ACCESS),
    norm: reader.oneOf(a['norm'], `${where}.norm`, NORM),
    eps: number(a['eps'], `${where}.eps`, Number.MIN_VALUE),
    attempted,
    succeeded,
    robustCorrect,
    meanConfidenceDrop: nullableNumber(a['mean_confidence_drop'], `${where}.mean_confidence_drop`, -1, 1),
    medianPerturbation: nullableNumber(a['median_perturbation'], `${where}.median_perturbation`, 0),
    queries: reader.integer(a['queries'], `${where}.queries`, 0),
    seconds: number(a['seconds'], `${where}.seconds`, 0),
    status,
    error,
    examples: reader.each(a['examples'], `${where}.examples`, readExample)
  };
}

/** The runner's JSON report, read strictly: any missing key, wrong type or unknown word is a ToolOutputError naming the field. */
export function readArtReport(text: string): ArtReport {
  const r = reader.object(parseJsonReport(ART_TOOL, text), 'the report');
  if (r['schema'] !== ART_REPORT_SCHEMA) reader.fail('schema', `is ${shown(r['schema'], 60)}, expected "${ART_REPORT_SCHEMA}": not secgate's ART runner report`);
  const samples = reader.object(r['samples'], 'samples');
  const requested = reader.integer(samples['requested'], 'samples.requested', 0);
  const evaluated = reader.integer(samples['evaluated'], 'samples.evaluated', 0);
  const correct = reader.integer(samples['correct'], 'samples.correct', 0);
  if (evaluated > requested) reader.fail('samples.evaluated', `(${evaluated}) exceeds samples.requested (${requested})`);
  if (correct > evaluated) reader.fail('samples.correct', `(${correct}) exceeds samples.evaluated (${evaluated})`);
  checkRatio(r['clean_accuracy'], 'clean_accuracy', correct, evaluated);
  const budget = reader.object(r['budget'], 'budget');
  const http = reader.object(r['http'], 'http');
  const httpErrors = reader.object(http['errors'], 'http.errors');
  const errorsByStatus: Record<string, number> = {};
  for (const [status, count] of Object.entries(httpErrors)) {
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(status)) reader.fail('http.errors', `has the key ${JSON.stringify(status.slice(0, 40))}, expected an HTTP status or error class`);
    errorsByStatus[status] = reader.integer(count, `http.errors.${status}`, 0);
  }
  const inputRange = reader.array(r['input_range'], 'input_range');
  if (inputRange.length !== 2) reader.fail('input_range', `has ${inputRange.length} entries, expected 2`);
  inputRange.forEach((value, index) => number(value, `input_range[${index}]`, -Number.MAX_VALUE));
  const report: ArtReport = {
    runnerVersion: reader.word(r['runner_version'], 'runner_version'),
    artVersion: reader.word(r['art_version'], 'art_version'),
    target: reader.word(r['target'], 'target'),
    profile: reader.oneOf(r['profile'], 'profile', PROFILE),
    seed: reader.integer(r['seed'], 'seed', 0),
    response: r['response'] === null ? null : reader.oneOf(r['response'], 'response', RESPONSE),
    nbClasses: reader.integer(r['nb_classes'], 'nb_classes', 2),
    inputShape: reader.each(r['input_shape'], 'input_shape', (value, where) => reader.integer(value, where, 1)),
    samples: { requested, evaluated, correct },
    budget: {
      maxQueries: reader.integer(budget['max_queries'], 'budget.max_queries', 1),
      used: reader.integer(budget['used'], 'budget.used', 0),
      exhausted: boolean(budget['exhausted'], 'budget.exhausted')
    },
    attacks: reader.each(r['attacks'], 'attacks', readAttack),
    http: {
      requests: reader.integer(http['requests'], 'http.requests', 0),
      instances: reader.integer(http['instances'], 'http.instances', 0),
      retries: reader.integer(http['retries'], 'http.retries', 0),
      errors: errorsByStatus
    },
    errors: reader.each(r['errors'], 'errors', (item, where) => {
      const e = reader.object(item, where);
      return { kind: reader.oneOf(e['kind'], `${where}.kind`, ERROR_KIND), message: reader.string(e['message'], `${where}.message`) };
    })
  };
  if (report.budget.used > report.budget.maxQueries) reader.fail('budget.used', `(${report.budget.used}) exceeds budget.max_queries (${report.budget.maxQueries}): the budget did not hold`);
  const ids = new Set<string>();
  report.attacks.forEach((attack, index) => {
    if (ids.has(attack.id)) reader.fail(`attacks[${index}].id`, `repeats ${JSON.stringify(attack.id.slice(0, 80))}`);
    ids.add(attack.id);
    if (attack.attempted > correct) reader.fail(`attacks[${index}].attempted`, `(${attack.attempted}) exceeds samples.correct (${correct})`);
  });
  return report;
}

// ---------------------------------------------------------------------------------------------
// Gating it

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/0$/, '');
}

function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** `L∞` / `L2`, as the messages write norms. */
function normLabel(norm: 'inf' | '2'): string {
  return norm === 'inf' ? 'L∞' : 'L2';
}

/** The attack's setting, e.g. `HopSkipJump L∞ ε=0.1, black-box-labels, 9,000 queries`. */
function settingOf(attack: ArtAttack): string {
  return `${attack.name} ${normLabel(attack.norm)} ε=${attack.eps}, ${attack.access}, ${formatCount(attack.queries)} queries`;
}

/** How far a value misses its bar (positive = on the failing side). */
function gap(metric: GateMetric): number {
  return metric.direction === 'min' ? metric.threshold! - metric.value : metric.value - metric.threshold!;
}

/** A failing or inconclusive metric's severity (see ART_SEVERITY). */
export function artSeverity(metric: Pick<GateMetric, 'verdict' | 'value' | 'threshold' | 'direction'>): Severity {
  if (metric.verdict === 'inconclusive') return 'low';
  return gap(metric as GateMetric) >= 0.3 ? 'critical' : 'high';
}

function proportionMetric(id: string, name: string, successes: number, n: number, threshold: number, direction: 'min' | 'max', detail: string): GateMetric {
  const interval = wilsonInterval(successes, n);
  return {
    id,
    name,
    value: successes / n,
    direction,
    threshold,
    interval: { ...interval, method: 'Wilson', level: 0.95 },
    n,
    verdict: verdictAgainst(interval, threshold, direction),
    detail
  };
}

/** `robust accuracy 0.21 < 0.70 (95 % CI 0.11–0.36, n=38)` */
function describeMetric(metric: GateMetric): string {
  const missed = gap(metric) > 0;
  const relation = metric.direction === 'min' ? (missed ? '<' : '≥') : missed ? '>' : '≤';
  return `${metric.name} ${format(metric.value)} ${relation} ${format(metric.threshold!)} (95 % CI ${format(metric.interval!.lower)}–${format(metric.interval!.upper)}, n=${metric.n})`;
}

function describeExample(example: ArtExample, norm: 'inf' | '2'): string {
  const size = example.perturbation === null ? '' : `, ‖δ‖${norm === 'inf' ? '∞' : '₂'} ${format(example.perturbation)}`;
  return `sample #${example.index}: label ${example.trueLabel}, clean ${example.cleanPred} → adversarial ${example.advPred}${size}`;
}

/** The attack's metrics against the bars that are set. */
function attackMetrics(attack: ArtAttack, gate: ClassifierGate): GateMetric[] {
  const detail = settingOf(attack) + (attack.status === 'budget-exhausted' ? ' (query budget exhausted: partial)' : '');
  const metrics: GateMetric[] = [];
  if (gate.minRobustAccuracy !== undefined) {
    metrics.push(proportionMetric(`art:${attack.id}/robust-accuracy`, 'robust accuracy', attack.robustCorrect, attack.attempted, gate.minRobustAccuracy, 'min', detail));
  }
  if (gate.maxAttackSuccessRate !== undefined) {
    metrics.push(proportionMetric(`art:${attack.id}/attack-success-rate`, 'attack success rate', attack.succeeded, attack.attempted, gate.maxAttackSuccessRate, 'max', detail));
  }
  // A measurement cut short cannot pass: its missing samples could all fail.
  if (attack.status !== 'complete') for (const metric of metrics) if (metric.verdict === 'pass') metric.verdict = 'inconclusive';
  return metrics;
}

const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** One finding for an attack whose metrics miss (or straddle) their bars; undefined when all pass. */
function attackFinding(attack: ArtAttack, metrics: readonly GateMetric[], warnings: string[]): RawFinding | undefined {
  // A partial measurement's `inconclusive` is the budget's doing, reported as unchecked, not a finding.
  const missing = metrics.filter((m) => m.verdict === 'fail' || (m.verdict === 'inconclusive' && (attack.status === 'complete' || gap(m) > 0)));
  if (missing.length === 0) return undefined;
  const severity = missing.map(artSeverity).sort((a, b) => SEVERITY_ORDER.indexOf(a) - SEVERITY_ORDER.indexOf(b))[0]!;
  const lead = missing.find((m) => m.verdict === 'fail') ?? missing[0]!;
  const confirmed = missing.some((m) => m.verdict === 'fail');
  if (!confirmed) warnings.push(`${attack.id}: ${describeMetric(lead)}: the interval straddles the threshold; raise samples for a clear verdict`);
  const extras = [
    ...metrics.filter((m) => m !== lead).map(describeMetric),
    attack.meanConfidenceDrop === null ? undefined : `mean confidence drop ${format(attack.meanConfidenceDrop)}`,
    attack.medianPerturbation === null ? undefined : `median ‖δ‖${attack.norm === 'inf' ? '∞' : '₂'} ${format(attack.medianPerturbation)}`
  ].filter((part): part is string => part !== undefined);
  const examples = attack.examples.slice(0, MAX_EXAMPLES).map((example) => describeExample(example, attack.norm));
  return {
    tool: ART_TOOL,
    ruleId: attack.id,
    title: `${attack.name} ${normLabel(attack.norm)} ε=${attack.eps}: ${lead.name} ${confirmed ? 'below the bar' : 'inconclusive against the bar'}`,
    message:
      `${describeMetric(lead)} under ${settingOf(attack)}` +
      (confirmed ? '' : ' — the interval straddles the threshold; raise samples') +
      (extras.length > 0 ? `; ${extras.join('; ')}` : '') +
      (examples.length > 0 ? `. Examples: ${examples.join('; ')}` : ''),
    severity,
    severityBasis: `${lead.verdict}, missed by ${format(Math.max(0, gap(lead)))}`,
    identity: `art:${attack.id}`,
    tags: ['adversarial', 'classifier', 'evasion', attack.access]
  };
}

function httpFacts(report: ArtReport): string {
  const errors = Object.entries(report.http.errors).filter(([, count]) => count > 0);
  return (
    `endpoint: ${formatCount(report.http.requests)} request(s), ${formatCount(report.http.instances)} instance(s), ${formatCount(report.http.retries)} retr${report.http.retries === 1 ? 'y' : 'ies'}` +
    (errors.length > 0 ? `, errors by status: ${errors.map(([status, count]) => `${status} ×${count}`).join(', ')}` : ', no HTTP errors')
  );
}

/**
 * Gates a runner report: metrics per attack, one finding per failing attack, clean accuracy below
 * its bar a ToolFailureError, anything not measured an unchecked item. `baseline`: regressions
 * against an earlier report's metrics are findings too.
 */
export function gateArtReport(report: ArtReport, gate: ClassifierGate, baseline?: Baseline): ParsedReport {
  const warnings: string[] = [];
  const unchecked: UncheckedItem[] = [];
  const findings: RawFinding[] = [];
  const metrics: GateMetric[] = [];
  const endpointErrors = report.errors.filter((e) => e.kind === 'http').map((e) => e.message);
  const failure = endpointErrors[0] ?? report.errors.find((e) => e.kind !== 'attack')?.message;
  const facts = [
    `queries: ${formatCount(report.budget.used)} of ${formatCount(report.budget.maxQueries)} (max-queries)${report.budget.exhausted ? ', budget exhausted' : ''}`,
    httpFacts(report),
    `samples: ${report.samples.requested} requested, ${report.samples.evaluated} scored, ${report.samples.correct} classified correctly; ${report.response ?? 'nothing'} returned, ${report.nbClasses} classes, input shape [${report.inputShape.join(', ')}]`,
    `ART ${report.artVersion}, runner ${report.runnerVersion}, profile ${report.profile}, seed ${report.seed}, target ${report.target}`
  ];
  if (report.samples.evaluated === 0) {
    throw new ToolFailureError(ART_TOOL, `the endpoint scored no sample${failure ? `: ${failure}` : ''} (${httpFacts(report)})`);
  }
  const clean = proportionMetric('art:clean-accuracy', 'clean accuracy', report.samples.correct, report.samples.evaluated, gate.minCleanAccuracy, 'min', `${report.samples.evaluated} samples of eval-data`);
  if (clean.value < gate.minCleanAccuracy) {
    throw new ToolFailureError(
      ART_TOOL,
      `endpoint misclassifies clean inputs: ${describeMetric(clean)}, below min-clean-accuracy — check the endpoint, eval-data's labels, request-template and response-path; no robustness was measured`
    );
  }
  metrics.push(clean);
  if (report.samples.evaluated < report.samples.requested) {
    unchecked.push({
      kind: 'file',
      name: 'eval-data',
      reason: `only ${report.samples.evaluated} of ${report.samples.requested} samples scored (${report.budget.exhausted ? 'query budget exhausted' : (failure ?? 'the runner stopped early')})`
    });
  }
  for (const attack of report.attacks) {
    if (attack.status === 'error' || attack.attempted === 0) {
      // Not measured: it errored, or the budget or an endpoint failure stopped the run before it.
      // The runner writes str(exception), which can be empty: a reason is still named.
      const why = attack.error !== null && attack.error.trim() !== '' ? attack.error : undefined;
      const reason = attack.status === 'error' ? `attack failed: ${why ?? 'no reason given'}` : (why ?? 'the attack ran on no sample');
      unchecked.push({ kind: 'file', name: attack.id, reason });
      if (attack.status === 'error') warnings.push(`${attack.id}: ${attack.error}`);
      continue;
    }
    const measured = attackMetrics(attack, gate);
    metrics.push(...measured);
    if (attack.status === 'budget-exhausted') {
      unchecked.push({
        kind: 'file',
        name: attack.id,
        reason: `query budget (max-queries ${formatCount(report.budget.maxQueries)}) exhausted after ${attack.attempted} of ${report.samples.correct} samples, ${formatCount(attack.queries)} queries`
      });
    }
    const finding = attackFinding(attack, measured, warnings);
    if (finding) findings.push(finding);
  }
  if (report.attacks.length === 0) {
    // The budget ran out while scoring the clean samples (already unchecked above): incomplete.
    if (unchecked.length === 0) throw new ToolFailureError(ART_TOOL, `no attack ran${failure ? `: ${failure}` : ''} (${httpFacts(report)})`);
    unchecked.push({ kind: 'file', name: 'attacks', reason: `not run: ${failure ?? 'the runner stopped after the clean samples'}` });
  }
  // The runner writes an `http` error when the endpoint failed for good (after its retries) or the
  // budget ran out on the clean samples: what was not measured is already unchecked above; one
  // with nothing left unmeasured still leaves the run incomplete, as the runner's exit 3 says.
  warnings.push(...endpointErrors);
  if (endpointErrors.length > 0 && unchecked.length === 0) unchecked.push({ kind: 'file', name: 'endpoint', reason: endpointErrors[0]! });
  for (const error of report.errors.filter((e) => e.kind === 'config')) {
    unchecked.push({ kind: 'file', name: 'configuration', reason: error.message });
  }
  for (const error of report.errors.filter((e) => e.kind === 'attack')) {
    if (!warnings.some((w) => w.endsWith(error.message))) warnings.push(error.message);
  }
  if (baseline) {
    const regression = compareWithBaseline(ART_TOOL, metrics, baseline);
    findings.push(...regression.findings);
    facts.push(...regression.notes);
  }
  return { findings, warnings, unchecked, facts, metrics };
}

// ---------------------------------------------------------------------------------------------
// The adapter

/** The runner's configuration file: everything the runner needs except the key (it reads SECGATE_TARGET_API_KEY). */
export function runnerConfig(settings: ClassifierSettings): Record<string, unknown> {
  return {
    target: settings.target.toString(),
    api_key_header: settings.apiKey ? settings.apiKey.header : null,
    api_key_bearer: settings.apiKey ? settings.apiKey.bearer : false,
    profile: settings.profile,
    seed: settings.seed,
    max_queries: settings.maxQueries,
    concurrency: settings.concurrency,
    rate_limit: settings.rateLimit ?? null,
    eval_data: settings.evalData,
    model_file: settings.modelFile ?? null,
    request_template: settings.requestTemplate,
    response_path: settings.responsePath,
    input_range: settings.inputRange,
    norm: settings.norm,
    eps: settings.epsilon,
    attacks: settings.attacks,
    samples: settings.samples
  };
}

interface ArtInvocationData {
  gate: ClassifierGate;
  baseline?: Baseline;
}

async function writeRunner(workDir: string): Promise<string> {
  const dir = path.join(workDir, 'runner');
  await mkdir(dir, { recursive: true });
  for (const file of RUNNER_FILES) await writeFile(path.join(dir, file.name), file.content, { mode: 0o600 });
  return path.join(dir, RUNNER_ENTRY);
}

export const artAdapter: ToolAdapter = {
  id: ART_TOOL,
  displayName: 'ART',
  description: 'Evasion attacks on a live classifier endpoint (Adversarial Robustness Toolbox: HopSkipJump, Square, white-box FGSM/PGD transfer), gated on robust accuracy with a confidence interval.',
  install: { kind: 'python', tool: 'art', distribution: 'adversarial-robustness-toolbox', module: '', defaultVersion: '1.20.1' },
  defaultTimeoutMs: 30 * 60_000,
  severityMap: ART_SEVERITY,
  async skip(context: ToolContext) {
    const mode = readMode(context.options);
    return mode === 'classifier' ? undefined : { reason: `mode is ${mode}; ART attacks classifiers (mode classifier)`, notApplicable: true };
  },
  async command(_tool, context) {
    const settings = await readClassifierSettings(context, RUNNER_ATTACKS);
    const baselineSetting = await readBaselineSetting(context);
    const baseline = baselineSetting ? await readBaseline(baselineSetting) : undefined;
    const entry = await writeRunner(context.workDir);
    const configFile = path.join(context.workDir, 'art-config.json');
    const reportFile = path.join(context.workDir, 'art-report.json');
    await writeFile(configFile, JSON.stringify(runnerConfig(settings), null, 2), { mode: 0o600 });
    context.logger.info(
      `ART: attacking ${displayUrl(settings.target)} (${settings.norm === 'inf' ? 'L∞' : 'L2'} ε=${settings.epsilon}, ${settings.samples} samples, max-queries ${formatCount(settings.maxQueries)}, profile ${settings.profile})`
    );
    const data: ArtInvocationData = { gate: settings.gate, ...(baseline ? { baseline } : {}) };
    return {
      args: [entry, '--config', configFile, '--output', reportFile],
      env: apiKeyEnv(settings.apiKey),
      reportFile,
      data: data as unknown as Readonly<Record<string, unknown>>
    };
  },
  exitMeaning(code): ExitMeaning {
    // Runner contract: 0 report written (findings or not); 3 the endpoint failed after bounded
    // retries, report written with partial results — the parser turns its `errors` into unchecked
    // items or a ToolFailureError, never a pass; 2 configuration refused; anything else a crash.
    return code === 0 || code === 3 ? 'clean' : 'error';
  },
  stderrFailure(stderr, _invocation, exitCode) {
    if (exitCode !== 2) return undefined;
    const last = stderr.trim().split(/\r?\n/).pop()?.trim();
    return `the runner refused its configuration${last ? `: ${last.slice(0, 500)}` : ''}`;
  },
  parse(text, context, invocation) {
    const data = invocation.data as unknown as ArtInvocationData;
    // The runner never writes the key; should an endpoint echo it into an error text the runner
    // quotes, it still goes no further than this.
    const key = readApiKey(context.options)?.key;
    const safe = key ? text.split(key).join('[redacted]') : text;
    return gateArtReport(readArtReport(safe), data.gate, data.baseline);
  }
};
