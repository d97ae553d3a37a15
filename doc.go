// Package update lets a Go program update itself: find a newer release,
// download it, verify it, replace its own executable atomically, restart
// into it, and roll back if the new version is bad.
//
// # Quick start
//
// Pin the public key your releases are signed with, point at where they
// live, and check at startup:
//
//	keys, err := verify.Signature(publicKeyPEM) // embedded in the binary
//	u, err := update.New(update.Options{
//		App:      "hello",
//		Version:  version, // set with -ldflags "-X main.version=1.2.3"
//		Source:   feed.New("https://updates.example.com/hello/"),
//		Verifier: keys,
//	})
//	res, err := u.Check(ctx) // finds, downloads, verifies, installs, re-executes
//
// A daemon calls [Updater.Watch] instead, and the new version calls
// [Updater.Confirm] once it is healthy.
//
// # The path of one update
//
//  1. Find: the Source lists releases; the updater keeps the newest that is
//     newer than the running version, allowed by the channel, not rolled
//     back before, and with an asset for this OS and architecture.
//  2. Download: the asset streams into a staged file beside the
//     executable, hashed as it streams, through a fixed 1 MiB ring shared by
//     three goroutines (network read, disk write, hash) whatever its size.
//     It stops at the promised size plus one byte, and resumes from the
//     last byte after a broken connection or a stall (see StallInterval).
//  3. Verify: nothing is installed unless its digest matches trusted
//     metadata, or a signature by a pinned key covers it.
//  4. Extract: from an archive, only the executable is taken out; no path
//     may leave the archive, no links, sizes capped.
//  5. Probe: the staged binary is run with [ProbeEnv] naming a file, and
//     must write the promised version there (New answers this), which
//     catches a wrong architecture or a truncated build before anything is
//     replaced.
//  6. Apply: the Applier swaps it in with one atomic rename and keeps the
//     old binary as a backup. The target path is never missing.
//  7. Restart: the Restarter starts the new version. If it cannot, the old
//     binary is put back.
//  8. Confirm or roll back: the new version is pending until it calls
//     Confirm. At its MaxStarts+1-th start without confirming (the first
//     start after the install counts as one), or once it misses
//     [Options.ConfirmTimeout], the previous version is put back and the
//     release marked bad: skipped, and said to be, until Forget.
//
// Every step emits an [Event] to Options.OnEvent and a line to
// Options.Logger. Every failure is an [*Error] naming the step, wrapping a
// sentinel that errors.Is can test, and leaves the installed binary as it
// was.
//
// # Trust model
//
//   - The program pins the public keys it trusts; keys that arrive with an
//     update are never trusted.
//   - Signed metadata (the feed, a cosign-signed checksums file) binds every
//     asset's name, size and digest, so assets cannot be mixed and matched.
//   - The feed carries a version counter and an expiry. The updater keeps
//     the highest counter seen in its state directory, outside anything an
//     update writes, and refuses older metadata (ErrReplayed) and expired
//     metadata (ErrExpired), so a mirror can neither roll back nor freeze
//     a client.
//   - Transport is untrusted: mirrors, CDNs, S3 and plain HTTP only carry
//     bytes; https is never downgraded to http by a redirect.
//   - Running without verification takes Options.InsecureSkipVerify.
//
// # Strategies
//
// How the new version is installed and started is chosen with
// Options.Applier and Options.Restarter:
//
//   - apply.Replace (the default): an atomic rename over the executable,
//     backup beside it as .<name>.old; a symlinked executable has its
//     link's target replaced.
//   - apply.Symlink: versioned folders and a "current" link flipped
//     atomically, for supervisors that point at the link.
//   - restart.Exec (the default): re-execute in place, same pid, arguments
//     and environment.
//   - restart.Handoff: a daemon passes its listeners to the new process and
//     stops only after the new one is ready: no request is dropped.
//   - restart.Exit: exit with a code, and let systemd, runit or Kubernetes
//     start the new version.
//   - restart.None: the caller restarts when it likes.
package update
