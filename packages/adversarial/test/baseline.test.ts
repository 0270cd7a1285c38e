/**
 * Regression against a previous secgate JSON report: the report is read strictly (a foreign or
 * garbled file is a ConfigurationError, never an empty baseline), and a metric that moved in its
 * bad direction by more than the margin is a finding.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigurationError, type GateMetric } from '@secgate/core';
import { compareWithBaseline, parseBaselineReport, readBaseline, regressionSeverity } from '../src/baseline.js';

function metric(id: string, value: number, direction: 'min' | 'max', name = direction === 'min' ? 'robust accuracy' : 'attack success rate'): GateMetric {
  return { id, name, value, direction, threshold: 0.5, verdict: 'pass', detail: 'HopSkipJump L∞ ε=0.1' };
}

/** A secgate JSON report as buildJsonReport writes it, with only the fields the baseline reads filled in. */
function report(tools: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ formatVersion: 1, generator: 'secgate', stages: ['adversarial'], verdict: 'pass', tools, findings: [], ...extra }, null, 2);
}

const PREVIOUS = report([
  { stage: 'adversarial', tool: 'art', status: 'ok', metrics: [metric('art:HSJ:inf@0.1/robust-accuracy', 0.8, 'min'), metric('art:HSJ:inf@0.1/attack-success-rate', 0.2, 'max'), metric('art:clean-accuracy', 0.95, 'min')] },
  { stage: 'adversarial', tool: 'garak', status: 'ok' }
]);

function configError(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).key).toBe('baseline-report');
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('baseline report reader', () => {
  it('reads every tool metric by id', () => {
    const baseline = parseBaselineReport(PREVIOUS, 'previous.json', 0.05);
    expect([...baseline.metrics.keys()]).toEqual(['art:HSJ:inf@0.1/robust-accuracy', 'art:HSJ:inf@0.1/attack-success-rate', 'art:clean-accuracy']);
    expect(baseline.metrics.get('art:clean-accuracy')).toEqual({ tool: 'art', id: 'art:clean-accuracy', name: 'robust accuracy', value: 0.95, direction: 'min' });
  });

  it.each([
    ['not JSON', '{"formatVersion": 1,', 'truncated or not JSON'],
    ['another generator', JSON.stringify({ formatVersion: 1, generator: 'trivy', tools: [] }), 'not a secgate JSON report'],
    ['another format version', JSON.stringify({ formatVersion: 2, generator: 'secgate', tools: [] }), 'formatVersion'],
    ['no tools', JSON.stringify({ formatVersion: 1, generator: 'secgate' }), 'tools is missing'],
    ['a metric without a value', report([{ tool: 'art', metrics: [{ id: 'a', name: 'n', direction: 'min' }] }]), 'tools[0].metrics[0].value'],
    ['an unknown direction', report([{ tool: 'art', metrics: [{ id: 'a', name: 'n', value: 1, direction: 'up' }] }]), 'tools[0].metrics[0].direction'],
    ['a repeated metric id', report([{ tool: 'art', metrics: [metric('a', 1, 'min'), metric('a', 1, 'min')] }]), 'repeats the metric'],
    ['a tool without a name', report([{ metrics: [] }]), 'tools[0].tool']
  ])('%s is a ConfigurationError naming baseline-report and the field', (_name, text, expected) => {
    expect(configError(() => parseBaselineReport(text, 'previous.json', 0.05)).message).toContain(expected);
  });

  it('reads the file; a missing one is a ConfigurationError', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'adv-baseline-'));
    try {
      await writeFile(path.join(dir, 'previous.json'), PREVIOUS);
      const baseline = await readBaseline({ file: path.join(dir, 'previous.json'), input: 'previous.json', margin: 0.1 });
      expect(baseline.margin).toBe(0.1);
      expect(baseline.metrics.size).toBe(3);
      await expect(readBaseline({ file: path.join(dir, 'gone.json'), input: 'gone.json', margin: 0.1 })).rejects.toThrow(ConfigurationError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('regression vs baseline', () => {
  const baseline = parseBaselineReport(PREVIOUS, 'previous.json', 0.05);

  it('a min metric that fell, or a max metric that rose, beyond the margin is a finding', () => {
    const { findings, notes } = compareWithBaseline('art', [metric('art:HSJ:inf@0.1/robust-accuracy', 0.6, 'min'), metric('art:HSJ:inf@0.1/attack-success-rate', 0.4, 'max')], baseline);
    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ['regression:art:HSJ:inf@0.1/robust-accuracy', 'high'],
      ['regression:art:HSJ:inf@0.1/attack-success-rate', 'high']
    ]);
    expect(findings[0]!.message).toBe(
      'robust accuracy regressed vs baseline: fell from 0.8 to 0.6 (0.2 worse, margin 0.05; baseline previous.json) under HopSkipJump L∞ ε=0.1'
    );
    expect(findings[0]!.title).toContain('regressed vs baseline');
    expect(notes).toEqual(['baseline previous.json: 2 metric(s) compared, 2 regressed beyond 0.05']);
  });

  it('within the margin (rounding included), improved, or absent from the baseline: no finding', () => {
    const { findings, notes } = compareWithBaseline(
      'art',
      [metric('art:HSJ:inf@0.1/robust-accuracy', 0.75, 'min'), metric('art:HSJ:inf@0.1/attack-success-rate', 0.1, 'max'), metric('art:clean-accuracy', 0.9, 'min'), metric('art:HSJ:inf@0.2/robust-accuracy', 0.1, 'min')],
      baseline
    );
    expect(findings).toEqual([]);
    expect(notes).toEqual(['baseline previous.json: 3 metric(s) compared, 0 regressed beyond 0.05']);
  });

  it('a metric whose direction changed is not compared, and says so', () => {
    const { findings, notes } = compareWithBaseline('art', [metric('art:clean-accuracy', 0.1, 'max')], baseline);
    expect(findings).toEqual([]);
    expect(notes[0]).toContain('direction changed');
  });

  it('severity: a drop of 0.3 or more is critical, any other regression high', () => {
    expect([regressionSeverity(0.06), regressionSeverity(0.29), regressionSeverity(0.3)]).toEqual(['high', 'high', 'critical']);
  });
});
