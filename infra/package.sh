#!/usr/bin/env bash
# `make package`: `sam build` of template.yaml for its arm64 architecture, then
# proof that every function has an aarch64 bootstrap in .aws-sam/build/.
#
# Tools: sam from infra/requirements-dev.txt (infra/venv.sh); cargo-lambda and
# zig from infra/requirements-package.txt, installed into the same .venv here
# (skipped when .venv/.stamp-package says it is current). Offline apart from
# the package registries; needs no AWS account (dummy credentials below).
#
# Profile: SAM's rust-cargolambda builder runs `cargo lambda build --release
# --arm64 --bin <Binary>` once per function, in the source tree, so all eight
# share target/ and its compiled dependencies; each still pays its own LTO link
# (workspace release profile: lto, codegen-units=1), one after another. So
# PACKAGE_PREBUILD=1 (the default) first runs the same command once with all
# eight --bin flags, which lets cargo link two binaries at a time; sam build
# then finds them fresh and only copies them. PACKAGE_PREBUILD=0 leaves it all
# to sam. SAM_BUILD_MODE=debug (a SAM setting) gives debug builds instead.
set -euo pipefail

start=$SECONDS
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash infra/venv.sh

# cargo-lambda and ziglang into .venv, keyed like infra/venv.sh's stamp.
req="$root/infra/requirements-package.txt"
stamp="$root/.venv/.stamp-package"
want="$(sha256sum "$req" | cut -d' ' -f1) $(.venv/bin/python -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "package: cargo-lambda and zig up to date"
else
  rm -f "$stamp"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  printf '%s\n' "$want" >"$stamp"
  echo "package: installed infra/requirements-package.txt"
fi

rustup target add aarch64-unknown-linux-gnu

# sam looks cargo-lambda up on PATH; cargo-lambda finds zig as `python3 -m ziglang`.
export PATH="$root/.venv/bin:$PATH"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export SAM_CLI_TELEMETRY=0
unset AWS_PROFILE AWS_SESSION_TOKEN

# The functions (logical id and Binary) as the template declares them.
functions="$(.venv/bin/python - <<'PY'
from samcli.yamlhelper import yaml_parse
with open("template.yaml") as f:
    t = yaml_parse(f.read())
for lid, r in t["Resources"].items():
    if r.get("Type") == "AWS::Serverless::Function":
        print(lid, ((r.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary", ""))
PY
)"
[[ -n "$functions" ]] || { echo "package: FAILED: no AWS::Serverless::Function in template.yaml" >&2; exit 1; }

if [[ "${PACKAGE_PREBUILD:-1}" == 1 && "${SAM_BUILD_MODE:-}" != debug ]]; then
  bins=()
  while read -r _ bin; do [[ -n "$bin" ]] && bins+=(--bin "$bin"); done <<<"$functions"
  echo "package: cargo lambda build --release --arm64 ${bins[*]}"
  t=$SECONDS
  cargo lambda build --release --arm64 "${bins[@]}"
  echo "package: prebuild took $((SECONDS - t))s"
fi

# rust-cargolambda is no beta feature in SAM 1.170.0 (no --beta-features needed).
t=$SECONDS
sam build --template-file template.yaml
echo "package: sam build took $((SECONDS - t))s"

# Every function: .aws-sam/build/<LogicalId>/bootstrap, a 64-bit little-endian
# ELF whose e_machine (bytes 18-19) is 183, EM_AARCH64.
.venv/bin/python - "$functions" <<'PY'
import os, struct, sys
total = 0
for line in sys.argv[1].splitlines():
    lid = line.split()[0]
    path = os.path.join(".aws-sam", "build", lid, "bootstrap")
    if not os.path.isfile(path):
        sys.exit(f"package: FAILED: {path} is missing")
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        sys.exit(f"package: FAILED: {path} is not an ELF file")
    if head[4] != 2 or head[5] != 1:
        sys.exit(f"package: FAILED: {path} is not a 64-bit little-endian ELF")
    machine = struct.unpack_from("<H", head, 18)[0]
    if machine != 183:
        sys.exit(f"package: FAILED: {path} is for e_machine {machine}, not aarch64 (183)")
    if not os.access(path, os.X_OK):
        sys.exit(f"package: FAILED: {path} is not executable")
    size = os.path.getsize(path)
    total += size
    print(f"package: {lid:<28} {size:>10} bytes ({size / 2**20:.1f} MiB) aarch64")
print(f"package: {'total':<28} {total:>10} bytes ({total / 2**20:.1f} MiB)")
PY
echo "package: OK in $((SECONDS - start))s"
