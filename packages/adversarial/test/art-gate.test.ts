/**
 * The ART gate on constructed runner reports (schema secgate-adversarial-classifier/1): the
 * verdicts (pass / fail / inconclusive) with the Wilson interval, severities from the gap, clean
 * accuracy below its bar a failure, the budget never a pass, strict reading of every field.
 * Real runner output is parsed in art.test.ts.
 */
import { ToolFailureError, ToolOutputError } from '@secgate/core';
import { artSeverity, gateArtReport, readArtReport } from '../src/adapters/art.js';
import { parseBaselineReport } from '../src/baseline.js';
import type { ClassifierGate } from '../src/options.js';

const GATE: ClassifierGate = { minCleanAccuracy: 0.5, minRobustAccuracy: 0.7 };

interface AttackShape {
  id?: string;
  attempted: number;
  robust_correct: number;
  succeeded?: number;
  status?: 'complete' | 'budget-exhausted' | 'error';
  error?: string | null;
  queries?: number;
}

function attack(shape: AttackShape): Record<string, unknown> {
  const succeeded = shape.succeeded ?? shape.attempted - shape.robust_correct;
  return {
    id: shape.id ?? 'HopSkipJump:inf@0.1',
    name: 'HopSkipJump',
    access: 'black-box-labels',
    norm: 'inf',
    eps: 0.1,
    attempted: shape.attempted,
    succeeded,
    robust_correct: shape.robust_correct,
    robust_accuracy: shape.attempted === 0 ? null : shape.robust_correct / shape.attempted,
    attack_success_rate: shape.attempted === 0 ? null : succeeded / shape.attempted,
    mean_confidence_drop: null,
    median_perturbation: 0.08,
    queries: shape.queries ?? 9000,
    seconds: 5.1,
    status: shape.status ?? 'complete',
    error: shape.error ?? null,
    examples: [
      { index: 3, true_label: 5, clean_pred: 5, adv_pred: 3, perturbation: 0.09 },
      { index: 7, true_label: 1, clean_pred: 1, adv_pred: 8, perturbation: 0.07 },
      { index: 9, true_label: 2, clean_pred: 2, adv_pred: 2, perturbation: null },
      { index: 11, true_label: 4, clean_pred: 4, adv_pred: 9, perturbation: 0.1 }
    ]
  };
}

function runnerReport(attacks: Record<string, unknown>[], overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'secgate-adversarial-classifier/1',
    runner_version: '1',
    art_version: '1.20.1',
    target: 'http://127.0.0.1:8080/predict',
    profile: 'fast',
    seed: 42,
    response: 'labels',
    nb_classes: 10,
    input_shape: [64],
    input_range: [0, 1],
    samples: { requested: 40, evaluated: 40, correct: 38 },
    clean_accuracy: 0.95,
    budget: { max_queries: 20000, used: 12345, exhausted: false },
    attacks,
    http: { requests: 123, instances: 12345, retries: 4, errors: { '429': 3 } },
    errors: [],
    ...overrides
  };
}

function gate(report: Record<string, unknown>, thresholds: ClassifierGate = GATE): ReturnType<typeof gateArtReport> {
  return gateArtReport(readArtReport(JSON.stringify(report)), thresholds);
}

