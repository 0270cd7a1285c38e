#!/usr/bin/env python3
"""Rebuilds packages/container/src/checkov-severity.json: secgate's severity for every check Checkov can
report for the frameworks the container stage runs (terraform, kubernetes, dockerfile, helm,
github_actions, secrets).

Open-source Checkov reports `severity: null` for every check without a Prisma Cloud key, so secgate
assigns its own. Each check gets the first rule below its id, name and categories match; the rules
(and so the basis of every severity) are written into the JSON and documented in
packages/container/src/checkov-severity.md.

Run with the Python of a Checkov install (the version pinned in packages/container/src/adapters/checkov.ts):
    <venv>/bin/python scripts/gen-checkov-severity.py > packages/container/src/checkov-severity.json
"""
import json
import logging
import re
import sys

logging.disable(logging.CRITICAL)

from checkov.common.checks_infra.registry import get_graph_checks_registry  # noqa: E402
from checkov.dockerfile.registry import registry as dockerfile_registry  # noqa: E402
from checkov.github_actions.checks.registry import registry as github_actions_registry  # noqa: E402
from checkov.kubernetes.checks.resource.registry import registry as kubernetes_registry  # noqa: E402
from checkov.secrets.runner import CHECK_ID_TO_SECRET_TYPE  # noqa: E402
from checkov.terraform.checks.data.registry import data_registry  # noqa: E402
from checkov.terraform.checks.module.registry import module_registry  # noqa: E402
from checkov.terraform.checks.provider.registry import provider_registry  # noqa: E402
from checkov.terraform.checks.resource.registry import resource_registry  # noqa: E402
from checkov.version import version as checkov_version  # noqa: E402

# helm has no checks of its own: rendered charts are checked by the kubernetes registry.
FRAMEWORKS = ['terraform', 'kubernetes', 'dockerfile', 'helm', 'github_actions', 'secrets']

# Secret detectors that guess (entropy, a keyword next to a value) rather than match a provider's format.
GUESSING_SECRET_DETECTORS = {'Base64 High Entropy String', 'Hex High Entropy String', 'Secret Keyword'}


def words(pattern):
    return re.compile(pattern, re.IGNORECASE)


