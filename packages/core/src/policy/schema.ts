/** JSON schema of `.secgate.yml`. Unknown keys are errors: a typo must not silently relax the gate. */
export const POLICY_SCHEMA = {
  $id: 'https://secgate.dev/schema/policy-v1.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    'fail-on': { enum: ['critical', 'high', 'medium', 'low', 'info', 'none'] },
    // A package rule can only make the gate stricter, so `none` has no meaning there.
    'package-policy': {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['packages', 'fail-on'],
        properties: {
          packages: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 214 }, minItems: 1 },
          'fail-on': { enum: ['critical', 'high', 'medium', 'low', 'info'] },
          ecosystem: { type: 'string', minLength: 1 }
        }
      }
    },
    'ignore-unfixed': { type: 'boolean' },
    'unknown-severity': { enum: ['critical', 'high', 'medium', 'low', 'info'] },
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
        anyOf: [{ required: ['fingerprint'] }, { required: ['rule'] }, { required: ['advisory'] }, { required: ['cve'] }, { required: ['unaudited'] }],
        // An `unaudited` entry allows an unchecked dependency; mixed with finding selectors its meaning would be unclear.
        if: { required: ['unaudited'] },
        then: {
          not: {
            anyOf: [
              { required: ['fingerprint'] },
              { required: ['rule'] },
              { required: ['advisory'] },
              { required: ['cve'] },
              { required: ['package'] },
              { required: ['paths'] }
            ]
          }
        },
        properties: {
          fingerprint: { type: 'string', pattern: '^[0-9a-f]{32}$' },
          rule: { type: 'string', minLength: 1 },
          // Advisory ids are short words (CVE-2020-14343, GHSA-8q59-q68h-6hv4, PYSEC-2021-142).
          advisory: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9._:-]+$' },
          cve: { type: 'string', minLength: 1 },
          package: { type: 'string', minLength: 1, maxLength: 214 },
          unaudited: { type: 'string', minLength: 1, maxLength: 214 },
          paths: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
          reason: { type: 'string', minLength: 3 },
          owner: { type: 'string', minLength: 1 },
          expires: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }
        }
      }
    }
  }
} as const;
