/**
 * Wilson score interval of a proportion `successes / n` at the normal quantile `z` (1.96 for 95 %).
 * Unlike the normal approximation it stays inside [0, 1] and is meaningful for small samples and
 * for proportions at 0 or 1, which is where attack success rates on a few dozen samples live.
 */
export function wilsonInterval(successes: number, n: number, z = 1.959964): { lower: number; upper: number } {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`wilsonInterval: ${successes} successes of ${n} is not a proportion`);
  }
  if (n === 0) return { lower: 0, upper: 1 };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/**
 * Where a measured proportion stands against a bar, given its interval: `pass` or `fail` when the
 * whole interval is on one side, `inconclusive` when it straddles the threshold. `min`: the value
 * must be at least the threshold (robust accuracy); `max`: at most (attack success rate).
 */
export function verdictAgainst(interval: { lower: number; upper: number }, threshold: number, direction: 'min' | 'max'): 'pass' | 'fail' | 'inconclusive' {
  if (direction === 'min') return interval.lower >= threshold ? 'pass' : interval.upper < threshold ? 'fail' : 'inconclusive';
  return interval.upper <= threshold ? 'pass' : interval.lower > threshold ? 'fail' : 'inconclusive';
}
