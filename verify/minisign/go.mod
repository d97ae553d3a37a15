module github.com/molt-go/update/verify/minisign

go 1.26.0

require (
	aead.dev/minisign v0.3.0
	github.com/molt-go/update v0.0.0-00010101000000-000000000000
)

require (
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/molt-go/update => ../..
