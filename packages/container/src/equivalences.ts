import type { RuleEquivalence } from '@secgate/core';

/**
 * Dockerfile checks of Trivy (DS-…), Checkov (CKV_DOCKER_…) and hadolint (DL…) that test the same
 * instruction for the same thing, and secret detectors of Trivy and Checkov for one kind of credential: on one line of one Dockerfile they are one finding with every
 * source (mergeDuplicates needs the same file and start line, so a check one tool reports on the
 * instruction and another on the whole file stays two findings, as Kubernetes and Terraform checks
 * do: Checkov reports the resource's first line, Trivy the offending field, and their ids never
 * match one to one). Pairs come from each check's own definition (trivy-checks `checks/docker`,
 * Checkov's `checkov/dockerfile/checks`, the hadolint rule list), not from co-occurrence.
 */
export const CONTAINER_EQUIVALENT_RULES: readonly RuleEquivalence[] = [
  { name: "image tag 'latest'", rules: ['trivy:DS-0001', 'checkov:CKV_DOCKER_7', 'hadolint:DL3007'] },
  { name: 'port 22 exposed', rules: ['trivy:DS-0004', 'checkov:CKV_DOCKER_1'] },
  { name: 'ADD instead of COPY', rules: ['trivy:DS-0005', 'checkov:CKV_DOCKER_4', 'hadolint:DL3020'] },
  { name: 'package manager update alone', rules: ['trivy:DS-0017', 'checkov:CKV_DOCKER_5'] },
  { name: 'deprecated MAINTAINER', rules: ['trivy:DS-0022', 'checkov:CKV_DOCKER_6', 'hadolint:DL4000'] },
  { name: 'WORKDIR path not absolute', rules: ['trivy:DS-0009', 'checkov:CKV_DOCKER_10', 'hadolint:DL3000'] },
  { name: 'duplicate FROM alias', rules: ['trivy:DS-0012', 'checkov:CKV_DOCKER_11', 'hadolint:DL3024'] },
  { name: 'secret in ENV or ARG', rules: ['trivy:DS-0031', 'hadolint:DL3064'] },
  { name: "apt-get without '--no-install-recommends'", rules: ['trivy:DS-0029', 'hadolint:DL3015'] },
  { name: "apt-get without '-y'", rules: ['trivy:DS-0021', 'hadolint:DL3014'] },
  { name: "'RUN cd' instead of WORKDIR", rules: ['trivy:DS-0013', 'hadolint:DL3003'] },
  { name: 'RUN using sudo', rules: ['trivy:DS-0010', 'hadolint:DL3004'] },
  { name: 'apt-get dist-upgrade', rules: ['trivy:DS-0024', 'hadolint:DL3005'] },
  { name: 'exposed port out of range', rules: ['trivy:DS-0008', 'hadolint:DL3011'] },
  { name: 'COPY with several sources not ending in /', rules: ['trivy:DS-0011', 'hadolint:DL3021'] },
  { name: "COPY --from referring to the current image", rules: ['trivy:DS-0006', 'hadolint:DL3023'] },
  { name: "'apk add' without '--no-cache'", rules: ['trivy:DS-0025', 'hadolint:DL3019'] },
  { name: "'yum clean all' missing", rules: ['trivy:DS-0015', 'hadolint:DL3032'] },
  { name: "'zypper clean' missing", rules: ['trivy:DS-0020', 'hadolint:DL3036'] },
  { name: "'dnf clean all' missing", rules: ['trivy:DS-0019', 'hadolint:DL3040'] },
  { name: "RUN using both 'wget' and 'curl'", rules: ['trivy:DS-0014', 'hadolint:DL4001'] },
  { name: 'multiple CMD instructions', rules: ['trivy:DS-0016', 'hadolint:DL4003'] },
  { name: 'multiple ENTRYPOINT instructions', rules: ['trivy:DS-0007', 'hadolint:DL4004'] },
  { name: 'last USER is root', rules: ['checkov:CKV_DOCKER_8', 'hadolint:DL3002'] },
  { name: "'apt' instead of 'apt-get'", rules: ['checkov:CKV_DOCKER_9', 'hadolint:DL3027'] },
  // Secrets: Checkov's detectors (detect-secrets) and Trivy's rules for the same kind of credential.
  { name: 'AWS access key', rules: ['checkov:CKV_SECRET_2', 'trivy:aws-access-key-id', 'trivy:aws-secret-access-key'] },
  { name: 'private key', rules: ['checkov:CKV_SECRET_13', 'trivy:private-key'] },
  { name: 'Slack token', rules: ['checkov:CKV_SECRET_14', 'trivy:slack-access-token'] },
  { name: 'Stripe key', rules: ['checkov:CKV_SECRET_17', 'trivy:stripe-secret-token', 'trivy:stripe-publishable-token'] },
  { name: 'Twilio API key', rules: ['checkov:CKV_SECRET_18', 'trivy:twilio-api-key'] },
  { name: 'JSON Web Token', rules: ['checkov:CKV_SECRET_9', 'trivy:jwt-token'] }
];
