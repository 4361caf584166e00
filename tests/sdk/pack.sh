#!/usr/bin/env bash
# Packs the SDK as an npm tarball: copies web/sdk/ and the built duet-core module
# (build/wasm/module/duet-core.{mjs,wasm,d.ts}) into a temporary folder, runs `npm pack` there,
# and leaves build/sdk/duet-sdk-<version>.tgz. web/sdk/ itself never holds build outputs. In the
# packed duet-client.mjs, PACKAGED_CORE is true: it loads the duet-core.mjs beside it by default.
# Prints the tarball's absolute path as its last line.
#   tests/sdk/pack.sh [output folder, default build/sdk]
# DUET_MODULE_DIR (default build/wasm/module) says where the built module is.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
module_dir=$(cd "$root" && realpath -m "${DUET_MODULE_DIR:-build/wasm/module}")
out=$(cd "$root" && realpath -m "${1:-build/sdk}")

for file in duet-core.mjs duet-core.wasm duet-core.d.ts; do
  if [ ! -f "$module_dir/$file" ]; then
    echo "pack.sh: $module_dir/$file is missing: build it with cmake --build --preset wasm --target duet_module" >&2
    exit 1
  fi
done
for file in duet-core.mjs duet-core.wasm duet-core.d.ts; do
  if [ -e "$root/web/sdk/$file" ]; then
    echo "pack.sh: web/sdk/$file is a build output and must not be in web/sdk/; remove it" >&2
    exit 1
  fi
done

staging=$(mktemp -d "${TMPDIR:-/tmp}/duet-sdk-pack.XXXXXX")
trap 'rm -rf "$staging"' EXIT
cp -R "$root/web/sdk/." "$staging/"
cp "$module_dir/duet-core.mjs" "$module_dir/duet-core.wasm" "$module_dir/duet-core.d.ts" "$staging/"
# The package has the core beside the SDK: the SDK's default is to load that one.
sed -i 's/^const PACKAGED_CORE = false;$/const PACKAGED_CORE = true;/' "$staging/duet-client.mjs"
if ! grep -q '^const PACKAGED_CORE = true;$' "$staging/duet-client.mjs"; then
  echo "pack.sh: could not switch PACKAGED_CORE on in duet-client.mjs" >&2
  exit 1
fi
mkdir -p "$out"
# --json prints what went in, for the log; the tarball's name is in it too.
(cd "$staging" && npm pack --silent --json --pack-destination "$out") >"$staging/pack.json"
name=$(node -e 'const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(p.filename)' "$staging/pack.json")
node -e 'const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); for (const f of p.files) console.log(`  ${f.path} (${f.size} bytes)`)' "$staging/pack.json" >&2
echo "$out/$name"
