#!/usr/bin/env bash
# archscope and llama.cpp on the same GGUF file and the same Vulkan device, one after the
# other in one run, with the same prompt length, decode length and repeats.
#   tests/benchmarks/side_by_side.sh MODEL.gguf [-p 128] [-n 32] [--repeat 3]
# Needs node-llama-cpp 3.21.1 (npm install node-llama-cpp@3.21.1) under
# $ARCHSCOPE_NODE_LLAMA_CPP (a node_modules folder) and a built ./build/app/archscope-cli.
set -euo pipefail
model=$1; shift
prompt=128 generate=32 repeat=3
while [ $# -gt 0 ]; do
  case $1 in
    -p) prompt=$2; shift 2 ;;
    -n) generate=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
here=$(dirname "$0")
cli=${ARCHSCOPE_CLI:-$here/../../build/app/archscope-cli}
ours=$("$cli" bench -m "$model" -p "$prompt" -n "$generate" --repeat "$repeat" --device vulkan --json)
theirs=$(GGML_VK_VISIBLE_DEVICES=${GGML_VK_VISIBLE_DEVICES:-0} node "$here/llama_cpp_bench.mjs" "$model" --gpu vulkan -p "$prompt" -n "$generate" --repeat "$repeat")
python3 - "$ours" "$theirs" <<'PY'
import json, sys
ours, theirs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"device: {ours['backend']}; {ours['prompt_tokens']} prompt tokens, {ours['generated_tokens']} decoded, median of {ours['repeat']}")
print(f"{'':28} {'prefill tok/s':>14} {'decode tok/s':>13}")
for name, d in (("archscope", ours), ("llama.cpp", theirs)):
    print(f"{name:28} {d['prefill_tokens_per_s']:14.1f} {d['decode_tokens_per_s']:13.1f}")
print(f"{'ratio (archscope / llama.cpp)':28} {ours['prefill_tokens_per_s'] / theirs['prefill_tokens_per_s']:14.2f} "
      f"{ours['decode_tokens_per_s'] / theirs['decode_tokens_per_s']:13.2f}")
PY
