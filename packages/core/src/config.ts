import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { StageDefinition } from './adapter.js';
import type { ScanRequest } from './engine.js';
import { ConfigurationError } from './errors.js';
import type { InstallerOptions, VersionOverride } from './install/installer.js';
import type { Logger } from './logger.js';
import { DEFAULT_BASELINE_FILE, MAX_BASELINE_BYTES, parseBaseline } from './policy/baseline.js';
import { DEFAULT_UNKNOWN_SEVERITY, stricterThreshold, type EffectivePolicy } from './policy/evaluate.js';
import { DEFAULT_POLICY_FILE, MAX_POLICY_BYTES, parsePolicy, type NewOnlyMode, type PackageRule, type PolicyFile } from './policy/policy.js';
import { parseThreshold, type Severity, type Threshold } from './severity.js';
import { WorkspaceBoundary, workingTreeSource, type RepoFileSource } from './workspace.js';

/**
 * Settings as the user gave them (action inputs or CLI flags): strings, undefined when not given.
 * Precedence: explicit setting > policy file > built-in default.
 */
export interface RawSettings {
  workspace: string;
  tools?: string;
  paths?: string;
  exclude?: string;
  failOn?: string;
  reportSeverity?: string;
  newOnly?: string;
  config?: string;
  baseline?: string;
  /** Lines or commas of `tool=version` or `tool=version@sha256`. */
  toolVersions?: string;
  allowUnverifiedTools?: boolean;
  timeoutMinutes?: string;
  mirrorUrl?: string;
  pipIndexUrl?: string;
  python?: string;
  /** Stage-specific settings, validated by `validateOptions` of the stages. */
  options: Record<string, string>;
}

export const DEFAULTS = {
  failOn: 'high',
  reportSeverity: 'low',
  newOnly: 'off' as NewOnlyMode,
  timeoutMinutes: 15
} as const;

export interface PreparedScan {
  request: Omit<ScanRequest, 'changedLines' | 'commitRange'>;
  installer: Omit<InstallerOptions, 'logger'>;
  policyFile?: PolicyFile;
  policyPath: string;
}

