/**
 * Vulnerability findings built from the REAL advisory records in ../shared/fixtures/advisories (read at test time,
 * never copied), shaped as the sca adapters report them (sca-common.md): rule id = the advisory id the tool reports,
 * aliases = every id, CVEs, fixed versions from the record's ranges, severity from its CVSS vector or GHSA word.
 */
import { createHash } from 'node:crypto';
import type { Finding, Severity } from '@secgate/core';
import { normalisePackageName } from '@secgate/core';
import { severityFromOsv } from '../../sca/src/osv/severity.js';
import { advisory } from '../../../test/helpers/osv-records.js';

export interface AdvisoryFindingOptions {
  tool: string;
  /** The package name as the tool spells it (e.g. `PyYAML`). */
  name: string;
  version: string;
  ecosystem?: string;
  unknownSeverity?: Severity;
  location?: Finding['location'];
}

/** The finding `tool` reports for advisory `id` on `name@version`, as the sca adapters shape it. */
export function advisoryFinding(id: string, options: AdvisoryFindingOptions): Finding {
  const record = advisory(id);
  const ecosystem = options.ecosystem ?? 'PyPI';
  const affected = (record.affected ?? []).filter(
    (a) => a.package !== undefined && normalisePackageName(a.package.name, a.package.ecosystem) === normalisePackageName(options.name, ecosystem)
  );
  if (affected.length === 0) throw new Error(`${id} does not name ${options.name}`);
  const fixedVersions = [...new Set(affected.flatMap((a) => (a.ranges ?? []).filter((r) => r.type !== 'GIT').flatMap((r) => r.events.flatMap((e) => (e.fixed ? [e.fixed] : [])))))];
  const ids = [record.id, ...(record.aliases ?? [])];
  const { severity, basis } = severityFromOsv(record as Parameters<typeof severityFromOsv>[0], options.unknownSeverity ?? 'high');
  const identity = `${ecosystem}:${normalisePackageName(options.name, ecosystem)}@${options.version}:${[...ids].sort()[0]}`;
  return {
    tool: options.tool,
    ruleId: record.id,
    title: `${options.name} ${options.version}: ${record.id} ${record.summary ?? ''}`.trim(),
    message: `${options.name} ${options.version} (${ids.join(', ')}), ${severity} (${basis}); fixed in ${fixedVersions.join(', ') || 'no release'}`,
    severity,
    severityBasis: basis,
    package: { name: normalisePackageName(options.name, ecosystem), version: options.version, ecosystem, fixedVersions },
    aliases: ids,
    cve: ids.filter((alias) => alias.startsWith('CVE-')),
    helpUri: `https://osv.dev/vulnerability/${record.id}`,
    identity,
    tags: ['dependency', ecosystem],
    location: options.location,
    fingerprint: createHash('sha256').update(`${options.tool}\0${identity}`).digest('hex').slice(0, 32),
    sources: [{ tool: options.tool, ruleId: record.id }]
  };
}
