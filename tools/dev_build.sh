#!/usr/bin/env bash
# Developer build: compile in build/dev and drop the extension modules into
# fastprims/ so that `python -m pytest` works from the source tree.
# FASTPRIMS_SANITIZE=ON builds with ASan+UBSan into build/san instead.
set -euo pipefail
cd "$(dirname "$0")/.."
san=${FASTPRIMS_SANITIZE:-OFF}
dir=build/dev; [ "$san" = ON ] && dir=build/san
mkdir -p build
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFASTPRIMS_SANITIZE="$san" \
      -DPython_EXECUTABLE="$(command -v python3)" > "$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
cmake --build "$dir" -j 2
cmake --install "$dir" --prefix . > /dev/null
