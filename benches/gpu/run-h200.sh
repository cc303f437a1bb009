#!/usr/bin/env bash
# The H200 runs of testdata/train/gpu/, as they ran (device tool: the repo root is the working dir).
# Carried beside it under .dev/: part00 + part01 (the GGUF, xz, split to fit two transfers), rlvr.xz
# (benches/gpu/build-cuda.sh), gsm8k_train.jsonl.xz and gsm8k_test500.jsonl (../shared/corpus/math).
# Modes: `full BUDGET_S` (f32 parity run + transformers parity + bf16 GSM8K run), `long STEPS DTYPE NAME`;
# second round (on-device sampling): `probe` (mixed-reward share of each arithmetic level, made by
# `rlvr dataset arithmetic` into .dev/arith/L/), `gsm8k TRAIN_S` (before → after on 500 held-out
# questions within a training-time budget, alone on the GPU), `proof TRAIN_S` (the level `probe`
# picked: GRPO and the shuffled-reward control at two learning rates, four processes at once).
# TRL side by side: `trl-setup` (first call: also carries .dev/part00, which the call's command
# copies to /tmp/rlvr first, .dev/whl/ — the trl, datasets, dill, multiprocess and gguf wheels,
# sha256s in benches/gpu/trl_grpo.py —, .dev/rlvr.so.xz — the rlvr Python extension, as
# rlvr/_rlvr.abi3.so — and .dev/tok/, the model's tokenizer files for a tiny random-weight model:
# installs, imports, scores, and runs trl_grpo.py for 2 steps on that tiny model), then at once
# `trl TRAIN_S` (second call, part01: Hugging Face TRL's GRPOTrainer at the settings of `gsm8k
# TRAIN_S`, benches/gpu/trl_grpo.py; trl.json and trl.log into $OUT).
set -uo pipefail
R=/tmp/rlvr; mkdir -p $R
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
if [ ! -x $R/rlvr ] && [ -f .dev/rlvr.xz ]; then xz -dc .dev/rlvr.xz > $R/rlvr && chmod +x $R/rlvr; fi
[ -f .dev/part01 ] && cp .dev/part01 $R/
if [ ! -f $R/model.gguf ] && [ -f $R/part00 ] && [ -f $R/part01 ]; then
  cat $R/part00 $R/part01 | xz -dc > $R/model.gguf
  echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  $R/model.gguf" | sha256sum -c || exit 3
fi
[ -f $R/train.jsonl ] || xz -dc .dev/gsm8k_train.jsonl.xz > $R/train.jsonl
cp .dev/gsm8k_test500.jsonl $R/test500.jsonl
REPO=$PWD; cd $R
SYS="Solve the math problem step by step. End with the final answer as a number after ####, like: #### 42"
common=(--model $R/model.gguf --dataset $R/train.jsonl --map prompt=question --recipe gsm8k --device cuda:0
  --system-prompt "$SYS" --num-generations 8
  --temperature 1.0 --eval-batch-size 250 --threads 8)
mem() { nvidia-smi --query-gpu=memory.used --format=csv,noheader -lms 500 > "$1" & echo $!; }
export RUST_BACKTRACE=0
ARITH=(--map prompt=question --recipe gsm8k --device cuda:0 --system-prompt "$SYS" --num-generations 8
  --temperature 1.0 --per-device-train-batch-size 16 --gradient-accumulation-steps 4
  --max-completion-length 128 --dtype bf16 --threads 4)
