module github.com/molt-go/update/bench

go 1.26.0

require (
	github.com/minio/selfupdate v0.6.0
	github.com/molt-go/update v0.0.0
)

require (
	aead.dev/minisign v0.2.0 // indirect
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/ulikunitz/xz v0.5.17 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/molt-go/update => ../
