#!/usr/bin/env bash
# Create .venv at the repo root (if missing) and install infra/requirements-dev.txt
# into it. Skips pip when .venv/.stamp matches the requirements file and Python.
# Usage: infra/venv.sh   (PYTHON=python3.11 infra/venv.sh to pick the interpreter)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
req="$root/infra/requirements-dev.txt"
stamp="$venv/.stamp"
python="${PYTHON:-python3}"

# Recreate a venv whose interpreter is gone or broken (e.g. Python was removed).
created=0
if ! "$venv/bin/python" -c '' >/dev/null 2>&1; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  created=1
fi

# The moto speed-up (see infra/moto_speedups.py), loaded by a .pth file.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
cp "$root/infra/moto_speedups.py" "$site/hookline_moto_speedups.py"
echo "import hookline_moto_speedups" >"$site/hookline_moto_speedups.pth"

want="$(sha256sum "$req" | cut -d' ' -f1) $("$venv/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
if [[ $created -eq 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "venv: .venv up to date"
  exit 0
fi

rm -f "$stamp"
start=$SECONDS
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
printf '%s\n' "$want" >"$stamp"
if [[ $created -eq 1 ]]; then what="created .venv and installed"; else what="reinstalled"; fi
echo "venv: $what infra/requirements-dev.txt in $((SECONDS - start))s"
