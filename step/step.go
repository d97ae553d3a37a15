// Package step is the one vocabulary of steps: those of an update, as the
// updater's events name them and a program reports them to its package
// server, and those of a deployment, as the agent and its supervisor log
// them. Everything that names a step refers to these constants, so two
// lists that must agree cannot drift apart.
package step

// Name names a step.
type Name string

// The steps of an update, in order.
const (
	Find     Name = "find"     // list releases and choose one
	Download Name = "download" // stream the asset to a staged file
	Verify   Name = "verify"   // compare digests and signatures
	Extract  Name = "extract"  // take the executable out of an archive
	Probe    Name = "probe"    // run the staged binary and ask its version
	Apply    Name = "apply"    // swap the new binary in, keeping a backup
	Restart  Name = "restart"  // start the new version (for a supervisor: a crashed child again)
	Confirm  Name = "confirm"  // the new version says it is healthy
	Rollback Name = "rollback" // the previous version is put back
)

// The steps of a deployment by the agent and its supervisor, besides
// Restart and Rollback above. A deployment ends with Done or Failed, steps
// of no duration that say how it ended.
const (
	Detect  Name = "detect"  // ask the repository for its branch head
	Fetch   Name = "fetch"   // fetch the commit and check it out into a new workspace
	Build   Name = "build"   // run the build commands in the workspace
	Stop    Name = "stop"    // stop a running version (a child's process group)
	Start   Name = "start"   // start a version
	Health  Name = "health"  // wait until the new version is healthy
	Crash   Name = "crash"   // the child exited on its own (from its start to its exit)
	Publish Name = "publish" // sign the builds and upload them as a release of a feed (runner -publish)
	Done    Name = "done"    // the new version serves
	Failed  Name = "failed"  // the deployment failed; the old version serves
)

// Update lists the steps of an update in order.
var Update = []Name{Find, Download, Verify, Extract, Probe, Apply, Restart, Confirm, Rollback}

// IsUpdate reports whether n is a step of an update.
func IsUpdate(n Name) bool {
	for _, u := range Update {
		if u == n {
			return true
		}
	}
	return false
}
