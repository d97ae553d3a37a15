module github.com/molt-go/update

go 1.26.0

require (
	github.com/Masterminds/semver/v3 v3.5.0
	github.com/klauspost/compress v1.20.3
	github.com/ulikunitz/xz v0.5.17
	golang.org/x/sys v0.49.0
)
