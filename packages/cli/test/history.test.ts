import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  ConfigurationError,
  describeCommitRange,
  historyCommits,
  parseRangeSpec,
  parseSinceDate,
  rangeRevisions,
  resolveCommit,
  type Logger
} from '@secgate/core';
import { GIT_IDENTITY, initRepo, writeFiles } from '../../../test/helpers/git-repo.js';

// The git helpers behind the CLI's local history scans (--range, --since, whole history), on real
// repositories built with the git CLI.

const execFileAsync = promisify(execFile);
const quiet: Logger = { debug: () => {}, info: () => {}, warning: () => {}, error: () => {}, group: (_name, fn) => fn() };

async function commitAt(dir: string, isoDate: string, message: string): Promise<string> {
  const env = { ...process.env, ...GIT_IDENTITY, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_DATE: isoDate, GIT_COMMITTER_DATE: isoDate };
  await execFileAsync('git', ['add', '-A'], { cwd: dir, env });
  await execFileAsync('git', ['-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', message], { cwd: dir, env });
  return (await execFileAsync('git', ['rev-parse', 'HEAD'], { cwd: dir, env })).stdout.trim();
}

describe('parseSinceDate', () => {
  it('takes ISO 8601 dates and date-times and gives git one unambiguous UTC form', () => {
    expect(parseSinceDate('2024-03-01')).toBe('2024-03-01T00:00:00Z');
    expect(parseSinceDate(' 2024-03-01T12:30 ')).toBe('2024-03-01T12:30:00Z');
    expect(parseSinceDate('2024-03-01T12:30:15+02:00')).toBe('2024-03-01T10:30:15Z');
    expect(parseSinceDate('2024-02-29')).toBe('2024-02-29T00:00:00Z');
  });

  it('refuses what git would silently misread (garbage selects nothing; relative words vary)', () => {
    for (const bad of ['yesterday', '2 weeks ago', '2023-02-29', '2024-13-01', '2024-01-01T24:00', '2024-01-01 10:00', '01/02/2024', '', '2024-01-01T10:00:00Z --all']) {
      expect(() => parseSinceDate(bad)).toThrow(ConfigurationError);
    }
    expect(() => parseSinceDate('yesterday')).toThrow("since: 'yesterday' is not an ISO 8601 date");
  });
});

describe('parseRangeSpec', () => {
  it('splits base..head; an empty head is HEAD, as in git', () => {
    expect(parseRangeSpec('main..feature')).toEqual({ base: 'main', head: 'feature' });
    expect(parseRangeSpec('v1.2.0..v1.3.0')).toEqual({ base: 'v1.2.0', head: 'v1.3.0' });
    expect(parseRangeSpec('HEAD~3..')).toEqual({ base: 'HEAD~3', head: 'HEAD' });
  });

  it('refuses symmetric, one-sided and chained forms', () => {
    for (const bad of ['main...feature', '..HEAD', 'main', 'a..b..c', '']) {
      expect(() => parseRangeSpec(bad)).toThrow(/range: '.*' is not <base>\.\.<head>/);
    }
  });
});

describe('commit ranges in a real repository', () => {
  let repo: string;
  const shas: string[] = [];

  beforeAll(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), 'secgate-history-unit-'));
    await initRepo(repo);
    for (const [index, date] of ['2020-01-01T10:00:00Z', '2020-02-01T10:00:00Z', '2020-03-01T10:00:00Z', '2021-01-01T10:00:00Z'].entries()) {
      await writeFiles(repo, { 'file.txt': `version ${index}\n` });
      shas.push(await commitAt(repo, date, `commit ${index}`));
    }
  });

  it('resolveCommit gives full SHAs and refuses option-like or unknown names', async () => {
    expect(await resolveCommit(repo, 'HEAD')).toBe(shas[3]);
    expect(await resolveCommit(repo, shas[1]!.slice(0, 8))).toBe(shas[1]);
    expect(await resolveCommit(repo, 'main~2')).toBe(shas[1]);
    expect(await resolveCommit(repo, '--all')).toBeUndefined();
    expect(await resolveCommit(repo, 'HEAD\n--all')).toBeUndefined();
    expect(await resolveCommit(repo, 'no-such-branch')).toBeUndefined();
  });

  it('lists all history, history since a date, and base..head', async () => {
    const whole = { head: shas[3]! };
    expect(await historyCommits(repo, whole, quiet)).toEqual([...shas].reverse());
    expect(rangeRevisions(whole)).toEqual([shas[3]]);
    expect(describeCommitRange(whole)).toBe(`all history of ${shas[3]!.slice(0, 12)}`);

    const since = { head: shas[3]!, since: parseSinceDate('2020-02-15') };
    expect(await historyCommits(repo, since, quiet)).toEqual([shas[3], shas[2]]);
    expect(rangeRevisions(since)).toEqual(['--since=2020-02-15T00:00:00Z', shas[3]]);

    const bounded = { base: shas[0]!, head: shas[2]! };
    expect(await historyCommits(repo, bounded, quiet)).toEqual([shas[2], shas[1]]);
    expect(describeCommitRange(bounded)).toBe(`${shas[0]!.slice(0, 12)}..${shas[2]!.slice(0, 12)}`);
  });

  it('refuses whole history of a shallow clone (the commits behind the cut would go unscanned)', async () => {
    const shallow = await mkdtemp(path.join(os.tmpdir(), 'secgate-history-shallow-'));
    await execFileAsync('git', ['clone', '-q', '--depth', '2', `file://${repo}`, shallow]);
    const head = (await resolveCommit(shallow, 'HEAD'))!;
    await expect(historyCommits(shallow, { head }, quiet)).rejects.toThrow(/this clone is shallow: history before [0-9a-f]{12} is missing/);
    // Since a date the clone fully holds: nothing is missing.
    expect(await historyCommits(shallow, { head, since: parseSinceDate('2020-06-01') }, quiet)).toEqual([shas[3]]);
  });
});
