#!/usr/bin/env bash
# The SQL rules of STYLE.md, checked over lib/: no SELECT *, and every multi-row read that
# returns a list (read_all) orders its rows.
set -euo pipefail
root=$1
status=0
if grep -rn --include='*.cpp' -E 'SELECT \*' "$root/lib"; then
  echo "SELECT * is not allowed (name the columns)"; status=1
fi
# A read_all must follow a prepare whose SQL has ORDER BY.
for f in "$root"/lib/keysat/store/*.cpp; do
  python3 - "$f" <<'PY' || status=1
import re, sys
text = open(sys.argv[1]).read()
for m in re.finditer(r'read_all<', text):
    start = text.rfind('prepare(', 0, m.start())
    if start < 0 or 'ORDER BY' not in text[start:m.start()]:
        line = text.count('\n', 0, m.start()) + 1
        print(f"{sys.argv[1]}:{line}: multi-row read without ORDER BY")
        sys.exit(1)
PY
done
exit $status
