#!/usr/bin/env bash
# Lays out the public IaC corpus of the container stage's parity test
# (packages/container/test/parity.test.ts) in a cache OUTSIDE the clone: released Go modules of
# public projects that nobody here wrote, whose module archives carry their Kubernetes manifests,
# kustomize overlays, Helm charts, Terraform, Dockerfiles and GitHub workflows. Each archive is
# verified against the SHA-256 pinned below (the go command also checks it against the checksum
# database), then cut to the scope given per project.
#
#   bash scripts/corpus/fetch-iac-corpus.sh            # prints the corpus directory on stdout
#   bash scripts/corpus/fetch-iac-corpus.sh --check    # verifies what is there; exit 1 if incomplete
#
#   SECGATE_TOOL_CACHE   cache root (default: $HOME/.cache/secgate-ci); the corpus goes to <root>/iac-corpus
#   GOPROXY, GOSUMDB     honoured by `go mod download` (the pinned SHA-256 is checked whatever the proxy)
set -euo pipefail
CACHE="${SECGATE_TOOL_CACHE:-$HOME/.cache/secgate-ci}/iac-corpus"
CHECK_ONLY=0
[ "${1:-}" = "--check" ] && CHECK_ONLY=1
ATTEMPTS=3

# name<TAB>module@version<TAB>sha256 of the module zip<TAB>include (ERE on the path)<TAB>exclude (ERE, or -)
# Scopes leave out Go and Python source, generated CRDs and API schemas (MBs of OpenAPI, no workload).
#   katib (Apache-2.0): kustomize manifests, experiment examples, 25 Dockerfiles, workflows
#   kuberay ray-operator (Apache-2.0): kustomize config and RayCluster/RayJob/RayService samples, Dockerfiles
#   terraform-provider-kubernetes (MPL-2.0): Terraform of EKS/GKE/AKS/LKE test clusters and examples
#   metrics-server (Apache-2.0): a Helm chart, kustomize manifests, a Dockerfile, workflows
CORPUS=$(cat <<'EOF'
katib	github.com/kubeflow/katib@v0.19.0	103c1007d05e1b4e9a70763450d2ecfa50a2aaa014565585625d2e24c4f4e970	.	^(api|sdk|pkg|docs)/|\.(go|py|ipynb|md)$
kuberay-operator	github.com/ray-project/kuberay/ray-operator@v1.5.0	59792cf6d32ecb6512403a4a470c2d2100ba81ab7583dcf4db4a3f0d6df5fab9	.	^(config/crd|apis|pkg|controllers)/|\.(go|py|md)$
terraform-provider-kubernetes	github.com/hashicorp/terraform-provider-kubernetes@v1.13.4	c2898aaff93405726b339d10f1d4f3041502cc3abc845eb6701a9208257275ef	.	^(vendor|website)/|\.(go|md)$
metrics-server	sigs.k8s.io/metrics-server@v0.8.0	f5a32b733cbe1b728ca04f69d602fdb733461767845c85a7a24294fb3f6aab82	.	^(pkg|cmd|docs)/|\.(go|md)$
EOF
)

sha256() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$CACHE/zips"
status=0
while IFS=$'\t' read -r name module expected include exclude; do
  version=${module##*@}
  target="$CACHE/$name@$version"
  zip="$CACHE/zips/$name@$version.zip"
  # What the tree was laid out from; a changed pin or scope lays it out anew.
  layout="$expected	$include	$exclude"
  if [ -d "$target" ] && [ -f "$zip" ] && [ "$(cat "$target.layout" 2>/dev/null)" = "$layout" ] && [ "$(sha256 "$zip")" = "$expected" ]; then
    echo "cached   $name@$version" >&2
    continue
  fi
  if [ "$CHECK_ONLY" = 1 ]; then
    echo "missing  $name@$version ($module; run scripts/corpus/fetch-iac-corpus.sh)" >&2
    status=1
    continue
  fi
  # A private directory, then an atomic rename: a concurrent reader never sees half a tree.
  tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
  if [ ! -f "$zip" ] || [ "$(sha256 "$zip")" != "$expected" ]; then
    attempt=1
    # A private module cache, outside any module; -modcacherw so it can be removed afterwards.
    until info=$(cd "$tmp" && GOMODCACHE="$tmp/modcache" GOFLAGS=-modcacherw GOTOOLCHAIN=local GOWORK=off GO111MODULE=on \
      go mod download -json "$module" 2>"$tmp/go.err"); do
      if [ "$attempt" -ge "$ATTEMPTS" ]; then
        echo "error: go mod download $module failed $ATTEMPTS times: $(cat "$tmp/go.err") $info" >&2
        exit 1
      fi
      echo "retry    $name@$version (attempt $attempt failed: $(head -c 300 "$tmp/go.err"))" >&2
      sleep $((attempt * 5))
      attempt=$((attempt + 1))
    done
    downloaded=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",\{0,1\}$/\1/p')
    if [ -z "$downloaded" ] || [ ! -f "$downloaded" ]; then
      echo "error: go mod download $module gave no zip: $info" >&2
      exit 1
    fi
    actual=$(sha256 "$downloaded")
    if [ "$actual" != "$expected" ]; then
      echo "error: $module: zip sha256 $actual, this script pins $expected" >&2
      exit 1
    fi
    cp "$downloaded" "$tmp/module.zip"
    mv -f "$tmp/module.zip" "$zip"
  fi
  # Every entry of a module zip is under "<module>@<version>/"; keep the in-scope files, no prefix.
  unzip -q "$zip" -d "$tmp/unzipped"
  root="$tmp/unzipped/$module"
  (cd "$root" && find . -type f -print0) | while IFS= read -r -d '' file; do
    file=${file#./}
    [[ $file =~ $include ]] || continue
    [ "$exclude" != - ] && [[ $file =~ $exclude ]] && continue
    mkdir -p "$tmp/tree/$(dirname "$file")"
    mv "$root/$file" "$tmp/tree/$file"
  done
  rm -rf "$target" "$target.layout"
  mv "$tmp/tree" "$target"
  printf '%s' "$layout" >"$target.layout"
  chmod -R u+w "$tmp"
  rm -rf "$tmp"
  trap - EXIT
  echo "laid out $name@$version ($(find "$target" -type f | wc -l) files)" >&2
done <<<"$CORPUS"
[ "$status" = 0 ] || exit "$status"
echo "$CACHE"
