#!/bin/bash
# A B A B: SetML (this harness) and the PyTorch reference alternately, PAIRS times; one model; per-epoch seconds.
# Usage: build/perf/PointSetsPerf/ab.sh [model = deepsets_max] [train = 2000] [epochs = 2] [pairs = 3]
set -e
cd "$(dirname "$0")"
MODEL=${1:-deepsets_max}; TRAIN=${2:-2000}; EPOCHS=${3:-2}; PAIRS=${4:-3}
dotnet build -c Release -v q -nologo > /dev/null
for i in $(seq "$PAIRS"); do
  echo "setml:   $(dotnet bin/Release/net10.0/PointSetsPerf.dll "$TRAIN" "$EPOCHS" "$MODEL" | grep -o 'epoch_s.*') load $(cut -d' ' -f1 /proc/loadavg)"
  echo "pytorch: $(/usr/bin/python3 ../../../../shared/bench/pointsets_reference.py --models "$MODEL" --train "$TRAIN" --epochs "$EPOCHS" | tail -1 | grep -o '"train_seconds.*') load $(cut -d' ' -f1 /proc/loadavg)"
done
