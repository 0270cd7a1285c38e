import { isAtLeast, parseThreshold, severityFromScore, ConfigurationError } from '@secgate/core';

describe('severity', () => {
  it('orders severities and honours none', () => {
    expect(isAtLeast('critical', 'high')).toBe(true);
    expect(isAtLeast('medium', 'high')).toBe(false);
    expect(isAtLeast('critical', 'none')).toBe(false);
  });
  it('parses thresholds case-insensitively and rejects typos with the key named', () => {
    expect(parseThreshold(' HIGH ', 'fail-on')).toBe('high');
    expect(() => parseThreshold('hihg', 'fail-on')).toThrow(ConfigurationError);
    expect(() => parseThreshold('hihg', 'fail-on')).toThrow(/^fail-on: 'hihg' is not one of/);
  });
  it('buckets CVSS-like scores like GitHub does', () => {
    expect([9.8, 7.0, 4.0, 0.1, 0].map(severityFromScore)).toEqual(['critical', 'high', 'medium', 'low', 'info']);
  });
});