# (key, severity, basis, test(check)) — the first match wins. `check` has id, name, categories, framework.
RULES = [
    ('secret-provider', 'critical', 'a credential in a provider\'s own format (cloud key, token, private key) is committed in a file',
     lambda c: c['framework'] == 'secrets' and c['name'] not in GUESSING_SECRET_DETECTORS),
    ('secret-guess', 'high', 'a high-entropy string or a secret keyword with a value: probably a credential committed in a file',
     lambda c: c['framework'] == 'secrets'),
    ('hard-coded-credential', 'critical', 'a credential written into the configuration itself (provider block, user data, environment)',
     lambda c: words(r'hard.?coded|credentials? (are )?expos|password is not exposed|does not use basic credentials|expose secrets').search(c['name'])),
    ('privileged-container', 'critical', 'a privileged container, the Docker socket or CAP_SYS_ADMIN: root on the host',
     lambda c: words(r'privileged containers|docker daemon socket|CAP_SYS_ADMIN').search(c['name'])),
    ('admin-port-open', 'critical', 'SSH, RDP or every port reachable from the whole internet (0.0.0.0/0)',
     lambda c: words(r'(0\.0\.0\.0|internet|unrestricted|all traffic).*(port (22|3389|-1)\b|ssh|rdp)|(ssh|rdp) access is restricted from the internet|port -1').search(c['name'])
     and not words(r'egress|outbound').search(c['name'])),
    ('authentication-off', 'high', 'authentication or authorisation switched off (anonymous auth, AlwaysAllow, insecure port, basic or token files)',
     lambda c: words(r'anonymous-auth|alwaysallow|alwaysadmit|insecure-port|insecure-bind|basic-auth-file|token-auth-file|basic authentication|password authentication').search(c['name'])),
    ('public-access', 'high', 'data or a service reachable by anyone (public read/write, public endpoint, any IP, anonymous access)',
     lambda c: words(r'public|0\.0\.0\.0|any ip|anonymous|anyone|unrestricted|internet|wildcard \(\*\) principal|allusers').search(c['name'])
     # WAF and DNSSEC checks merely mention a public endpoint; they are not about exposing it.
     and not words(r'egress|outbound|\bwaf\b|dnssec').search(c['name'])),
    ('host-namespace', 'high', 'a container sharing the host\'s PID, IPC or network namespace, ports or file system',
     lambda c: words(r'host (process id|ipc|network) namespace|hostport|hostpath').search(c['name'])),
    ('runs-as-root', 'high', 'a container that runs as root or may gain privileges',
     lambda c: words(r'root containers|allowprivilegeescalation|privilege escalation|user for the container|last user is not root|high uid|runasnonroot').search(c['name'])),
    ('admin-permissions', 'high', 'administrative or wildcard permissions, impersonation, reading every secret, write-all CI tokens',
     lambda c: words(r'administrative|"\*"|\*-\*|wildcard use|write-all|impersonate|read all secrets|escalate roles|bind rolebindings|nodes/proxy|pods/exec|approve certificatesigningrequests|admission webhook').search(c['name'])),
    ('integrity-check-off', 'high', 'TLS certificate or package signature checks disabled: a build can be fed tampered code',
     lambda c: words(r'certificate validation|missing (gpg )?signatures|--force-yes|untrusted domains|kubelet-https|auto-tls').search(c['name'])),
    ('ci-code-injection', 'high', 'a CI workflow that runs attacker-controlled input or leaks secrets (shell injection, unsecure commands, curl/netcat with secrets)',
     lambda c: c['id'] in ('CKV_GHA_1', 'CKV_GHA_2', 'CKV_GHA_3', 'CKV_GHA_4')),
    ('hygiene', 'low', 'hygiene and defence in depth: labels, tags, descriptions, probes, health checks, resource requests/limits, image pinning and tags, build provenance',
     lambda c: 'CONVENTION' in c['categories']
     or words(r'\blabels?\b|\btags?\b|tagged|description|probe|healthcheck|requests should|limits should|image should use digest|image pull policy|non latest|latest or blank|workdir|maintainer|apt isn\'t used|update instructions|copy is used instead of add|cosign|attestation|workflow_dispatch inputs|naming|default namespace|port 22 is not exposed').search(c['name'])),
    ('encryption', 'medium', 'encryption at rest or in transit (KMS keys, TLS versions, ciphers, certificates)',
     lambda c: 'ENCRYPTION' in c['categories'] or words(r'encrypt|kms|\bcmk\b|\btls\b|\bssl\b|https|cipher|certificate').search(c['name'])),
    ('logging', 'medium', 'logging, auditing and monitoring',
     lambda c: 'LOGGING' in c['categories'] or words(r'\blog|audit|monitor|trail|alert').search(c['name'])),
    ('backup', 'medium', 'backup, versioning, retention and deletion protection',
     lambda c: 'BACKUP_AND_RECOVERY' in c['categories'] or words(r'backup|versioning|deletion protection|retention|snapshot|point in time|recovery').search(c['name'])),
    ('other-control', 'medium', 'any other security control Checkov checks (network, IAM, runtime hardening) with no more specific rule',
     lambda c: True),
]


def collect():
    checks = {}

    def add(framework, check_id, name, categories):
        entry = checks.setdefault(check_id, {'id': check_id, 'name': name.strip(), 'categories': set(), 'framework': framework})
        entry['categories'].update(str(getattr(x, 'name', x)).upper() for x in categories)

    registries = {
        'terraform': [resource_registry, data_registry, provider_registry, module_registry],
        'kubernetes': [kubernetes_registry],
        'dockerfile': [dockerfile_registry],
        'github_actions': [github_actions_registry],
    }
    for framework, framework_registries in registries.items():
        for registry in framework_registries:
            for _entity, check in registry.all_checks():
                add(framework, check.id, check.name, check.categories or [])
        graph = get_graph_checks_registry(framework)
        graph.load_checks()
        for check in graph.checks:
            add(framework, check.id, check.name, [check.category] if getattr(check, 'category', None) else [])
    for check_id, secret_type in CHECK_ID_TO_SECRET_TYPE.items():
        add('secrets', check_id, secret_type, ['SECRETS'])
    return checks


def main():
    checks = collect()
    assigned = {}
    for check_id in sorted(checks, key=lambda i: [int(p) if p.isdigit() else p for p in re.split(r'(\d+)', i)]):
        check = checks[check_id]
        key = next(rule[0] for rule in RULES if rule[3](check))
        assigned[check_id] = [key, check['name']]
    document = {
        'about': 'secgate severity for Checkov checks (open-source Checkov reports none). Rebuilt by scripts/gen-checkov-severity.py; basis in checkov-severity.md.',
        'checkov': checkov_version,
        'frameworks': FRAMEWORKS,
        'rules': {key: {'severity': severity, 'basis': basis} for key, severity, basis, _test in RULES},
        'checks': assigned,
    }
    json.dump(document, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
