import type { EvaluatedFinding } from '../finding.js';
import type { Severity } from '../severity.js';
import { truncate } from '../fingerprint.js';

export type AnnotationLevel = 'error' | 'warning' | 'notice';

export interface Annotation {
  level: AnnotationLevel;
  title: string;
  message: string;
  file?: string;
  startLine?: number;
  endLine?: number;
  startColumn?: number;
  endColumn?: number;
}

/** GitHub shows at most 10 annotations per level per step and 50 per job; the rest are dropped silently. */
export const ANNOTATIONS_PER_LEVEL_PER_STEP = 10;
export const ANNOTATIONS_PER_JOB = 50;

export function annotationLevel(severity: Severity): AnnotationLevel {
  return severity === 'critical' || severity === 'high' ? 'error' : severity === 'medium' ? 'warning' : 'notice';
}

export function toAnnotation(finding: EvaluatedFinding): Annotation {
  const loc = finding.location;
  const sources = finding.sources.map((s) => `${s.tool} ${s.ruleId}`).join(', ');
  const title = truncate(`[${finding.severity.toUpperCase()}] ${finding.title} (${sources})`, 250);
  const extra = [finding.cwe?.length ? finding.cwe.join(', ') : '', finding.helpUri ?? ''].filter(Boolean).join(' · ');
  const annotation: Annotation = {
    level: annotationLevel(finding.severity),
    title,
    message: truncate(`${finding.message}${finding.isNew ? '' : ' (in baseline)'}${extra ? `\n${extra}` : ''}`, 4000),
    file: loc?.path
  };
  if (loc?.startLine) {
    annotation.startLine = loc.startLine;
    annotation.endLine = loc.endLine ?? loc.startLine;
    // GitHub ignores columns on multi-line annotations.
    if (annotation.endLine === annotation.startLine && loc.startColumn) {
      annotation.startColumn = loc.startColumn;
      if (loc.endColumn && loc.endColumn >= loc.startColumn) annotation.endColumn = loc.endColumn;
    }
  }
  return annotation;
}

export interface AnnotationPlan {
  annotations: Annotation[];
  /** Reported findings that did not get an annotation because of the caps. */
  omitted: number;
}

/**
 * Picks which findings get an inline annotation: only active, reported findings, in rank order
 * (the input is already ranked), within the per-level cap and what is left of the job's budget.
 */
export function planAnnotations(findings: EvaluatedFinding[], jobBudgetLeft: number): AnnotationPlan {
  const perLevel: Record<AnnotationLevel, number> = { error: 0, warning: 0, notice: 0 };
  const annotations: Annotation[] = [];
  let omitted = 0;
  for (const finding of findings) {
    if (!finding.reported || finding.state.kind !== 'active') continue;
    const level = annotationLevel(finding.severity);
    if (perLevel[level] >= ANNOTATIONS_PER_LEVEL_PER_STEP || annotations.length >= jobBudgetLeft) {
      omitted++;
      continue;
    }
    perLevel[level]++;
    annotations.push(toAnnotation(finding));
  }
  return { annotations, omitted };
}
