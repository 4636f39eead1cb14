#!/usr/bin/env bash
# The SQL rules of STYLE.md, checked over lib/: no SELECT *, and every multi-row read that
# returns a list (read_all) orders its rows.
set -euo pipefail
root=$1
status=0
if grep -rn --include='*.cpp' -E 'SELECT \*' "$root/lib"; then
  echo "SELECT * is not allowed (name the columns)"; status=1
fi
# A read_all must follow a prepare whose SQL has ORDER BY: written in the call, or in the
# constant the call names (constexpr const char* k_name = "..."; in the same file; a function
# that takes the SQL as a parameter counts each constant passed to it).
for f in "$root"/lib/keysat/store/*.cpp; do
  python3 - "$f" <<'PY' || status=1
import re, sys
text = open(sys.argv[1]).read()
consts = {m.group(1): m.group(2) for m in
          re.finditer(r'constexpr const char\* (k_\w+) =\s*((?:"(?:[^"\\]|\\.)*"\s*)+);', text)}
def sql_of(start, end):
    region = text[start:end]
    named = re.match(r'prepare\((k_\w+)\)', region)
    if named:
        return consts.get(named.group(1), '')
    if re.match(r'prepare\(sql\)', region):
        # The SQL is a parameter: every constant passed to this file's helpers must order.
        return 'ORDER BY' if all('ORDER BY' in v for k, v in consts.items()
                                 if re.search(r'\(\*?\w+,\s*' + k + r'\b', text)) else ''
    return region
for m in re.finditer(r'read_all<', text):
    start = text.rfind('prepare(', 0, m.start())
    if start < 0 or 'ORDER BY' not in sql_of(start, m.start()):
        line = text.count('\n', 0, m.start()) + 1
        print(f"{sys.argv[1]}:{line}: multi-row read without ORDER BY")
        sys.exit(1)
PY
done
exit $status