zero_std() { python3 -c "import json,sys;r=[json.loads(l)['frac_reward_zero_std'] for l in open(sys.argv[1])];print(sum(r)/len(r))" "$1"; }
trl_env() {  # the wheels into /tmp/site, python/rlvr plus the extension into /tmp/pylib
  local S=/tmp/site P=/tmp/pylib
  [ -d $S/trl ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target $S $REPO/.dev/whl/*.whl || return 1
  mkdir -p $P
  if [ ! -s $P/_rlvr.abi3.so ]; then xz -dc $REPO/.dev/rlvr.so.xz > $P/so.tmp && mv $P/so.tmp $P/_rlvr.abi3.so || return 1; fi
  rm -rf $P/rlvr && cp -r $REPO/python/rlvr $P/ && cp $P/_rlvr.abi3.so $P/rlvr/ || return 1
  export PYTHONPATH=$P:$S PYTHONUNBUFFERED=1 TQDM_DISABLE=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
}
TRL_ARGS=(--device ${TRL_DEVICE:-cuda} --train $R/train.jsonl --eval $R/test500.jsonl --rlvr-eval $REPO/testdata/train/gpu/gsm8k_bf16_r2/eval_before.jsonl.xz)
case "$1" in
trl-setup)
  trl_env || exit 5
  python3 -c "import torch, transformers, accelerate, datasets, trl, rlvr, gguf; from trl import GRPOTrainer, GRPOConfig
from rlvr.trl import RewardFunction
print('versions', torch.__version__, transformers.__version__, accelerate.__version__, datasets.__version__, trl.__version__, rlvr.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no cuda')
print(rlvr.Engine().score([{'id': 0, 'completion': 'So 48 + 24 = 72.\n#### 72', 'answer': '72', 'recipe': 'gsm8k'}]))
print(RewardFunction(recipe='gsm8k', answer_column='answer')(completions=[[{'role': 'assistant', 'content': '#### 7'}]], answer=['7']))" || exit 6
  mkdir -p /tmp/tiny && cp $REPO/.dev/tok/*.json* $REPO/.dev/tok/*.jinja /tmp/tiny/ && xz -df /tmp/tiny/tokenizer.json.xz
  python3 -c "import torch; from transformers import LlamaConfig, LlamaForCausalLM; torch.manual_seed(0)
LlamaForCausalLM(LlamaConfig(vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
  num_key_value_heads=2, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2)).save_pretrained('/tmp/tiny')" || exit 7
  timeout 240 python3 $REPO/benches/gpu/trl_grpo.py --hf-dir /tmp/tiny "${TRL_ARGS[@]}" --out $OUT --work /tmp/trl-tiny \
    --max-steps 2 --held-out 16 --eval-max-new-tokens 32 --max-completion-length 32 2>&1 | tee $OUT/trl-setup.log
  rc=${PIPESTATUS[0]}; ls -la $R; exit $rc
  ;;
trl)
  trl_env || exit 5
  [ -s $R/model.gguf ] || { echo "no $R/model.gguf: run trl-setup with part00 first"; exit 4; }
  timeout ${3:-560} python3 $REPO/benches/gpu/trl_grpo.py --model $R/model.gguf "${TRL_ARGS[@]}" --out $OUT \
    --train-seconds $2 2>&1 | tee $OUT/trl.log
  exit ${PIPESTATUS[0]}
  ;;
probe)
  # The documented rule: train on the level whose groups most often have mixed rewards at T = 1,
  # among the levels with at least 300 held-out questions (level 1 has 81 questions in all).
  for L in 1 2 3 4 5; do
    ./rlvr train --model $R/model.gguf --dataset $REPO/.dev/arith/$L/train.jsonl "${ARITH[@]}" --max-steps 4 \
      --learning-rate 0 --save-steps 0 --out runs/probe-$L > probe-$L.log 2>&1 &
  done
  wait
  best=0; bestmix=-1
  for L in 1 2 3 4 5; do
    z=$(zero_std runs/probe-$L/metrics.jsonl 2>/dev/null || echo 1); mix=$(python3 -c "print(round(1-$z,4))")
    echo "level $L: mixed-reward groups $mix (32 groups of 8 at T=1)"; mv probe-$L.log runs/probe-$L/run.log
    held=$(wc -l < $REPO/.dev/arith/$L/test.jsonl)
    if [ "$held" -ge 300 ] && python3 -c "import sys;sys.exit(0 if $mix > $bestmix else 1)"; then best=$L; bestmix=$mix; fi
  done
  echo $best > level.txt; echo "== level $best picked (mixed share $bestmix)"
  rm -rf runs/probe-*/checkpoint-*
  ;;
gsm8k)
  m=$(mem runs-gsm8k-mem.csv)
  /usr/bin/time -v ./rlvr train "${common[@]}" --per-device-train-batch-size 16 --gradient-accumulation-steps 4 \
    --max-completion-length 256 --eval-dataset test500.jsonl --max-steps 10000 --max-train-seconds $2 --dtype bf16 \
    --learning-rate 1e-6 --save-steps 0 --out runs/gsm8k-bf16-r2 > runs-gsm8k.log 2>&1
  kill $m; sort -n runs-gsm8k-mem.csv | tail -1 > runs/gsm8k-bf16-r2/peak_gpu_memory.txt; mv runs-gsm8k.log runs/gsm8k-bf16-r2/run.log
  grep -v '^ *[0-9]*: \|<unknown>' runs/gsm8k-bf16-r2/run.log | tail -14
  rm -rf runs/gsm8k-bf16-r2/checkpoint-*
  ;;
proof)
  L=$(cat level.txt); m=$(mem runs-proof-mem.csv)
  for lr in ${3:-1e-5 3e-6}; do
    for kind in grpo control; do
      extra=(); [ $kind = control ] && extra=(--shuffle-rewards)
      ./rlvr train --model $R/model.gguf --dataset $REPO/.dev/arith/$L/train.jsonl --eval-dataset $REPO/.dev/arith/$L/test.jsonl \
        "${ARITH[@]}" --eval-batch-size 250 --max-steps 10000 --max-train-seconds $2 --learning-rate $lr --save-steps 0 \
        --dynamic-sampling true --max-num-gen-batches 3 "${extra[@]}" --out runs/arith$L-$kind-$lr > arith-$kind-$lr.log 2>&1 &
    done
  done
  wait; kill $m; sort -n runs-proof-mem.csv | tail -1 > runs/proof_peak_gpu_memory_4_processes.txt
  for d in runs/arith$L-*; do mv arith-${d#runs/arith$L-}.log $d/run.log; echo "== $d"; grep -v '^ *[0-9]*: \|<unknown>' $d/run.log | tail -3; done
  rm -rf runs/arith*/checkpoint-*
  ;;
diag)
  head -20 test500.jsonl > test20.jsonl
  m=$(mem diag-mem.csv)
  for cfg in "16 64 bf16" "64 256 bf16" "64 256 f32"; do set -- $cfg
    s0=$SECONDS
    timeout 150 ./rlvr train "${common[@]}" --per-device-train-batch-size $1 --max-completion-length $2 --eval-dataset test20.jsonl --max-steps 2 --dtype $3 --out runs/diag-$1-$2-$3 2>&1 | grep -v '^ *[0-9]*: \|<unknown>' | cut -c1-600 | head -20
    echo "== $cfg: $((SECONDS-s0)) s, peak $(sort -n diag-mem.csv | tail -1)"
  done
  kill $m
  ;;
