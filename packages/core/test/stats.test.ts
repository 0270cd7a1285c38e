import { describe, expect, it } from '@jest/globals';
import { verdictAgainst, wilsonInterval } from '../src/stats.js';

describe('wilsonInterval', () => {
  it('matches published values (Newcombe 1998, table I: 81/263 and 0/10 at 95 %)', () => {
    const a = wilsonInterval(81, 263);
    expect(a.lower).toBeCloseTo(0.2553, 3);
    expect(a.upper).toBeCloseTo(0.3662, 3);
    const b = wilsonInterval(0, 10);
    expect(b.lower).toBe(0);
    expect(b.upper).toBeCloseTo(0.2775, 3);
    expect(wilsonInterval(10, 10).upper).toBeCloseTo(1, 12);
    expect(wilsonInterval(0, 0)).toEqual({ lower: 0, upper: 1 });
  });
  it('refuses what is not a proportion', () => {
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(-1, 2)).toThrow(RangeError);
    expect(() => wilsonInterval(1.5, 2)).toThrow(RangeError);
  });
});

describe('verdictAgainst', () => {
  it('passes or fails only when the whole interval is on one side', () => {
    expect(verdictAgainst({ lower: 0.82, upper: 0.95 }, 0.8, 'min')).toBe('pass');
    expect(verdictAgainst({ lower: 0.5, upper: 0.7 }, 0.8, 'min')).toBe('fail');
    expect(verdictAgainst({ lower: 0.7, upper: 0.9 }, 0.8, 'min')).toBe('inconclusive');
    expect(verdictAgainst({ lower: 0.0, upper: 0.08 }, 0.1, 'max')).toBe('pass');
    expect(verdictAgainst({ lower: 0.3, upper: 0.6 }, 0.1, 'max')).toBe('fail');
    expect(verdictAgainst({ lower: 0.05, upper: 0.2 }, 0.1, 'max')).toBe('inconclusive');
  });
});
