import type { RuleEquivalence } from '@secgate/core';

/**
 * Rules of different sca tools that report the same problem. modelscan and picklescan both name
 * the global a pickle imports (`posix.system`, `builtins.eval`): one malicious file found by both
 * is one finding with both sources. Their findings carry no line (a model file is binary), so they
 * are matched by file and by identity (`<sha256>:<operator>`), not by line; see mergeDuplicates.
 */
export const SCA_EQUIVALENT_RULES: readonly RuleEquivalence[] = [{ name: 'unsafe import in a model file', rules: ['modelscan:*', 'picklescan:*'] }];
