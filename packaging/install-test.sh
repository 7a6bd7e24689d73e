#!/usr/bin/env bash
# The package as a user gets it, in a clean directory: `npm pack` of a clean copy of this tree
# (with the prebuilt linux-x64 addon), then `npm install -g --prefix` of the tarball twice into
# throw-away prefixes — once with no compiler on PATH (the prebuild must be used), once without
# the prebuild and with a compiler (built from source) — and on each: `hbd --version`,
# `hbd check` of CONFIG_DIR, `man -w` of every page, `hbd install-service --root`.
# Never touches the real global prefix. Usage: packaging/install-test.sh CONFIG_DIR [WORK_DIR]
set -euo pipefail

config=$(cd "${1:?usage: $0 CONFIG_DIR [WORK_DIR]}" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-$(mktemp -d "${TMPDIR:-/tmp}/hbd-install.XXXXXX")}
mkdir -p "$work"
node=$(command -v node)
npm=$(command -v npm)
# Node's own headers: node-gyp then downloads nothing.
export npm_config_nodedir=${npm_config_nodedir:-$(dirname "$(dirname "$(readlink -f "$node")")")}
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# Dependencies from npm's cache when it has them, else from the registry.
export npm_config_prefer_offline=true

say() { printf '== %s\n' "$*"; }
fail() { printf 'install-test: FAILED: %s\n' "$*" >&2; exit 1; }

say "clean copy of the tree in $work/src"
mkdir -p "$work/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard | grep -zv "^node_modules$" | xargs -0 cp --parents -t "$work/src")
ln -s "$repo/node_modules" "$work/src/node_modules"

say 'prebuild (prebuildify, Node-API) and npm pack'
(cd "$work/src" && npm run --silent prebuild >/dev/null && npm pack --silent --pack-destination "$work" >/dev/null)
tgz=$(ls "$work"/hbd-*.tgz)
listing=$(tar tzf "$tgz")
for f in package/prebuilds/linux-x64/ package/dist/lib/cli/main.js package/bin/hbd package/man/hbd.8 package/man/ha.cf.5 package/man/authkeys.5 package/man/haresources.5 package/packaging/hbd.service package/packaging/init.d/hbd package/binding.gyp package/native/build.js; do
  grep -q "^$f" <<<"$listing" || fail "$tgz lacks $f"
done
version=$(tar xzf "$tgz" -O package/package.json | "$node" -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).version')

# A PATH with node, npm and the basic tools but no compiler, make or python.
nocc="$work/nocc-bin"
mkdir -p "$nocc"
for t in node npm sh bash env cat cp mv rm ln ls mkdir chmod readlink dirname basename uname grep sed tar gzip id man; do
  p=$(command -v "$t") && ln -sf "$p" "$nocc/$t"
done
for t in cc gcc g++ c++ clang make python3; do
  PATH="$nocc" command -v "$t" >/dev/null 2>&1 && fail "$t is still on the compiler-free PATH"
done

check_install() { # PREFIX EXPECTED_SOURCE
  local prefix=$1 expected=$2 hbd="$1/bin/hbd" got
  got=$("$hbd" --version) || fail "$hbd --version failed"
  [ "$got" = "$version" ] || fail "$hbd --version printed '$got', expected '$version'"
  got=$("$node" -p "require('$prefix/lib/node_modules/hbd/build/native-status.json').source")
  [ "$got" = "$expected" ] || fail "the addon came from '$got', expected '$expected'"
  HBD_REQUIRE_NATIVE=1 HBD_TRANSPORT=native "$node" -e "require('$prefix/lib/node_modules/hbd/dist/lib/native.js').loadNative()" || fail 'the installed native addon does not load'
  # As one of the cluster's nodes: this machine is none of them.
  "$hbd" check --other-host --node "$(awk '$1 == "node" { print $2; exit }' "$config/ha.cf")" "$config" >"$work/check.out" || { cat "$work/check.out" >&2; fail "hbd check $config failed"; }
  for page in 8:hbd 5:ha.cf 5:authkeys 5:haresources; do
    got=$(MANPATH="$prefix/share/man" man -w "${page%%:*}" "${page#*:}") || fail "man -w ${page#*:} found nothing under $prefix/share/man"
    # npm links the pages into share/man; man names the file the link points to.
    [ "$(readlink -f "$got")" = "$(readlink -f "$prefix/share/man/man${page%%:*}/${page#*:}.${page%%:*}")" ] || fail "man -w ${page#*:} gave $got, not the installed page"
  done
  "$hbd" install-service --root "$prefix/image" >/dev/null || fail 'hbd install-service --root failed'
  grep -q "^ExecStart=$prefix/lib/node_modules/hbd/bin/hbd start" "$prefix/image/etc/systemd/system/hbd.service" || fail 'the installed unit does not run the installed hbd'
  "$hbd" install-service --init --root "$prefix/image" >/dev/null || fail 'hbd install-service --init --root failed'
  [ -x "$prefix/image/etc/init.d/hbd" ] || fail 'the init script is not executable'
}

say 'install with the prebuilt addon, no compiler on PATH'
PATH="$nocc" CXX=/bin/false CC=/bin/false HBD_REQUIRE_NATIVE=1 "$npm" install -g --prefix "$work/prefix-prebuilt" "$tgz" >"$work/npm-prebuilt.log" 2>&1 ||
  { cat "$work/npm-prebuilt.log" >&2; fail 'npm install -g of the tarball without a compiler'; }
check_install "$work/prefix-prebuilt" prebuild

say 'install from source (tarball without prebuilds), with a compiler'
mkdir -p "$work/repack"
tar xzf "$tgz" -C "$work/repack"
rm -rf "$work/repack/package/prebuilds"
tar czf "$work/source.tgz" -C "$work/repack" package
HBD_REQUIRE_NATIVE=1 "$npm" install -g --prefix "$work/prefix-source" "$work/source.tgz" >"$work/npm-source.log" 2>&1 ||
  { cat "$work/npm-source.log" >&2; fail 'npm install -g of the tarball from source'; }
check_install "$work/prefix-source" compiled

say "install test passed ($tgz, hbd $version)"
