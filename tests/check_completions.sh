#!/usr/bin/env bash
# Syntax-checks the generated completions in every shell that is installed, and runs the bash
# one for a few command lines.
set -euo pipefail
dir=$1
for f in "$dir"/*.bash; do bash -n "$f"; done
if command -v zsh >/dev/null; then for f in "$dir"/_*; do zsh -n "$f"; done; fi
if command -v fish >/dev/null; then for f in "$dir"/*.fish; do fish --no-execute "$f"; done; fi
source "$dir/keysat-issue.bash"
source "$dir/keysat-verify.bash"
source "$dir/keysat-migrate.bash"
source "$dir/keysat-serve.bash"
complete_line() { # words...
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
  local fn="_${1//-/_}"; "$fn"; echo "${COMPREPLY[*]}"
}
expect() { [ "$1" = "$2" ] || { echo "completion: expected '$2', got '$1'"; exit 1; }; }
expect "$(complete_line keysat-issue pubkey --format '')" "minisign pem hex base64"
expect "$(complete_line keysat-issue bu)" "bulk"
expect "$(complete_line keysat-issue bulk --input-format j)" "jsonl"
expect "$(complete_line keysat-verify license --j)" "--json"
expect "$(complete_line keysat-verify i)" "inspect"
expect "$(complete_line keysat-migrate im)" "import-ledger import-keysat"
expect "$(complete_line keysat-migrate import-k)" "import-keysat"
expect "$(complete_line keysat-serve --log-format j)" "json"
expect "$(complete_line keysat-serve --mi)" "--migrate"
echo "completions ok"
