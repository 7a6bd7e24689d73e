#!/usr/bin/env bash
# The native engine under the sanitizers, bounded (npm run test:sanitize; CI runs it):
#   1. the addon built with -fsanitize=address,undefined into build/sanitize/ (the normal
#      build/Release is left alone), and the addon's own tests run against it — native-engine,
#      native-codec and address-native — with the ASan runtime preloaded into node (node itself
#      is not instrumented; leak checking is off because V8 keeps its heap to the end);
#   2. valgrind memcheck of native/sanitize/engine_driver.cc: two engines beating each other over a
#      veth pair in a network namespace of their own, exchanging messages, one stopping and being
#      declared dead (needs root for the namespace; skipped with a message otherwise).
# Exits non-zero on any sanitizer report, memcheck error or test failure (both steps run either
# way). Run as root after `npm run compile` (the tests are the compiled dist/test/*.js).
# HBD_SANITIZE_TIMEOUT (seconds, default 600) bounds each step.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build/sanitize"
cxx="${CXX_SANITIZE:-g++}"
step_timeout="${HBD_SANITIZE_TIMEOUT:-600}"
mkdir -p "$out/build/Release" "$out/obj"

node_include=""
for d in "${npm_config_nodedir:+$npm_config_nodedir/include/node}" /usr/include/node "$HOME/.cache/node-gyp/$(node -p process.versions.node)/include/node"; do
  if [ -n "$d" ] && [ -f "$d/node_api.h" ]; then node_include="$d"; break; fi
done
if [ -z "$node_include" ]; then
  echo "sanitize: node's headers (node_api.h) not found: set npm_config_nodedir or run node-gyp install" >&2
  exit 2
fi
napi_include="$(cd "$root" && node -p "require('node-addon-api').include_dir")"
flags=(-std=gnu++17 -g -O1 -fPIC -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -Wall -Wextra -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
  -I"$node_include" -I"$root/$napi_include" -I"$napi_include" -I"$root/native")

# binding.gyp's sources, so that the sanitized addon is the same addon.
mapfile -t sources < <(cd "$root" && node -e "const g = JSON.parse(require('fs').readFileSync('binding.gyp', 'utf8')); console.log(g.targets[0].sources.join('\\n'))")
echo "sanitize: compiling ${#sources[@]} sources with $cxx -fsanitize=address,undefined"
for s in "${sources[@]}"; do
  o="$out/obj/$(basename "$s" .cc).o"
  if [ ! -e "$o" ] || [ "$root/$s" -nt "$o" ] || [ "$0" -nt "$o" ]; then
    timeout "$step_timeout" "$cxx" "${flags[@]}" -c "$root/$s" -o "$o" &
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n; done
done
while [ -n "$(jobs -rp)" ]; do wait -n; done
"$cxx" -shared -fsanitize=address,undefined -o "$out/build/Release/hbd.node" "$out"/obj/*.o -lpthread

asan_runtime="$("$cxx" -print-file-name=libasan.so)"
echo "sanitize: addon tests against $out/build/Release/hbd.node"
asan_status=0
(
  cd "$root"
  LD_PRELOAD="$asan_runtime" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  HBD_ADDON_DIR="$out" HBD_REQUIRE_NATIVE=1 HBD_TRANSPORT=native \
  timeout "$step_timeout" node --test --test-reporter=dot dist/test/native-engine.test.js dist/test/native-codec.test.js dist/test/address-native.test.js
) || asan_status=$?
[ "$asan_status" = 0 ] || echo "sanitize: the addon tests under ASan/UBSan failed (exit $asan_status)" >&2
# --asan-only: step 1 alone (a quick check when valgrind or root is missing; CI runs both).
if [ "${1:-}" = --asan-only ]; then exit "$asan_status"; fi

if ! command -v valgrind >/dev/null 2>&1; then
  echo "sanitize: valgrind not installed (apt-get install valgrind): memcheck skipped" >&2
  [ "${CI:-}" = true ] && exit 1
  exit "$asan_status"
fi
if [ "$(id -u)" != 0 ]; then
  echo "sanitize: the memcheck driver needs root (a network namespace): skipped" >&2
  [ "${CI:-}" = true ] && exit 1
  exit "$asan_status"
fi
echo "sanitize: valgrind memcheck of the engine driver"
driver_sources=()
for s in "${sources[@]}"; do
  case "$s" in *_js.cc | */addon.cc | */js_values.cc | */convert.cc) ;; *) driver_sources+=("$root/$s") ;; esac
done
g++ -std=gnu++17 -g -O1 -I"$root/native" "$root/native/sanitize/engine_driver.cc" "${driver_sources[@]}" -lcrypto -lpthread -o "$out/engine_driver"
ns="hbdsan$$"
ip netns add "$ns"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
ip -n "$ns" link add vA type veth peer name vB
ip -n "$ns" addr add 198.18.5.1/24 brd + dev vA
ip -n "$ns" addr add 198.18.5.2/24 brd + dev vB
ip -n "$ns" link set lo up
ip -n "$ns" link set vA up
ip -n "$ns" link set vB up
# Both ends are local addresses of one namespace: without accept_local the kernel drops each
# side's packets as martians (a local source arriving from outside).
ip netns exec "$ns" sysctl -q -w net.ipv4.conf.all.accept_local=1 net.ipv4.conf.vA.accept_local=1 net.ipv4.conf.vB.accept_local=1 \
  net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.vA.rp_filter=0 net.ipv4.conf.vB.rp_filter=0
sleep 1
timeout "$step_timeout" ip netns exec "$ns" valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --track-fds=no --quiet "$out/engine_driver"
[ "$asan_status" = 0 ] || exit "$asan_status"
echo "sanitize: clean"
