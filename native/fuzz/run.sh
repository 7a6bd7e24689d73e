#!/usr/bin/env bash
# Builds the libFuzzer harness for the wire codec into build/fuzz/ and fuzzes the decoder
# for SECONDS (default 60), starting from every packet of test/vectors/wire-vectors.json.
# Exits non-zero on any crash or sanitizer report (the reproducer is in build/fuzz/artifacts/).
# Needs clang++ with the libFuzzer runtime and OpenSSL's libcrypto headers; on Debian 12:
#   apt-get install -y clang libclang-rt-14-dev libssl-dev
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]  (SECONDS: a whole number, got '$seconds')" >&2; exit 2 ;; esac

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/build/fuzz"
cxx="${CXX_FUZZ:-clang++}"
missing="install clang, libclang-rt-14-dev and libssl-dev (or set CXX_FUZZ)"
# Exit status 3 means "no toolchain" (test/fuzz.test.ts skips on it outside CI).
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found; $missing" >&2
  exit 3
fi
mkdir -p "$out/corpus" "$out/seeds" "$out/artifacts"
printf '#include <openssl/hmac.h>\nextern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return HMAC_size(nullptr) > 0; }\n' >"$out/probe.cc"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$out/probe.cc" -lcrypto -o "$out/probe" >"$out/probe.log" 2>&1; then
  echo "fuzz: $cxx cannot build a libFuzzer binary with OpenSSL (see $out/probe.log); $missing" >&2
  exit 3
fi

echo "fuzz: building $out/fuzz_decode"
"$cxx" -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$root/native" \
  "$root/native/fuzz/fuzz_decode.cc" "$root/native/codec.cc" "$root/native/codec_decode.cc" \
  "$root/native/codec_encode.cc" "$root/native/base64.cc" "$root/native/packed.cc" "$root/native/auth.cc" \
  -lcrypto -o "$out/fuzz_decode"

# Seeds: every packet and malformed case of the shared vectors (up to the fuzzing max_len),
# heartbeat's W5 abort packet, and (when the TypeScript is compiled) each vector message in
# the packed form the addon receives.
max_len=8192
node - "$root" "$out/seeds" "$max_len" <<'JS'
const fs = require('node:fs');
const path = require('node:path');
const [root, dir, maxLen] = process.argv.slice(2);
const v = JSON.parse(fs.readFileSync(path.join(root, 'test/vectors/wire-vectors.json'), 'utf8'));
const seeds = [...v.packets, ...v.malformed].map((p) => Buffer.from(p.packet_hex, 'hex'));
seeds.push(Buffer.from('###\n5:abcde,%%%\n', 'latin1'));
let packed = 'no packed seeds (run `npx tsc -p .` for them)';
try {
  const { fromJsonFields } = require(path.join(root, 'dist/test/vectors/vector-file.js'));
  const { packMessage } = require(path.join(root, 'dist/lib/wire/native-pack.js'));
  for (const p of v.packets) seeds.push(Buffer.from(packMessage(fromJsonFields(p.fields), 'netstring')));
  packed = `${v.packets.length} packed messages`;
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND') throw e;
}
fs.rmSync(dir, { recursive: true, force: true });
fs.mkdirSync(dir, { recursive: true });
let n = 0;
for (const [i, s] of seeds.entries()) {
  if (s.length > Number(maxLen)) continue;
  fs.writeFileSync(path.join(dir, `seed-${i}`), s);
  n++;
}
console.log(`fuzz: ${n} seeds: the vector packets, the W5 packet, ${packed}`);
JS

echo "fuzz: running for ${seconds}s"
log="$out/last-run.log"
status=0
"$out/fuzz_decode" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=1024 \
  -dict="$root/native/fuzz/wire.dict" -artifact_prefix="$out/artifacts/" -print_final_stats=1 \
  "$out/corpus" "$out/seeds" >"$log" 2>&1 || status=$?
execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
if [ "$status" -ne 0 ]; then
  tail -n 40 "$log" >&2
  echo "fuzz: FAILED (libFuzzer exit $status) after ${execs:-?} executions; reproducer in $out/artifacts/, full log $log" >&2
  exit 1
fi
corpus="$(find "$out/corpus" -type f | wc -l)"
echo "fuzz: ${execs:-?} executions in ${seconds}s, no crash; corpus $corpus inputs (log: $log)"
