module github.com/molt-go/update/source/github

go 1.26.0

require (
	github.com/Masterminds/semver/v3 v3.5.0
	github.com/klauspost/compress v1.20.3
	github.com/molt-go/update v0.0.0-00010101000000-000000000000
)

require golang.org/x/sys v0.49.0 // indirect

replace github.com/molt-go/update => ../..
