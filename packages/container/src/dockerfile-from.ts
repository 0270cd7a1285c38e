/**
 * The Dockerfile an image was built from, and the line of its final stage's `FROM`: where image
 * findings (vulnerabilities, secrets in layers) are annotated, since the image itself has no lines.
 */
import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { WorkspaceBoundary, type ToolContext } from '@secgate/core';
import { findDockerfiles, resolveDockerfileOption } from './dockerfiles.js';

export interface FromInstruction {
  /** 1-based line where the instruction starts. */
  line: number;
  /** 1-based line where it ends (after `\` continuations). */
  endLine: number;
  /** The base image (or an earlier stage's name) as written, variables unexpanded. */
  image: string;
  /** `AS <name>`, when given. */
  stage?: string;
}

/** Parser directives (`# escape=`` `) are only read before the first instruction or comment. */
const DIRECTIVE = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/;
/** A heredoc start in an instruction (`RUN <<EOF`, `COPY <<-"EOT" /x`): its body is not instructions. */
const HEREDOC = /<<-?\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\1/g;

/**
 * The final `FROM` of a Dockerfile's text, or undefined when it has none. Follows the Dockerfile
 * grammar as far as a line number needs: line continuations with the escape character (`\`, or
 * `` ` `` by parser directive), comment lines inside continuations, and heredoc bodies (a `FROM` in
 * a heredoc is script text, not an instruction).
 */
export function finalFrom(text: string): FromInstruction | undefined {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let index = 0;
  // Parser directives: leading `# key=value` lines, until anything else.
  while (index < lines.length) {
    const directive = DIRECTIVE.exec(lines[index]!);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape' && (directive[2] === '`' || directive[2] === '\\')) escape = directive[2];
    index++;
  }
  let last: FromInstruction | undefined;
  while (index < lines.length) {
    const startLine = index + 1;
    const first = lines[index]!;
    index++;
    if (first.trim() === '' || first.trimStart().startsWith('#')) continue;
    // Join continuation lines; comment and blank lines inside a continuation are dropped.
    let instruction = first;
    while (instruction.trimEnd().endsWith(escape) && index < lines.length) {
      instruction = instruction.trimEnd().slice(0, -escape.length);
      const next = lines[index]!;
      index++;
      if (next.trimStart().startsWith('#')) {
        instruction += escape; // still continued
        continue;
      }
      instruction += ` ${next}`;
    }
    const endLine = index;
    for (const match of instruction.matchAll(HEREDOC)) {
      const terminator = match[2]!;
      const dash = match[0].startsWith('<<-');
      while (index < lines.length) {
        const body = lines[index]!;
        index++;
        if ((dash ? body.replace(/^\t+/, '') : body) === terminator) break;
      }
    }
    const words = instruction.trim().split(/\s+/);
    if (words[0]!.toUpperCase() !== 'FROM') continue;
    const args = words.slice(1).filter((word) => !word.startsWith('--'));
    if (args.length === 0) continue;
    const stage = args.length >= 3 && args[1]!.toUpperCase() === 'AS' ? args[2] : undefined;
    last = { line: startLine, endLine, image: args[0]!, ...(stage ? { stage } : {}) };
  }
  return last;
}

/** A Dockerfile chosen for image findings: workspace-relative path and its final FROM (if any). */
export interface ImageDockerfile {
  path: string;
  from?: FromInstruction;
}

const MAX_DOCKERFILE_BYTES = 1024 * 1024;

/**
 * The Dockerfile whose final FROM line image findings annotate: the `dockerfile` option (must be a
 * file inside the workspace), else `Dockerfile` at the workspace root, else the only Dockerfile in
 * the stage's targets; undefined when none (or several) — image findings are then job-level.
 */
export async function imageDockerfile(context: Pick<ToolContext, 'workspace' | 'targets' | 'exclude' | 'options'>): Promise<ImageDockerfile | undefined> {
  const boundary = await WorkspaceBoundary.open(context.workspace);
  const relative = await resolveDockerfileOption(context.workspace, context.options, () => findDockerfiles(context.workspace, context.targets, context.exclude));
  if (relative === undefined) return undefined;
  const real = await boundary.realInside(path.join(boundary.workspace, relative));
  const info = real === undefined ? undefined : await stat(real).catch(() => undefined);
  if (real === undefined || !info?.isFile()) return undefined;
  // A huge file is not a Dockerfile anyone annotates line by line: keep the path, skip the line.
  if (info.size > MAX_DOCKERFILE_BYTES) return { path: relative };
  const from = finalFrom(await readFile(real, 'utf8'));
  return { path: relative, ...(from ? { from } : {}) };
}
