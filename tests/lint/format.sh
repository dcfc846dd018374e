#!/bin/sh
# Lint: ipc/ and common/ follow .clang-format (the house style).  Skipped
# (exit 77) when clang-format is not installed.  Set CLANG_FORMAT to pick
# a binary.
set -u
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$srcdir" || exit 99
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
        echo "format lint: $CLANG_FORMAT not found, skipped"
        exit 77
fi
files=$(find ipc common -name '*.[ch]' ! -name '*.pb-c.[ch]' | sort)
# shellcheck disable=SC2086
if ! "$CLANG_FORMAT" --style=file --dry-run -Werror $files; then
        echo "format lint: run \`$CLANG_FORMAT -i\` on the files above (style in .clang-format)"
        exit 1
fi
echo "format lint: $(echo "$files" | wc -l) files formatted"
