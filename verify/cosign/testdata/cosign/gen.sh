#!/bin/sh
# gen.sh remakes the cosign fixtures in this folder: two throwaway key pairs,
# a goreleaser-style checksums.txt over three small fake artifacts, and that
# checksums file signed by cosign.key in every form cosign writes offline.
# Run it with "go generate ./verify" from the module root.
#
# It uses $COSIGN if set, else a cosign of the pinned version found on PATH or
# in $(go env GOPATH)/bin, else installs that version into a cache folder.
# Nothing is uploaded to a transparency log: every command runs offline.
set -eu

COSIGN_VERSION=v2.6.5
cd "$(dirname "$0")"

is_pinned() {
	[ -x "$1" ] || command -v "$1" >/dev/null 2>&1 || return 1
	"$1" version 2>/dev/null | grep -Eq "GitVersion:[[:space:]]+$COSIGN_VERSION\$"
}

if [ -z "${COSIGN:-}" ]; then
	gobin="$(go env GOPATH)/bin"
	cache="${XDG_CACHE_HOME:-$HOME/.cache}/molt-verify-testdata/cosign-$COSIGN_VERSION"
	if is_pinned cosign; then
		COSIGN=cosign
	elif is_pinned "$gobin/cosign"; then
		COSIGN="$gobin/cosign"
	else
		if ! is_pinned "$cache/cosign"; then
			echo "installing cosign $COSIGN_VERSION into $cache" >&2
			GOBIN="$cache" go install "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"
		fi
		COSIGN="$cache/cosign"
	fi
fi
"$COSIGN" version 2>/dev/null | grep GitVersion >&2

# Test keys only: the private key is checked in, and has an empty password.
export COSIGN_PASSWORD=''
rm -f cosign.key cosign.pub other.key other.pub
"$COSIGN" generate-key-pair --output-key-prefix cosign >/dev/null
"$COSIGN" generate-key-pair --output-key-prefix other >/dev/null
rm -f other.key # only other.pub is needed, to show a wrong key fails

# Fake release artifacts and their checksums, as goreleaser writes them:
# "<sha256 hex>  <name>", sorted by name.
rm -rf dist
mkdir dist
printf 'hello 1.2.3 for darwin/arm64\n' >dist/hello_1.2.3_darwin_arm64.tar.gz
printf 'hello 1.2.3 for linux/amd64\n' >dist/hello_1.2.3_linux_amd64.tar.gz
printf 'hello 1.2.3 for windows/amd64\n' >dist/hello_1.2.3_windows_amd64.zip
(cd dist && sha256sum -- *) >checksums.txt

sign() {
	"$COSIGN" sign-blob --key cosign.key --tlog-upload=false --yes "$@" checksums.txt >/dev/null
}
rm -f checksums.txt.sig checksums.txt.sigstore.json checksums.txt.bundle
sign --output-signature checksums.txt.sig
sign --new-bundle-format --bundle checksums.txt.sigstore.json
sign --bundle checksums.txt.bundle # cosign's older bundle: {"base64Signature": ...}

# Let cosign itself confirm the fixtures before the tests rely on them.
"$COSIGN" verify-blob --key cosign.pub --insecure-ignore-tlog=true \
	--signature checksums.txt.sig checksums.txt
# The new format wants a trusted root even when only a key is used; an empty
# one keeps the check offline.
root=$(mktemp)
trap 'rm -f "$root"' EXIT
echo '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}' >"$root"
"$COSIGN" verify-blob --key cosign.pub --insecure-ignore-tlog=true \
	--new-bundle-format --trusted-root "$root" \
	--bundle checksums.txt.sigstore.json checksums.txt
"$COSIGN" verify-blob --key cosign.pub --insecure-ignore-tlog=true \
	--bundle checksums.txt.bundle checksums.txt
