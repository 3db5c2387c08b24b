# Sourced by the tests/cli scripts: FATHOM (argument 1) as an absolute path in $fathom, the
# source directory (argument 2) in $src, a scratch directory of its own as the working
# directory (removed on exit), the catalog, and fail=0.
fathom=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export FATHOM_DATA=$src/data
fail=0
