import type { RuleEquivalence } from '@secgate/core';

/**
 * Rules of the sast tools that report the same problem at the same place; on one line they become
 * one finding listing every tool (the more severe report leads). Only pairs whose meaning is the
 * same belong here — a shared CWE is not enough.
 *
 * Deliberately NOT equivalent: our code-execution rules (`llm-output-injection`,
 * `dynamic-code-exec`, `llm-tool-code-exec`, `python-repl-exec`, `remote-response-code-exec`) and
 * bandit's generic sink checks on the same call (B102 exec, B307 eval, B602/B605 shell, B608 SQL).
 * Bandit says "this sink is risky", ours say "model output (or code arriving as data) reaches it" —
 * a stronger claim. Merged, a reviewed exception for the generic check (`rule: bandit:B602`, e.g.
 * for a constant shell command) would also silence the stronger finding once a later change feeds
 * the call with LLM output. Bandit's import checks (B403 pickle, B404 subprocess) flag the import
 * line, not the call, and are not equivalences either.
 */
export const SAST_EQUIVALENT_RULES: readonly RuleEquivalence[] = [
  { name: 'unsafe yaml.load', rules: ['bandit:B506', 'semgrep:secgate.ml.yaml-unsafe-load'] },
  // B301 covers pickle, cPickle, dill and shelve loads, B302 marshal; our rule covers those and
  // joblib, cloudpickle, pandas. Two loads on one line pair in order (see mergeDuplicates).
  { name: 'deserialization that runs code', rules: ['bandit:B301', 'bandit:B302', 'semgrep:secgate.ml.pickle-deserialization'] },
  { name: 'torch.load without weights_only', rules: ['bandit:B614', 'semgrep:secgate.ml.torch-load-unsafe'] },
  { name: 'Hugging Face download without a pinned revision', rules: ['bandit:B615', 'semgrep:secgate.ml.hf-unpinned-revision'] },
  { name: 'TLS verification turned off', rules: ['bandit:B501', 'semgrep:secgate.ml.requests-verify-false'] },
  { name: 'tar extraction without a filter', rules: ['bandit:B202', 'semgrep:secgate.ml.tarfile-extractall-no-filter'] },
  // Secrets found by two tools on one line are the same credential, whatever each tool calls it.
  // Two secrets of one tool on one line stay two findings (mergeDuplicates never merges one tool's reports).
  {
    name: 'hardcoded credential',
    rules: ['gitleaks:*', 'git-secrets:*', 'bandit:B105', 'bandit:B106', 'bandit:B107']
  }
];
