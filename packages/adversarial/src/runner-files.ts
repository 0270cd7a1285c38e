/**
 * The classifier runner's Python files (packages/adversarial/runner), embedded so the action bundle
 * carries them: the ART adapter writes them to its work directory and runs the entry point with the
 * venv's python. One static `readFileSync(new URL(...))` per file: ncc copies exactly these files
 * next to the bundle (a computed path would not be seen).
 */
import { readFileSync } from 'node:fs';

export interface RunnerFile {
  name: string;
  content: string;
}

/** The script the venv's python runs. */
export const RUNNER_ENTRY = 'secgate_art.py';

export const RUNNER_FILES: readonly RunnerFile[] = [{ name: RUNNER_ENTRY, content: readFileSync(new URL('../runner/secgate_art.py', import.meta.url), 'utf8') }];

/** Attack names the runner accepts in its `attacks` setting (lower-case). */
export const RUNNER_ATTACKS: readonly string[] = ['hopskipjump', 'square', 'fgsm', 'pgd'];
