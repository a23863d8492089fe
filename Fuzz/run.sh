#!/usr/bin/env bash
# Builds the libFuzzer driver (AddressSanitizer, the coverage modes this libFuzzer needs; recipe in
# ../shared/FUZZING.md) and runs one target for SECONDS on its seed corpus (Fuzz/Corpus/TARGET, the committed
# regression inputs included); new inputs go to .build/fuzz-corpus/TARGET, crashes to .build/fuzz-crashes/TARGET.
# Targets: pickle, zip, safetensors, csv, idx, image.   Usage: Fuzz/run.sh TARGET [SECONDS] [extra libFuzzer options]
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?target: pickle, zip, safetensors, csv, idx or image}
seconds=${2:-30}
shift $(( $# >= 2 ? 2 : 1 ))
RT=$(ls -d "$(dirname "$(dirname "$(which swift)")")"/lib/clang/*/lib/linux | head -1)
swift build -c release --product RNNLabFuzz -Xswiftc -sanitize=address \
  -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
  -Xlinker "$RT/libclang_rt.fuzzer_no_main-x86_64.a" -Xlinker -lstdc++ 2>&1 | grep -v "Cannot export local symbol" | tail -1
mkdir -p ".build/fuzz-corpus/$target" ".build/fuzz-crashes/$target"
# Inputs up to 1 MB, 2 GB of memory per input: a reader that needs more has not bounded itself.
exec .build/release/RNNLabFuzz "$target" -max_total_time="$seconds" -max_len=1048576 -rss_limit_mb=2048 \
  -artifact_prefix=".build/fuzz-crashes/$target/" -print_final_stats=1 "$@" ".build/fuzz-corpus/$target" "Corpus/$target"
