// Command hello is the program that testdata/gen.sh releases with
// goreleaser, so that the tests see the files a real release pipeline
// writes. It is kept tiny so that the archives checked in stay small.
package main

import "os"

// version is set by goreleaser through -ldflags.
var version = "dev"

func main() {
	os.Stdout.WriteString("hello " + version + "\n")
}
