#!/bin/sh
# gen.sh remakes the release files under testdata/goreleaser/dist with the
# real tools, at pinned versions: goreleaser builds and archives the program
# in src/ (snapshot mode, offline), and cosign signs its checksums.txt with a
# fresh key pair. The private keys are deleted afterwards; only the public
# keys are kept for the tests.
#
# Run from anywhere: sh source/github/testdata/gen.sh
set -eu

GORELEASER_VERSION=v2.16.0
COSIGN_VERSION=v2.6.5

here=$(cd "$(dirname "$0")" && pwd)
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

# goreleaser wants a git repository; a fixed date keeps the archives'
# timestamps stable from one run to the next.
cp -r "$here/goreleaser/src/." "$work/"
cd "$work"
export GIT_AUTHOR_DATE=2026-01-02T03:04:05Z GIT_COMMITTER_DATE=2026-01-02T03:04:05Z
git init -q
git -c user.name=molt -c user.email=molt@example.invalid add -A
git -c user.name=molt -c user.email=molt@example.invalid commit -q -m "hello 1.2.3"
GOFLAGS=-buildvcs=false GOTOOLCHAIN=local goreleaser release --snapshot --clean --skip=publish,sign,sbom,docker

out="$here/goreleaser/dist"
rm -rf "$out"
mkdir -p "$out"
cp dist/checksums.txt dist/*.tar.gz dist/*.zip "$out/"
cd "$out"

# Two key pairs: the publisher's, and another one a test pins to show that a
# signature by a key the program does not trust is refused.
COSIGN_PASSWORD= cosign generate-key-pair --output-key-prefix cosign >/dev/null 2>&1
COSIGN_PASSWORD= cosign generate-key-pair --output-key-prefix other >/dev/null 2>&1

sign() { COSIGN_PASSWORD= cosign sign-blob --key cosign.key --tlog-upload=false --yes "$@" >/dev/null 2>&1; }

# What goreleaser's signs section with cosign writes: a base64 signature of
# checksums.txt, and the same as a Sigstore bundle, in the new format and in
# cosign's older one.
sign --output-signature checksums.txt.sig checksums.txt
sign --new-bundle-format --bundle checksums.txt.sigstore.json checksums.txt
sign --bundle checksums.txt.bundle checksums.txt
# A signature over one archive itself (signs: artifacts: archive).
sign --output-signature hello_1.2.3_linux_amd64.tar.gz.sig hello_1.2.3_linux_amd64.tar.gz
# A good bundle for other bytes: its recorded digest is not checksums.txt's.
printf 'not the checksums\n' >other.txt
sign --new-bundle-format --bundle other.sigstore.json other.txt
# checksums.txt signed by the other key.
COSIGN_PASSWORD= cosign sign-blob --key other.key --tlog-upload=false --yes \
	--output-signature checksums.txt.other.sig checksums.txt >/dev/null 2>&1

rm -f cosign.key other.key other.txt
chmod 644 ./*
ls -l "$out"