smoke)
  ./rlvr train --task arithmetic --device cuda:0 --sft-steps 20 --grpo-steps 3 --eval-prompts 64 --out runs/arith 2>&1 | tail -5
  head -20 test500.jsonl > test20.jsonl
  ./rlvr train "${common[@]}" --per-device-train-batch-size 16 --gradient-accumulation-steps 4 --max-completion-length 256 --eval-dataset test20.jsonl --max-steps 3 --dtype f32 --out runs/smoke32 2>&1 | tail -15
  ./rlvr train "${common[@]}" --per-device-train-batch-size 16 --gradient-accumulation-steps 4 --max-completion-length 256 --eval-dataset test20.jsonl --max-steps 3 --dtype bf16 --out runs/smoke16 2>&1 | tail -15
  ;;
full)
  head -20 test500.jsonl > test20.jsonl
  m=$(mem full-mem.csv)
  s0=$SECONDS
  ./rlvr train "${common[@]}" --per-device-train-batch-size 16 --gradient-accumulation-steps 4 --max-completion-length 256 --eval-dataset test20.jsonl --max-steps 2 --dtype f32 --out runs/parity32 > runs-parity32.log 2>&1
  grep -v '^ *[0-9]*: \|<unknown>' runs-parity32.log | cut -c1-600 | tail -8; mv runs-parity32.log runs/parity32/run.log
  echo "== f32 2 steps: $((SECONDS-s0)) s, peak $(sort -n full-mem.csv | tail -1)"; kill $m
  ck=$(ls -d runs/parity32/checkpoint-* | tail -1)
  PYTHONUNBUFFERED=1 timeout 120 python3 $REPO/testdata/train/parity/parity.py $ck runs/parity32/eval_after.jsonl 5 > runs/parity32/parity.json 2> runs/parity32/parity.err
  python3 -c "import json;d=json.load(open('runs/parity32/parity.json'));print('parity', d['identical'], '/', d['prompts'], [r['first_difference'] for r in d['results']])" || tail -5 runs/parity32/parity.err
  st=$(grep -o 'step 2/2 .*(\([0-9.]*\) s)' runs/parity32/run.log | grep -o '([0-9.]* s)' | tr -d '(s )')
  steps=$(python3 -c "print(max(5, min(80, int(${2:-270} / max(float('${st:-5}'), 0.5)))))")
  echo "== step ${st}s -> $steps steps"
  set -- long $steps bf16 gsm8k-bf16
  ;&
long)
  steps=$2; dtype=$3; name=$4; shift 4
  m=$(mem runs-$name-mem.csv)
  /usr/bin/time -v ./rlvr train "${common[@]}" --per-device-train-batch-size 16 --gradient-accumulation-steps 4 --max-completion-length 256 --eval-dataset test500.jsonl --max-steps $steps --dtype $dtype --learning-rate 1e-6 --skip-eval-before "$@" --out runs/$name > runs-$name.log 2>&1
  kill $m; sort -n runs-$name-mem.csv | tail -1 > runs/$name/peak_gpu_memory.txt; mv runs-$name.log runs/$name/run.log
  tail -12 runs/$name/run.log
  ;;
esac
tar czf $OUT/runs.tgz --exclude='*.safetensors' runs 2>/dev/null
