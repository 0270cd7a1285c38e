/**
 * Regression against a previous run: `baseline-report` names a secgate JSON report (the artifact of
 * an earlier run), whose `tools[].metrics` hold the gate metrics measured then. A metric measured
 * again now (same id: tool, attack or probe, norm, ε) that moved in its bad direction by more than
 * `regression-margin` is a finding, whatever its own threshold says: robustness that was there
 * must not silently go away. Used by every adversarial tool that reports metrics.
 */
import { readFile } from 'node:fs/promises';
import { ConfigurationError, ReportReader, ToolOutputError, parseJsonReport, type GateMetric, type RawFinding, type Severity } from '@secgate/core';
import type { BaselineSetting } from './options.js';

/** One metric of the baseline report. */
export interface BaselineMetric {
  tool: string;
  id: string;
  name: string;
  value: number;
  direction: 'min' | 'max';
}

/** The baseline's metrics by id, with what is needed for messages. */
export interface Baseline {
  /** As given in `baseline-report`. */
  input: string;
  margin: number;
  metrics: ReadonlyMap<string, BaselineMetric>;
}

/** Largest baseline report read (secgate reports with many findings run to hundreds of MB; metrics sit near the top, but JSON needs all of it). */
const MAX_BASELINE_BYTES = 512 * 1024 * 1024;

const DIRECTIONS: Readonly<Record<string, 'min' | 'max'>> = { MIN: 'min', MAX: 'max' };

/**
 * The metrics of a secgate JSON report (`formatVersion` 1, `generator` secgate). Strict: a foreign
 * or garbled file is a ConfigurationError naming `baseline-report` and the field, never an empty
 * baseline (which would silently compare nothing).
 */
export function parseBaselineReport(text: string, input: string, margin: number): Baseline {
  const reader: ReportReader = new ReportReader('baseline-report');
  try {
    const report = reader.object(parseJsonReport('baseline-report', text), 'the report');
    if (report['generator'] !== 'secgate') reader.fail('generator', `is ${JSON.stringify(report['generator'])?.slice(0, 40) ?? 'missing'}, expected "secgate": not a secgate JSON report`);
    if (report['formatVersion'] !== 1) reader.fail('formatVersion', `is ${JSON.stringify(report['formatVersion'])?.slice(0, 40) ?? 'missing'}, expected 1`);
    const metrics = new Map<string, BaselineMetric>();
    reader.each(report['tools'], 'tools', (item, where) => {
      const run = reader.object(item, where);
      const tool = reader.word(run['tool'], `${where}.tool`);
      if (run['metrics'] === undefined) return;
      reader.each(run['metrics'], `${where}.metrics`, (entry, at) => {
        const metric = reader.object(entry, at);
        const id = reader.word(metric['id'], `${at}.id`);
        const value = metric['value'];
        if (typeof value !== 'number' || !Number.isFinite(value)) reader.fail(`${at}.value`, 'is not a finite number');
        const read: BaselineMetric = {
          tool,
          id,
          name: reader.word(metric['name'], `${at}.name`),
          value,
          direction: reader.oneOf(metric['direction'], `${at}.direction`, DIRECTIONS)
        };
        if (metrics.has(id)) reader.fail(`${at}.id`, `repeats the metric ${JSON.stringify(id.slice(0, 80))}`);
        metrics.set(id, read);
      });
    });
    return { input, margin, metrics };
  } catch (error) {
    if (error instanceof ToolOutputError) throw new ConfigurationError(`${input}: ${error.detail}`, 'baseline-report');
    throw error;
  }
}

/** Reads the baseline named by the setting (already resolved inside the workspace). */
export async function readBaseline(setting: BaselineSetting): Promise<Baseline> {
  let text: string;
  try {
    const data = await readFile(setting.file);
    if (data.length > MAX_BASELINE_BYTES) throw new ConfigurationError(`${setting.input} is larger than ${MAX_BASELINE_BYTES / 1024 / 1024} MB`, 'baseline-report');
    text = data.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigurationError) throw error;
    throw new ConfigurationError(`cannot read ${setting.input} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'baseline-report');
  }
  return parseBaselineReport(text, setting.input, setting.margin);
}

/** Rounding noise allowed on top of the margin: metrics are ratios of small counts written as decimals. */
const TOLERANCE = 1e-9;

/** Severity of a regression: a drop of 0.3 or more is critical, any other beyond the margin high (it fails the default gate). */
export function regressionSeverity(drop: number): Severity {
  return drop >= 0.3 ? 'critical' : 'high';
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
}

/**
 * One finding per metric of `metrics` that the baseline also holds and that moved in its bad
 * direction (down for `min`, up for `max`) by more than the margin. Metrics the baseline lacks (a
 * new attack, another ε) are not compared; `notes` says how many were.
 */
export function compareWithBaseline(tool: string, metrics: readonly GateMetric[], baseline: Baseline): { findings: RawFinding[]; notes: string[] } {
  const findings: RawFinding[] = [];
  const notes: string[] = [];
  let compared = 0;
  for (const metric of metrics) {
    const before = baseline.metrics.get(metric.id);
    if (!before) continue;
    if (before.direction !== metric.direction) {
      notes.push(`${metric.id}: not compared with the baseline (its direction changed from ${before.direction} to ${metric.direction})`);
      continue;
    }
    compared++;
    const drop = metric.direction === 'min' ? before.value - metric.value : metric.value - before.value;
    if (drop <= baseline.margin + TOLERANCE) continue;
    const relation = metric.direction === 'min' ? 'fell' : 'rose';
    findings.push({
      tool,
      ruleId: `regression:${metric.id}`,
      title: `${metric.name} regressed vs baseline: ${metric.id}`,
      message:
        `${metric.name} regressed vs baseline: ${relation} from ${format(before.value)} to ${format(metric.value)} ` +
        `(${format(drop)} worse, margin ${format(baseline.margin)}; baseline ${baseline.input})${metric.detail ? ` under ${metric.detail}` : ''}`,
      severity: regressionSeverity(drop),
      identity: `regression:${metric.id}`,
      tags: ['adversarial', 'regression']
    });
  }
  notes.push(`baseline ${baseline.input}: ${compared} metric(s) compared, ${findings.length} regressed beyond ${format(baseline.margin)}`);
  return { findings, notes };
}
