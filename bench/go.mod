module github.com/molt-go/update/bench

go 1.26.0

require (
	github.com/minio/selfupdate v0.6.0
	github.com/molt-go/update v0.0.0
	github.com/molt-go/update/server v0.0.0-00010101000000-000000000000
)

require (
	aead.dev/minisign v0.2.0 // indirect
	github.com/Masterminds/semver/v3 v3.5.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/secure-systems-lab/go-securesystemslib v0.11.1 // indirect
	github.com/sigstore/sigstore v1.10.11 // indirect
	github.com/youmark/pkcs8 v0.0.0-20240726163527-a2c0da244d78 // indirect
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/term v0.45.0 // indirect
)

replace github.com/molt-go/update => ../

replace github.com/molt-go/update/server => ../server

replace github.com/molt-go/update/source/s3 => ../source/s3

replace github.com/molt-go/update/agent => ../agent

replace github.com/molt-go/update/examples => ../examples

replace github.com/molt-go/update/source/github => ../source/github