/** Splits a list input on newlines and commas, trimming and dropping blanks and `#` comments. */
export function parseList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(/[\n,]/)
    .map((item) => item.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

export function parseToolVersions(value: string | undefined, allowUnverified: boolean): Record<string, VersionOverride> {
  const overrides: Record<string, VersionOverride> = {};
  for (const item of parseList(value)) {
    const match = /^([a-z0-9-]+)\s*=\s*([^@\s]+)(?:@(?:sha256:)?([0-9a-fA-F]{64}))?$/.exec(item);
    if (!match) {
      throw new ConfigurationError(`'${item}' is not 'tool=version' or 'tool=version@sha256'`, 'tool-versions');
    }
    overrides[match[1]!] = { version: match[2]!, sha256: match[3]?.toLowerCase(), allowUnverified };
  }
  return overrides;
}

/** GitHub ends a job after 6 hours; a longer per-tool limit is a mistake (and 1e12 ms overflows Node's timer). */
export const MAX_TIMEOUT_MINUTES = 360;

function timeoutMinutes(value: string, key: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigurationError(`'${value}' is not a positive number`, key);
  if (n > MAX_TIMEOUT_MINUTES) throw new ConfigurationError(`'${value}' is more than ${MAX_TIMEOUT_MINUTES} minutes (the 6-hour job limit)`, key);
  return n;
}

/** A true/false input (`ignore-unfixed`); undefined when not given. Anything else is an error, never false. */
function booleanSetting(value: string | undefined, key: string): boolean | undefined {
  const normalised = value?.trim().toLowerCase();
  if (normalised === undefined || normalised === '') return undefined;
  if (normalised === 'true') return true;
  if (normalised === 'false') return false;
  throw new ConfigurationError(`'${value!.slice(0, 40)}' is not true or false`, key);
}

/**
 * The package rules that make the gate stricter. A rule at or below `fail-on` changes nothing (a
 * package rule never loosens the gate): it is dropped with a warning, not an error, because
 * `fail-on` may come from an input that differs between workflows sharing one policy file.
 */
function effectivePackagePolicy(rules: readonly PackageRule[], failOn: Threshold, logger: Logger): PackageRule[] {
  return rules.filter((rule, index) => {
    if (stricterThreshold(failOn, rule['fail-on']) === rule['fail-on'] && rule['fail-on'] !== failOn) return true;
    logger.warning(
      `Policy: package-policy[${index}] (fail-on ${rule['fail-on']} for ${rule.packages.join(', ')}) is not stricter than fail-on ${failOn} and has no effect; a package rule never loosens the gate`
    );
    return false;
  });
}

export interface PrepareContext {
  logger: Logger;
  now: Date;
  tempDir?: string;
  /**
   * Where the policy and baseline files are read from; default the working tree. The action passes
   * the pull request's base commit for `policy-source: base`, so a PR cannot relax its own gate.
   */
  policySource?: RepoFileSource;
}

/** Validates every setting up front: a bad input fails the step before any tool is installed. */
export async function prepareScan(stages: readonly StageDefinition[], raw: RawSettings, context: PrepareContext): Promise<PreparedScan> {
  const boundary = await WorkspaceBoundary.open(raw.workspace);
  const workspace = boundary.workspace;
  const source = context.policySource ?? workingTreeSource(boundary);
  const fromCommit = context.policySource !== undefined;
  const policySetting = raw.config || DEFAULT_POLICY_FILE;
  const policyPath = await boundary.resolveSetting(policySetting, 'config');
  const policyName = path.relative(workspace, policyPath) || policySetting;
  const policyText = await source.read(policySetting, 'config', { maxBytes: MAX_POLICY_BYTES });
  if (policyText === undefined && raw.config && !fromCommit) {
    throw new ConfigurationError(`cannot read policy file ${policySetting}: it does not exist`, 'config');
  }
  const policyFile = policyText === undefined ? undefined : parsePolicy(policyText, policyName);
  if (policyFile) context.logger.info(`Policy: ${policyName}${fromCommit ? ` from ${source.label}` : ''}`);
  else if (fromCommit) context.logger.info(`Policy: no ${policyName} in ${source.label}; the built-in defaults apply`);

  const failOn = parseThreshold(raw.failOn || policyFile?.['fail-on'] || DEFAULTS.failOn, 'fail-on');
  const reportThreshold = parseThreshold(raw.reportSeverity || policyFile?.['report-severity'] || DEFAULTS.reportSeverity, 'report-severity');
  if (reportThreshold === 'none') throw new ConfigurationError(`'none' is not allowed; use critical to report least`, 'report-severity');
  const reportSeverity: Severity = reportThreshold;
  const newOnlyValue = (raw.newOnly || policyFile?.['new-only'] || DEFAULTS.newOnly).trim().toLowerCase();
  const newOnlyAliases: Record<string, NewOnlyMode> = { off: 'off', false: 'off', baseline: 'baseline', 'changed-lines': 'changed-lines' };
  const newOnly = newOnlyAliases[newOnlyValue];
  if (!newOnly) throw new ConfigurationError(`'${newOnlyValue}' is not one of off, baseline, changed-lines`, 'new-only');

  const ignoreUnfixed = booleanSetting(raw.options['ignore-unfixed'], 'ignore-unfixed') ?? policyFile?.['ignore-unfixed'] ?? false;
  const unknownThreshold = parseThreshold(raw.options['unknown-severity'] || policyFile?.['unknown-severity'] || DEFAULT_UNKNOWN_SEVERITY, 'unknown-severity');
  if (unknownThreshold === 'none') throw new ConfigurationError(`'none' is not a severity; use info for the lowest`, 'unknown-severity');
  const unknownSeverity: Severity = unknownThreshold;
  const packagePolicy = effectivePackagePolicy(policyFile?.['package-policy'] ?? [], failOn, context.logger);

  const policy: EffectivePolicy = {
    failOn,
    reportSeverity,
    newOnly,
    exceptions: policyFile?.exceptions ?? [],
    packagePolicy,
    ignoreUnfixed,
    unknownSeverity
  };

  let baseline: Set<string> | undefined;
  if (newOnly === 'baseline' || raw.baseline) {
    const baselineSetting = raw.baseline || policyFile?.baseline || DEFAULT_BASELINE_FILE;
    const text = await source.read(baselineSetting, 'baseline', { maxBytes: MAX_BASELINE_BYTES });
    if (text === undefined) {
      throw new ConfigurationError(`cannot read baseline ${baselineSetting} (not in ${source.label}); create it with 'secgate baseline'`, 'baseline');
    }
    baseline = parseBaseline(text, baselineSetting);
  }

  const knownTools = stages.flatMap((stage) => stage.adapters.map((adapter) => adapter.id));
  const overrides: Record<string, VersionOverride> = {};
  for (const [tool, settings] of Object.entries(policyFile?.tools ?? {})) {
    if (settings.version) {
      overrides[tool] = { version: settings.version, sha256: settings.sha256, allowUnverified: settings['allow-unverified'] };
    }
  }
  const fromInput = parseToolVersions(raw.toolVersions, Boolean(raw.allowUnverifiedTools));
  const unknownOverrides = Object.keys(fromInput).filter((tool) => !knownTools.includes(tool));
  if (unknownOverrides.length > 0) {
    throw new ConfigurationError(`unknown tool(s) ${unknownOverrides.join(', ')}; known tools: ${knownTools.join(', ') || '(none)'}`, 'tool-versions');
  }
  Object.assign(overrides, fromInput);
  // One policy file may serve several stages, so another stage's tool is not an error here.
  const otherTools = Object.keys(policyFile?.tools ?? {}).filter((tool) => !knownTools.includes(tool));
  if (otherTools.length > 0) context.logger.info(`Policy: tools.${otherTools.join(', tools.')} not used by this run (known tools: ${knownTools.join(', ')})`);

  const timeoutsMs: Record<string, number> = {};
  const defaultTimeout = raw.timeoutMinutes ? timeoutMinutes(raw.timeoutMinutes, 'timeout-minutes') : undefined;
  for (const stage of stages) {
    for (const adapter of stage.adapters) {
      const fromPolicy = policyFile?.tools?.[adapter.id]?.['timeout-minutes'];
      const minutes = defaultTimeout ?? fromPolicy;
      if (minutes) timeoutsMs[adapter.id] = minutes * 60_000;
    }
  }

  let tools = parseList(raw.tools);
  const disabled = Object.entries(policyFile?.tools ?? {}).filter(([, s]) => s.enabled === false).map(([t]) => t);
  if (disabled.length > 0) {
    if (tools.length === 0) tools = stages.flatMap((s) => [...s.defaultTools]);
    tools = tools.filter((t) => !disabled.includes(t));
    if (tools.length === 0) throw new ConfigurationError('every selected tool is disabled by the policy file', 'tools');
  }

  const targets = parseList(raw.paths);
  for (const target of targets) {
    const resolved = await boundary.resolveSetting(target, 'paths');
    // A target that is not there would scan nothing and pass.
    if (!existsSync(resolved)) throw new ConfigurationError(`'${target}' does not exist in the workspace`, 'paths');
  }
  if (raw.mirrorUrl && !/^https?:\/\//.test(raw.mirrorUrl)) {
    throw new ConfigurationError(`'${raw.mirrorUrl}' is not an http(s) URL`, 'mirror-url');
  }

  return {
    policyPath,
    policyFile,
    installer: { mirrorUrl: raw.mirrorUrl || undefined, pipIndexUrl: raw.pipIndexUrl || undefined, python: raw.python || undefined, overrides },
    request: {
      stages,
      workspace,
      targets: targets.length > 0 ? targets : ['.'],
      exclude: [...(policyFile?.exclude ?? []), ...parseList(raw.exclude)],
      tools,
      policy,
      // Adapters that enrich advisories read the one effective value (input > policy file > default).
      options: { ...raw.options, 'unknown-severity': unknownSeverity },
      timeoutsMs,
      baseline,
      now: context.now,
      tempDir: context.tempDir ?? path.join(process.env['RUNNER_TEMP'] || os.tmpdir(), `secgate-${process.pid}`)
    }
  };
}
