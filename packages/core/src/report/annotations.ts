import type { EvaluatedFinding } from '../finding.js';
import type { Severity } from '../severity.js';
import { commandText, hasUnsafeCharacters } from './escape.js';

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

/** Caps of an annotation's parts: with @actions/core's escaping (at most 3 characters each), the command line stays under LOG_LINE_LIMIT. */
export const ANNOTATION_TITLE_MAX = 250;
export const ANNOTATION_MESSAGE_MAX = 4000;
export const ANNOTATION_FILE_MAX = 1000;

/**
 * A finding as an annotation. Every text part is cleaned for a workflow command (see
 * `commandText`). A path that is too long or holds line breaks or controls cannot be a `file`
 * property: the annotation is then job-level and names the (cut) path in its message; the full
 * path stays in SARIF and the JSON report.
 */
export function toAnnotation(finding: EvaluatedFinding): Annotation {
  const loc = finding.location;
  const sources = finding.sources.map((s) => `${s.tool} ${s.ruleId}`).join(', ');
  const title = commandText(`[${finding.severity.toUpperCase()}] ${finding.title} (${sources})`, ANNOTATION_TITLE_MAX, true);
  const extra = [finding.cwe?.length ? finding.cwe.join(', ') : '', finding.helpUri ?? ''].filter(Boolean).join(' · ');
  const pinned = loc !== undefined && loc.path.length <= ANNOTATION_FILE_MAX && !hasUnsafeCharacters(loc.path);
  const place = loc && !pinned ? `${commandText(loc.path, 300, true)}${loc.startLine ? `:${loc.startLine}` : ''}: ` : '';
  const annotation: Annotation = {
    level: annotationLevel(finding.severity),
    title,
    message: commandText(`${place}${finding.message}${finding.isNew ? '' : ' (in baseline)'}${extra ? `\n${extra}` : ''}`, ANNOTATION_MESSAGE_MAX),
    file: pinned ? loc.path : undefined
  };
  if (pinned && loc.startLine) {
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
export function planAnnotations(
  findings: EvaluatedFinding[],
  jobBudgetLeft: number,
  /** Annotations this step already posted (e.g. policy relaxation warnings): they share the per-level cap. */
  alreadyPosted: Partial<Record<AnnotationLevel, number>> = {}
): AnnotationPlan {
  const perLevel: Record<AnnotationLevel, number> = { error: 0, warning: 0, notice: 0, ...alreadyPosted };
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
