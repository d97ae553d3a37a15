// Command nonew is a broken build of the e2e tests' banner program: it
// prints the banner and exits, and never calls update.New, so it cannot
// answer the updater's probe. Published as a release of banner, it must be
// refused with update.ErrProbeNoAnswer and not be marked bad.
package main

import "fmt"

var version = "0.0.0"

func main() {
	fmt.Printf("app %s starting\n", version)
}
