//go:build !hello_lean

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/molt-go/update/verify"
	"github.com/molt-go/update/verify/attest"
	"github.com/molt-go/update/verify/minisign"
	"github.com/molt-go/update/verify/pgp"
	"github.com/molt-go/update/verify/sigstore"
)

// The ways real projects sign their GitHub releases, each pinned on the
// command line (a program would compile them in): at most one of them.
func init() {
	workflow := flag.String("sigstore-workflow", "", "verify keyless Sigstore bundles (checksums.txt.sigstore.json) made by this release workflow of the -github repository, such as .github/workflows/release.yml")
	ref := flag.String("sigstore-ref", "", "git ref pattern the signing workflow ran on (default refs/tags/*)")
	attestWorkflow := flag.String("attest-workflow", "", "verify GitHub artifact attestations made by this release workflow of the -github repository")
	rekor := flag.String("sigstore-rekor", "", "Rekor transparency log in which -sigstore-workflow looks up a checksums.txt.sig with its .pem, published without a bundle (default: the public-good instance's)")
	root := flag.String("sigstore-root", "", "Sigstore trusted root (trusted_root.json) for -sigstore-workflow and -attest-workflow (default: the public-good instance's, compiled in)")
	minisignKey := flag.String("minisign-key", "", "verify minisign signatures (SHA256SUMS.minisig) by this public key (RWQ...)")
	pgpKey := flag.String("pgp-key", "", "verify OpenPGP signatures (SHA256SUMS.asc, a clearsigned SHA256SUMS) by the armored public key in this file")
	githubVerifier = func(repo string) (verify.Verifier, error) {
		var chosen []verify.Verifier
		var rootJSON []byte
		if *root != "" {
			var err error
			if rootJSON, err = os.ReadFile(*root); err != nil {
				return nil, fmt.Errorf("-sigstore-root: %w", err)
			}
		}
		if *workflow != "" {
			v, err := sigstore.New(sigstore.Options{
				Identities:  []sigstore.Identity{sigstore.GitHubWorkflow(repo, *workflow, *ref)},
				TrustedRoot: rootJSON,
				RekorURL:    *rekor,
			})
			if err != nil {
				return nil, err
			}
			chosen = append(chosen, v)
		}
		if *attestWorkflow != "" {
			v, err := attest.New(attest.Options{Repository: repo, Workflow: *attestWorkflow, Ref: *ref, TrustedRoot: rootJSON})
			if err != nil {
				return nil, err
			}
			chosen = append(chosen, v)
		}
		if *minisignKey != "" {
			v, err := minisign.New(*minisignKey)
			if err != nil {
				return nil, err
			}
			chosen = append(chosen, v)
		}
		if *pgpKey != "" {
			key, err := os.ReadFile(*pgpKey)
			if err != nil {
				return nil, fmt.Errorf("-pgp-key: %w", err)
			}
			v, err := pgp.New(key)
			if err != nil {
				return nil, err
			}
			chosen = append(chosen, v)
		}
		switch len(chosen) {
		case 0:
			return nil, nil
		case 1:
			return chosen[0], nil
		}
		return nil, errors.New("choose one of -sigstore-workflow, -attest-workflow, -minisign-key and -pgp-key")
	}
}
