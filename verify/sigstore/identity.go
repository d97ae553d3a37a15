package sigstore

import (
	"errors"
	"regexp"
	"strings"

	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// GitHubActionsIssuer is the OIDC issuer of GitHub Actions workflows, the
// one that vouches for a release workflow's keyless signature.
const GitHubActionsIssuer = "https://token.actions.githubusercontent.com"

// Identity is a signer to trust: the subject of its Sigstore certificate
// and the OIDC issuer that vouched for it, both exactly as the certificate
// says them ("cosign verify-blob --certificate-identity ...
// --certificate-oidc-issuer ..." take the same two).
type Identity struct {
	// Issuer is the OIDC issuer, exactly: GitHubActionsIssuer for a
	// workflow, "https://accounts.google.com" for a Google account.
	Issuer string
	// Subject is the certificate's subject alternative name, exactly: an
	// email address, or for a workflow its URI
	// ("https://github.com/acme/hello/.github/workflows/release.yml@refs/tags/v1.2.3").
	Subject string
	// SubjectRegexp, when set instead of Subject, is a regular expression
	// (Go's syntax) that the whole subject must match.
	SubjectRegexp string
}

// GitHubWorkflow returns the identity of a GitHub Actions workflow of a
// repository: repo is "owner/name"; workflow is the workflow file's path
// in it (".github/workflows/release.yml", or just "release.yml"); ref is
// the git ref it ran on, exactly or with "*" standing for any run of
// characters: "refs/tags/v*" for a workflow run by a version tag (the
// default when empty), "refs/heads/main" for one run on main.
//
// Pinning the workflow, not only the repository, matters: any workflow of
// the repository, run by anyone who may push a branch, gets a certificate
// from the same issuer; only the release workflow on a release tag should
// be able to sign what the program installs.
func GitHubWorkflow(repo, workflow, ref string) Identity {
	if !strings.Contains(workflow, "/") {
		workflow = ".github/workflows/" + workflow
	}
	if ref == "" {
		ref = "refs/tags/*"
	}
	var re strings.Builder
	// GitHub's names are not case-sensitive; its URIs are written as the
	// repository is named, which a caller may not spell the same way.
	re.WriteString(`https://github\.com/(?i:` + regexp.QuoteMeta(repo) + `)/`)
	re.WriteString(regexp.QuoteMeta(strings.TrimPrefix(workflow, "/")) + "@")
	for i, part := range strings.Split(ref, "*") {
		if i > 0 {
			re.WriteString(".*")
		}
		re.WriteString(regexp.QuoteMeta(part))
	}
	return Identity{Issuer: GitHubActionsIssuer, SubjectRegexp: re.String()}
}

// certificateIdentity is the identity in sigstore-go's terms, its regular
// expression anchored at both ends (sigstore-go matches anywhere).
func (id Identity) certificateIdentity() (sgverify.CertificateIdentity, error) {
	if id.Issuer == "" {
		return sgverify.CertificateIdentity{}, errors.New("no issuer")
	}
	if (id.Subject == "") == (id.SubjectRegexp == "") {
		return sgverify.CertificateIdentity{}, errors.New("want exactly one of Subject and SubjectRegexp")
	}
	re := ""
	if id.SubjectRegexp != "" {
		re = "^(?:" + id.SubjectRegexp + ")$"
		if _, err := regexp.Compile(re); err != nil {
			return sgverify.CertificateIdentity{}, err
		}
	}
	return sgverify.NewShortCertificateIdentity(id.Issuer, "", id.Subject, re)
}
