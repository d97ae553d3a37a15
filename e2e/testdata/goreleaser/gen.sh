#!/bin/sh
# gen.sh remakes the release of examples/hello 1.1.0 in dist/ with the real
# tools, at pinned versions: goreleaser builds and archives hello from this
# repository's source (snapshot mode, offline), and cosign signs
# checksums.txt with a fresh key pair, as goreleaser's signs section would,
# both as a bare signature and as a Sigstore bundle. The private keys are
# deleted afterwards; only the public keys are kept for the tests.
#
# Run it again whenever what the tests need of the built hello changes (the
# updater's probe protocol did: the staged binary answers by writing its
# version to the file named in MOLT_PROBE, see probe.go). The releases
# signed keylessly, attested, or signed with minisign or OpenPGP are made
# by the tests themselves: their test Sigstore lives an hour.
#
# Run from anywhere: sh e2e/testdata/goreleaser/gen.sh
set -eu

GORELEASER_VERSION=v2.16.0
COSIGN_VERSION=v2.6.5

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd) # the module root
bin=$(go env GOPATH)/bin
export PATH="$bin:$PATH"

if ! goreleaser --version 2>/dev/null | grep -q "GitVersion: *${GORELEASER_VERSION}$"; then
	GOBIN=$bin go install github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION
fi
if ! cosign version 2>/dev/null | grep -q "GitVersion: *${COSIGN_VERSION}$"; then
	GOBIN=$bin go install github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# goreleaser wants a git repository of its own; a copy of the repository
# with a fixed commit date keeps the archives' timestamps stable from one
# run to the next, whatever state the working tree is in. The copy keeps
# go.work: examples/ is a module of its own, which the workspace ties to
# the library's source in the copy (not to a published version).
mkdir "$work/src"
(cd "$root" && tar --exclude=./.git --exclude=./dist --exclude='./e2e/testdata' \
	--exclude='./source/github/testdata' --exclude='*/testdata/releases' -cf - .) | (cd "$work/src" && tar -xf -)
test -f "$work/src/go.work" || { echo "gen.sh: $root has no go.work" >&2; exit 1; }
cp "$here/goreleaser.yaml" "$work/src/.goreleaser.yaml"
cd "$work/src"
export GIT_AUTHOR_DATE=2026-01-02T03:04:05Z GIT_COMMITTER_DATE=2026-01-02T03:04:05Z
git init -q
git -c user.name=molt -c user.email=molt@example.invalid add -A
git -c user.name=molt -c user.email=molt@example.invalid commit -q -m "hello 1.1.0"
# GOWORK names the copy's workspace explicitly, so that a GOWORK set in the
# caller's environment (to off, or to the original tree) cannot change what
# is built.
GOWORK="$work/src/go.work" GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
	goreleaser release --snapshot --clean --skip=publish,sign,sbom,docker

out="$here/dist"
rm -rf "$out"
mkdir -p "$out"
cp dist/checksums.txt dist/*.tar.gz dist/*.zip "$out/"
cd "$out"

# The publisher's key pair, and another one whose signature the tests show
# is refused by a program that pins the first.
COSIGN_PASSWORD= cosign generate-key-pair --output-key-prefix cosign >/dev/null 2>&1
COSIGN_PASSWORD= cosign generate-key-pair --output-key-prefix other >/dev/null 2>&1

sign() { COSIGN_PASSWORD= cosign sign-blob --key cosign.key --tlog-upload=false --yes "$@" >/dev/null 2>&1; }

# checksums.txt signed as goreleaser's signs section with cosign does: a
# base64 signature, and a Sigstore bundle.
sign --output-signature checksums.txt.sig checksums.txt
sign --new-bundle-format --bundle checksums.txt.sigstore.json checksums.txt
# A good bundle by the right key, for other bytes.
printf 'not the checksums\n' >other.txt
sign --new-bundle-format --bundle other.sigstore.json other.txt
# checksums.txt signed by the other key.
COSIGN_PASSWORD= cosign sign-blob --key other.key --tlog-upload=false --yes \
	--output-signature checksums.txt.other.sig checksums.txt >/dev/null 2>&1

rm -f cosign.key other.key other.txt
chmod 644 ./*
ls -l "$out"
du -sh "$out"
