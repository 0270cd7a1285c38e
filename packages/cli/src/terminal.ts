import pc from 'picocolors';
import type { Logger, ScanResult, EvaluatedFinding } from '@secgate/core';
import { SEVERITIES, countBySeverity } from '@secgate/core';

/** Strips control characters from tool text so a finding cannot rewrite the terminal. */
export function clean(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, '');
}

export function terminalLogger(verbose: boolean): Logger {
  const write = (line: string): void => void process.stderr.write(`${line}\n`);
  return {
    debug: (m) => verbose && write(pc.dim(clean(m))),
    info: (m) => write(`${pc.cyan('›')} ${clean(m)}`),
    warning: (m) => write(`${pc.yellow('warning')} ${clean(m)}`),
    error: (m) => write(`${pc.red('error')} ${clean(m)}`),
    group: async (name, fn) => {
      write(pc.bold(clean(name)));
      return fn();
    }
  };
}

const COLOUR = { critical: pc.magenta, high: pc.red, medium: pc.yellow, low: pc.blue, info: pc.dim } as const;

function where(f: EvaluatedFinding): string {
  const loc = f.location;
  return loc ? `${loc.path}${loc.startLine ? `:${loc.startLine}` : ''}${loc.startColumn ? `:${loc.startColumn}` : ''}` : '';
}

/** The human report: grouped by severity, most severe first; suppressed and baseline findings counted. */
export function renderReport(result: ScanResult, maxPerSeverity = 50): string {
  const out: string[] = [''];
  for (const severity of SEVERITIES) {
    const group = result.findings.filter((f) => f.severity === severity && f.reported && f.state.kind === 'active');
    if (group.length === 0) continue;
    out.push(COLOUR[severity](pc.bold(`${severity.toUpperCase()} (${group.length})`)));
    for (const f of group.slice(0, maxPerSeverity)) {
      const sources = f.sources.map((s) => `${s.tool}:${s.ruleId}`).join(', ');
      out.push(`  ${pc.bold(clean(where(f)))}  ${clean(f.title)} ${pc.dim(`[${clean(sources)}]`)}`);
      out.push(`      ${pc.dim(clean(f.message).slice(0, 300))}`);
    }
    if (group.length > maxPerSeverity) out.push(pc.dim(`  … ${group.length - maxPerSeverity} more`));
    out.push('');
  }
  const suppressed = result.findings.filter((f) => f.state.kind === 'suppressed').length;
  const baseline = result.findings.filter((f) => f.state.kind === 'baseline').length;
  const outside = result.findings.filter((f) => f.state.kind === 'outside-changed-lines').length;
  for (const s of result.ledger.expired) {
    out.push(pc.yellow(`expired exception #${s.index} (${s.entry.rule ?? s.entry.cve ?? s.entry.fingerprint}, owner ${s.entry.owner}, ${s.entry.expires}) no longer suppresses`));
  }
  for (const s of result.ledger.expiringSoon) {
    out.push(pc.yellow(`exception #${s.index} expires in ${s.daysLeft} day(s) (${s.entry.expires}, owner ${s.entry.owner})`));
  }
  for (const run of result.tools) {
    const status = run.status === 'failed' ? pc.red('FAILED') : run.status === 'skipped' ? pc.dim(`skipped (${run.skipReason})`) : pc.green('ok');
    out.push(`${run.displayName} ${run.version ?? ''}: ${status}, ${run.findingCount} finding(s), install ${(run.installMs / 1000).toFixed(2)} s${run.cacheHit ? ' (cached)' : ''}, run ${(run.runMs / 1000).toFixed(2)} s`);
  }
  for (const error of result.errors) out.push(pc.red(`${error.name}: ${clean(error.message)}`));
  const counts = countBySeverity(result);
  out.push(
    `Findings: ${SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ')}; ${suppressed} suppressed, ${baseline} in baseline, ${outside} outside the diff`
  );
  const verdict =
    result.verdict === 'pass'
      ? pc.green(pc.bold('PASS'))
      : result.verdict === 'fail'
        ? pc.red(pc.bold(`FAIL: ${result.blocking.length} finding(s) at or above ${result.policy.failOn}`))
        : pc.red(pc.bold('ERROR: a tool failed; results are incomplete'));
  out.push(`Verdict: ${verdict}`);
  return out.join('\n');
}
