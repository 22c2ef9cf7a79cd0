#!/bin/sh
# build.sh VERSION OUT: CometBFT VERSION from the Go module proxy (or the module cache), with the
# patches beside this script applied, built to OUT. README.md here says what each patch fixes.
set -eu
version=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$(go mod download -json "github.com/cometbft/cometbft@$version" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "CometBFT $version: no module source from go mod download" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$src/." "$work"
chmod -R u+w "$work"
patches=""
for patch in "$here"/*.patch; do
	(cd "$work" && git apply -p1 "$patch")
	patches="$patches.$(basename "$patch" .patch)"
done
cd "$work"
GOFLAGS=-mod=mod go build -o "$out" \
	-ldflags "-X github.com/cometbft/cometbft/version.TMGitCommitHash=qos$patches" \
	./cmd/cometbft
