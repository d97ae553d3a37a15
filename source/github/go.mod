module github.com/molt-go/update/source/github

go 1.26.0

require (
	github.com/Masterminds/semver/v3 v3.5.0
	github.com/google/go-github/v92 v92.0.0
	github.com/molt-go/update v0.0.0-00010101000000-000000000000
)

require (
	github.com/google/go-querystring v1.2.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/ulikunitz/xz v0.5.17 // indirect
)

replace github.com/molt-go/update => ../..
