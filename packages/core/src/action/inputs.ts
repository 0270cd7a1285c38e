import * as core from '@actions/core';
import { ConfigurationError } from '../errors.js';
import type { RawSettings } from '../config.js';

/** Empty → undefined, so "not given" can fall through to the policy file. */
export function optionalInput(name: string): string | undefined {
  const value = core.getInput(name);
  return value === '' ? undefined : value;
}

export function booleanInput(name: string, fallback: boolean): boolean {
  const value = optionalInput(name);
  if (value === undefined) return fallback;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  // A typo must not flip a security setting silently.
  throw new ConfigurationError(`'${value}' is not a boolean (true or false)`, name);
}

/** Settings common to every stage action, plus the stage-specific option inputs named. */
export function readSettings(workspace: string, optionInputs: readonly string[]): RawSettings {
  const options: Record<string, string> = {};
  for (const name of optionInputs) {
    const value = optionalInput(name);
    if (value !== undefined) options[name] = value;
  }
  return {
    workspace,
    tools: optionalInput('tools'),
    paths: optionalInput('paths'),
    exclude: optionalInput('exclude'),
    failOn: optionalInput('fail-on'),
    reportSeverity: optionalInput('report-severity'),
    newOnly: optionalInput('new-only'),
    config: optionalInput('config'),
    baseline: optionalInput('baseline'),
    toolVersions: optionalInput('tool-versions'),
    allowUnverifiedTools: booleanInput('allow-unverified-tools', false),
    timeoutMinutes: optionalInput('timeout-minutes'),
    mirrorUrl: optionalInput('mirror-url'),
    pipIndexUrl: optionalInput('pip-index-url'),
    python: optionalInput('python'),
    options
  };
}

export type PolicySource = 'head' | 'base';

/**
 * `policy-source`: which commit's policy file (and baseline) applies on pull requests and merge
 * groups. `head` (default): the change's own, so a reviewed exception can land with the code that
 * needs it; `base`: the target branch's, so a change cannot relax its own gate.
 */
export function policySourceInput(): PolicySource {
  const value = (optionalInput('policy-source') ?? 'head').trim().toLowerCase();
  if (value !== 'head' && value !== 'base') throw new ConfigurationError(`'${value}' is not one of head, base`, 'policy-source');
  return value;
}