describe('ART gate', () => {
  it('fails an attack whose whole interval is below the bar: one finding with the numbers, a fail metric', () => {
    const parsed = gate(runnerReport([attack({ attempted: 38, robust_correct: 8 })]));
    expect(parsed.findings).toHaveLength(1);
    const finding = parsed.findings[0]!;
    expect(finding).toMatchObject({ tool: 'art', ruleId: 'HopSkipJump:inf@0.1', severity: 'critical', identity: 'art:HopSkipJump:inf@0.1' });
    expect(finding.location).toBeUndefined();
    expect(finding.message).toContain('robust accuracy 0.21 < 0.7 (95 % CI 0.11–0.36, n=38) under HopSkipJump L∞ ε=0.1, black-box-labels, 9,000 queries');
    expect(finding.message).toContain('Examples: sample #3: label 5, clean 5 → adversarial 3, ‖δ‖∞ 0.09; sample #7');
    expect(finding.message).not.toContain('sample #11');
    const robust = parsed.metrics!.find((m) => m.id === 'art:HopSkipJump:inf@0.1/robust-accuracy')!;
    expect(robust).toMatchObject({ name: 'robust accuracy', direction: 'min', threshold: 0.7, n: 38, verdict: 'fail' });
    expect(robust.value).toBeCloseTo(8 / 38);
    expect(robust.interval).toMatchObject({ method: 'Wilson', level: 0.95 });
    expect(parsed.metrics![0]).toMatchObject({ id: 'art:clean-accuracy', value: 0.95, threshold: 0.5, verdict: 'pass', n: 40 });
    expect(parsed.unchecked).toEqual([]);
    expect(parsed.facts).toEqual([
      'queries: 12,345 of 20,000 (max-queries)',
      'endpoint: 123 request(s), 12,345 instance(s), 4 retries, errors by status: 429 ×3',
      'samples: 40 requested, 40 scored, 38 classified correctly; labels returned, 10 classes, input shape [64]',
      'ART 1.20.1, runner 1, profile fast, seed 42, target http://127.0.0.1:8080/predict'
    ]);
  });

  it('passes an attack whose whole interval is above the bar: a pass metric, no finding, no warning', () => {
    const parsed = gate(runnerReport([attack({ attempted: 38, robust_correct: 36 })]));
    expect(parsed.findings).toEqual([]);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.metrics!.map((m) => m.verdict)).toEqual(['pass', 'pass']);
  });

  it('an interval straddling the bar is inconclusive: a low finding and a warning to raise samples', () => {
    const parsed = gate(runnerReport([attack({ attempted: 38, robust_correct: 27 })]));
    expect(parsed.metrics![1]!.verdict).toBe('inconclusive');
    expect(parsed.findings).toHaveLength(1);
    expect(parsed.findings[0]).toMatchObject({ severity: 'low' });
    expect(parsed.findings[0]!.message).toContain('the interval straddles the threshold; raise samples');
    expect(parsed.warnings).toEqual([expect.stringContaining('interval straddles the threshold; raise samples')]);
  });

  it('severity: a confirmed miss by 0.3 or more is critical, any other confirmed miss high, inconclusive low', () => {
    expect(artSeverity({ verdict: 'fail', value: 0.39, threshold: 0.7, direction: 'min' })).toBe('critical');
    expect(artSeverity({ verdict: 'fail', value: 0.45, threshold: 0.7, direction: 'min' })).toBe('high');
    expect(artSeverity({ verdict: 'fail', value: 0.69, threshold: 0.7, direction: 'min' })).toBe('high');
    expect(artSeverity({ verdict: 'fail', value: 0.55, threshold: 0.2, direction: 'max' })).toBe('critical');
    expect(artSeverity({ verdict: 'inconclusive', value: 0.1, threshold: 0.7, direction: 'min' })).toBe('low');
  });

  it('max-attack-success-rate alone gates the success rate (direction max); both bars give one finding per attack', () => {
    const only = gate(runnerReport([attack({ attempted: 38, robust_correct: 8 })]), { minCleanAccuracy: 0.5, maxAttackSuccessRate: 0.2 });
    expect(only.metrics!.map((m) => [m.id, m.direction, m.verdict])).toEqual([
      ['art:clean-accuracy', 'min', 'pass'],
      ['art:HopSkipJump:inf@0.1/attack-success-rate', 'max', 'fail']
    ]);
    expect(only.findings[0]!.message).toContain('attack success rate 0.79 > 0.2');
    const both = gate(runnerReport([attack({ attempted: 38, robust_correct: 8 })]), { minCleanAccuracy: 0.5, minRobustAccuracy: 0.7, maxAttackSuccessRate: 0.2 });
    expect(both.findings).toHaveLength(1);
    expect(both.findings[0]!.message).toMatch(/robust accuracy 0\.21 < 0\.7 .*; attack success rate 0\.79 > 0\.2/);
  });

  it('clean accuracy below min-clean-accuracy is a ToolFailureError, never a pass', () => {
    const broken = runnerReport([attack({ attempted: 4, robust_correct: 4 })], { samples: { requested: 40, evaluated: 40, correct: 4 }, clean_accuracy: 0.1 });
    expect(() => gate(broken)).toThrow(ToolFailureError);
    expect(() => gate(broken)).toThrow(/endpoint misclassifies clean inputs: clean accuracy 0\.1 < 0\.5 \(95 % CI 0\.04–0\.23, n=40\)/);
  });

  it('no sample scored (endpoint down, 401) is a ToolFailureError naming the endpoint error', () => {
    const down = runnerReport([], {
      samples: { requested: 40, evaluated: 0, correct: 0 },
      clean_accuracy: null,
      budget: { max_queries: 20000, used: 0, exhausted: false },
      http: { requests: 1, instances: 0, retries: 0, errors: { '401': 1 } },
      errors: [{ kind: 'http', message: 'HTTP 401 from the endpoint: check api-key and api-key-header' }]
    });
    expect(() => gate(down)).toThrow(/art: the endpoint scored no sample: HTTP 401 from the endpoint.*errors by status: 401 ×1/);
  });

  it('the budget exhausted mid-attack is never a pass: unchecked naming how far it got, the partial metric not a pass', () => {
    const parsed = gate(
      runnerReport([attack({ attempted: 10, robust_correct: 10, succeeded: 0, status: 'budget-exhausted', queries: 5000 })], {
        budget: { max_queries: 5000, used: 5000, exhausted: true }
      })
    );
    expect(parsed.unchecked).toEqual([{ kind: 'file', name: 'HopSkipJump:inf@0.1', reason: 'query budget (max-queries 5,000) exhausted after 10 of 38 samples, 5,000 queries' }]);
    expect(parsed.metrics![1]).toMatchObject({ verdict: 'inconclusive', detail: expect.stringContaining('query budget exhausted: partial') });
    expect(parsed.findings).toEqual([]);
    expect(parsed.facts![0]).toBe('queries: 5,000 of 5,000 (max-queries), budget exhausted');
  });

  it('a partial measurement that already fails is still a finding (and still unchecked)', () => {
    const parsed = gate(runnerReport([attack({ attempted: 20, robust_correct: 1, status: 'budget-exhausted' })], { budget: { max_queries: 20000, used: 20000, exhausted: true } }));
    expect(parsed.findings.map((f) => f.severity)).toEqual(['critical']);
    expect(parsed.unchecked).toHaveLength(1);
  });

  it('budget exhausted during the clean pass: the samples not scored are unchecked', () => {
    const parsed = gate(
      runnerReport([attack({ attempted: 18, robust_correct: 17 })], {
        samples: { requested: 40, evaluated: 20, correct: 19 },
        clean_accuracy: 0.95,
        budget: { max_queries: 100, used: 100, exhausted: true }
      })
    );
    expect(parsed.unchecked).toEqual([{ kind: 'file', name: 'eval-data', reason: 'only 20 of 40 samples scored (query budget exhausted)' }]);
  });

  it('budget exhausted part-way through the clean samples (no attack run): incomplete, not a tool failure', () => {
    const parsed = gate(
      runnerReport([], {
        samples: { requested: 300, evaluated: 256, correct: 250 },
        clean_accuracy: 250 / 256,
        budget: { max_queries: 300, used: 256, exhausted: true },
        errors: [{ kind: 'http', message: 'max-queries (300) reached while scoring the clean samples (256 of 300)' }]
      })
    );
    expect(parsed.unchecked).toEqual([
      { kind: 'file', name: 'eval-data', reason: 'only 256 of 300 samples scored (query budget exhausted)' },
      { kind: 'file', name: 'attacks', reason: 'not run: max-queries (300) reached while scoring the clean samples (256 of 300)' }
    ]);
  });

  it('an attack that errored is unchecked with its error; an endpoint failure after retries leaves the run incomplete', () => {
    const parsed = gate(
      runnerReport([attack({ attempted: 38, robust_correct: 36 }), attack({ id: 'SquareAttack:inf@0.1', attempted: 0, robust_correct: 0, succeeded: 0, status: 'error', error: 'HTTP 500 after 3 tries' })], {
        errors: [{ kind: 'http', message: 'HTTP 500 after 3 tries' }]
      })
    );
    expect(parsed.unchecked).toEqual([{ kind: 'file', name: 'SquareAttack:inf@0.1', reason: 'attack failed: HTTP 500 after 3 tries' }]);
    expect(parsed.warnings).toContain('HTTP 500 after 3 tries');
    const recovered = gate(runnerReport([attack({ attempted: 38, robust_correct: 36 })], { errors: [{ kind: 'http', message: 'connection reset after 3 tries' }] }));
    expect(recovered.unchecked).toEqual([{ kind: 'file', name: 'endpoint', reason: 'connection reset after 3 tries' }]);
  });

  it('no attack at all is a ToolFailureError', () => {
    expect(() => gate(runnerReport([]))).toThrow(/art: no attack ran/);
  });

  it('a baseline turns a regression into a finding', () => {
    const baseline = parseBaselineReport(
      JSON.stringify({ formatVersion: 1, generator: 'secgate', tools: [{ tool: 'art', metrics: [{ id: 'art:HopSkipJump:inf@0.1/robust-accuracy', name: 'robust accuracy', value: 0.97, direction: 'min' }] }] }),
      'previous.json',
      0.05
    );
    const parsed = gateArtReport(readArtReport(JSON.stringify(runnerReport([attack({ attempted: 38, robust_correct: 34 })]))), GATE, baseline);
    expect(parsed.findings.map((f) => f.ruleId)).toEqual(['regression:art:HopSkipJump:inf@0.1/robust-accuracy']);
    expect(parsed.facts).toContain('baseline previous.json: 1 metric(s) compared, 1 regressed beyond 0.05');
  });
});

