/** JSON schema of `.secgate.yml`. Unknown keys are errors: a typo must not silently relax the gate. */
export const POLICY_SCHEMA = {
  $id: 'https://secgate.dev/schema/policy-v1.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    'fail-on': { enum: ['critical', 'high', 'medium', 'low', 'info', 'none'] },
    'report-severity': { enum: ['critical', 'high', 'medium', 'low', 'info'] },
    'new-only': { enum: ['off', 'baseline', 'changed-lines'] },
    baseline: { type: 'string', minLength: 1 },
    exclude: { type: 'array', items: { type: 'string', minLength: 1 } },
    tools: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          version: { type: 'string', minLength: 1 },
          sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
          'allow-unverified': { type: 'boolean' },
          // A GitHub-hosted job ends after 6 hours; a longer limit is a mistake (and 1e12 overflows Node's timer).
          'timeout-minutes': { type: 'number', exclusiveMinimum: 0, maximum: 360 },
          enabled: { type: 'boolean' }
        }
      }
    },
    exceptions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['reason', 'owner', 'expires'],
        anyOf: [{ required: ['fingerprint'] }, { required: ['rule'] }, { required: ['cve'] }],
        properties: {
          fingerprint: { type: 'string', pattern: '^[0-9a-f]{32}$' },
          rule: { type: 'string', minLength: 1 },
          cve: { type: 'string', minLength: 1 },
          paths: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
          reason: { type: 'string', minLength: 3 },
          owner: { type: 'string', minLength: 1 },
          expires: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }
        }
      }
    }
  }
} as const;
