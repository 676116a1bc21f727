#!/usr/bin/env bash
# Extract open_clip's CLIP BPE merges file from the open-clip-torch wheel on PyPI and check its
# sha256. Usage: dev/fetch_clip_vocab.sh OUTPUT_PATH
set -euo pipefail
out="$1"
version=3.3.0
member=open_clip/bpe_simple_vocab_16e6.txt.gz
sha256=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" "open-clip-torch==$version"
python3 - "$work"/open_clip_torch-"$version"-*.whl "$member" "$work/vocab.gz" <<'PY'
import sys, zipfile
wheel, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, open(target, "wb") as out:
    out.write(archive.read(member))
PY
echo "$sha256  $work/vocab.gz" | sha256sum --check --quiet
mkdir -p "$(dirname "$out")"
mv "$work/vocab.gz" "$out"
echo "wrote $out (open-clip-torch $version, MIT licence)"
