import type { ScanResult } from '../engine.js';

export const REPORT_FORMAT_VERSION = 1;

/** The normalised machine-readable report: every finding (reported or not) with its policy state. */
export function buildJsonReport(result: ScanResult, meta: Record<string, string> = {}): string {
  return JSON.stringify(
    {
      formatVersion: REPORT_FORMAT_VERSION,
      generator: 'secgate',
      ...meta,
      stages: result.stages,
      verdict: result.verdict,
      policy: result.policy,
      counts: countBySeverity(result),
      tools: result.tools.map((t) => ({ ...t, error: t.error ? { kind: t.error.kind, message: t.error.message } : undefined })),
      errors: result.errors.map((e) => ({ kind: e.kind, name: e.name, message: e.message })),
      ledger: result.ledger,
      ...(result.policyChange ? { policyChange: result.policyChange } : {}),
      // Dependencies and model files seen, and what a tool could not check (sca).
      inventory: result.inventory ?? [],
      unchecked: result.unchecked ?? [],
      findings: result.findings
    },
    // Compact: reports run to hundreds of MB on large repositories; pretty-printing doubles the time.
    null,
    result.findings.length > 10_000 ? undefined : 2
  );
}

/** Active (gate-relevant) findings per severity: what the outputs and the CLI show. */
export function countBySeverity(result: ScanResult): Record<string, number> {
  const counts: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const f of result.findings) if (f.state.kind === 'active') counts[f.severity]!++;
  return counts;
}