describe('ART report reader (strict)', () => {
  const good = runnerReport([attack({ attempted: 38, robust_correct: 8 })]);

  function withChange(change: (report: any) => void): string {
    const copy = JSON.parse(JSON.stringify(good));
    change(copy);
    return JSON.stringify(copy);
  }

  it.each([
    ['another schema', (r: any) => (r.schema = 'secgate-adversarial-classifier/2'), 'schema'],
    ['an unknown status', (r: any) => (r.attacks[0].status = 'partial'), 'attacks[0].status'],
    ['an unknown access', (r: any) => (r.attacks[0].access = 'grey-box'), 'attacks[0].access'],
    ['an unknown norm', (r: any) => (r.attacks[0].norm = '1'), 'attacks[0].norm'],
    ['a missing attempted', (r: any) => delete r.attacks[0].attempted, 'attacks[0].attempted'],
    ['a ratio that disagrees with its counts', (r: any) => (r.attacks[0].robust_accuracy = 0.5), 'attacks[0].robust_accuracy is 0.5, but its counts give 8/38'],
    ['more successes than attempts', (r: any) => (r.attacks[0].succeeded = 35), 'exceed attempted'],
    ['more attempted than correct samples', (r: any) => ((r.samples.correct = 30), (r.clean_accuracy = 0.75)), 'attacks[0].attempted'],
    ['a budget that did not hold', (r: any) => (r.budget.used = 20001), 'the budget did not hold'],
    ['a string count', (r: any) => (r.http.retries = '4'), 'http.retries'],
    ['an unknown error kind', (r: any) => r.errors.push({ kind: 'disk', message: 'x' }), 'errors[0].kind'],
    ['an error status without its text', (r: any) => (r.attacks[0].status = 'error'), 'attacks[0].error is null'],
    ['a repeated attack id', (r: any) => r.attacks.push(r.attacks[0]), 'repeats'],
    ['a bad http error key', (r: any) => (r.http.errors = { 'a b': 1 }), 'http.errors'],
    ['a clean accuracy off its counts', (r: any) => (r.clean_accuracy = 0.5), 'clean_accuracy']
  ])('%s is a ToolOutputError naming the field', (_name, change, expected) => {
    expect(() => readArtReport(withChange(change))).toThrow(ToolOutputError);
    expect(() => readArtReport(withChange(change))).toThrow(expected);
  });

  it('an empty or truncated report is a ToolOutputError', () => {
    expect(() => readArtReport('')).toThrow(ToolOutputError);
    expect(() => readArtReport(JSON.stringify(good).slice(0, 200))).toThrow(/truncated/);
  });
});
