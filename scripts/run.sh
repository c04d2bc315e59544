#!/usr/bin/env bash
# scripts/run.sh — install what is missing, build a release binary, run one node in the
# foreground. With no environment set this is a one-node cluster on 127.0.0.1:13800;
# ADDRESS, VIEW, REPL_FACTOR and the tunables (`causalkv --help`) pass straight through.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bin="$(ckv_release_bin)"
exec "$bin" "$@"
