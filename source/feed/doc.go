// Package feed is molt's reference update protocol: a signed feed of
// releases served over plain HTTP, the Client that reads it (a
// source.Source), the Server that serves a folder of built files as feeds,
// and the pure functions in between (Sign, Parse, Build, ParseName).
//
// # Quick start
//
// The publisher makes a key pair once, keeps the private key on the server
// and compiles the public key into the program:
//
//	priv, pub, _ := feed.GenerateKey()       // or cosign generate-key-pair
//	signer, _ := feed.LoadSigner(priv)       // server.LoadEncryptedSigner for cosign.key
//	srv, _ := server.New(server.Options{Dir: "/srv/releases", Signer: signer})
//	http.ListenAndServe(":8080", srv)
//
// Built files are dropped into the folder, named
// <app>-<version>-<os>-<arch>[.exe] or the same ending in .tar.gz, .tgz or
// .zip (see ParseName), and the program reads them with
//
//	feed.New("https://updates.example.com/hello")
//
// # Files served
//
// Under the app's folder URL, .../<app>/, there are two kinds of file:
//
//   - feed.json, the signed feed;
//   - each asset, by its name: .../<app>/<asset name>.
//
// feed.json is an envelope holding the payload and its signatures, so that
// one GET returns both and a client can never pair a new payload with an old
// signature file (there is no race between two files):
//
//	{"payload":"<base64 of the payload's JSON bytes>",
//	 "signatures":[{"keyid":"<hex sha256 of the signer's PKIX public key>","sig":"<base64 raw signature>"}]}
//
// The payload, once decoded:
//
//	{"app":"hello","serial":1767225600,
//	 "issued":"2026-01-01T00:00:00Z","expires":"2026-01-08T00:00:00Z",
//	 "releases":[{"version":"1.1.0","published":"2025-12-31T12:00:00Z",
//	   "assets":[{"name":"hello-1.1.0-linux-amd64","os":"linux","arch":"amd64","size":1234567,
//	     "sha256":"<hex>","url":"hello-1.1.0-linux-amd64"}]}]}
//
// An asset's url is relative to feed.json's URL (usually just its name) or
// absolute, to put files on a CDN. Any plain file host can serve a feed made
// with Sign; the Server is a convenience that signs as the folder changes.
//
// # Who signs what
//
// The publisher's key signs the exact bytes of the payload; the client
// checks the signature over those bytes before it parses them, so no byte
// that is not signed is ever interpreted. The payload binds, for every
// asset, its name, size and sha256, so a mirror cannot swap one release's
// file for another's (no mix-and-match), and the updater refuses a download
// whose hash differs. It also binds the app's name, so a key that signs the
// feeds of several apps cannot be used to feed one app another's releases.
//
// Keys are ECDSA P-256 by default (GenerateKey, cosign generate-key-pair);
// ed25519 and RSA work too. Signatures are made and checked by sigstore, so
// verify.Signature checks them with the public keys the program pins.
//
// # Freshness: serial and expiry
//
// serial never goes down: the Server sets it to the larger of the last
// serial plus one and the current Unix time in seconds, so it grows across
// restarts of the server too. The updater keeps the highest serial it has
// seen and refuses a lower one, so a replayed old feed cannot hide newer
// releases (no rollback).
//
// expires is issued plus a lifetime (DefaultLifetime, a week). The updater
// refuses an expired feed, so a mirror that froze cannot keep a program from
// seeing new releases for longer than that (no freeze). The Server signs
// again when the releases change and whenever half the lifetime has passed,
// so a client that checks at any time gets a feed with at least half its
// lifetime left.
//
// # Trust
//
// Transport is untrusted: plain HTTP, mirrors and caches only carry bytes,
// and the signature and digests make up for them. The program trusts only
// the public keys compiled into it; keys that arrive with an update are
// never trusted. Even so the Client never follows a redirect from https to
// plain http, and refuses an https feed whose assets are on plain http.
// The Server holds the private key to sign as the folder changes; a
// publisher who wants the key off the serving machine uses Publish, which
// signs elsewhere and uploads files and feed.json to a Store (a folder, an
// S3 bucket), and must publish again before the feed expires.
//
// # Key hierarchy: offline roots, online signing keys
//
// With one pinned key, the key on the server that signs is the key every
// program trusts: if it is stolen, the only way out is a new binary for
// every user. A key hierarchy, as TUF's and Tailscale's update signing
// have, pins root keys instead, which never sit on a server. The roots sign
// keys.json, a list of signing keys, each with an expiry; the server signs
// feeds with a signing key from that list. Revoking or replacing a signing
// key is then a new keys.json, which programs already shipped accept.
//
// The program pins the roots and passes them as its verifier:
//
//	//go:embed root.pub
//	var rootPEM []byte
//
//	update.Options{Source: feed.New(url), Verifier: feed.MustRoots(rootPEM), ...}
//
// (feed.NewRoots(2, rootPEM) for two of several roots.) The Client, given
// a *Roots, fetches keys.json beside feed.json (Client.KeysURL to put it
// elsewhere) with the same bounds as the feed (MaxKeyListSize,
// MetadataTimeout), checks it, then checks the feed with its keys.
//
// keys.json is one document, so that a key list never arrives without the
// roots that signed it:
//
//	{"roots":[{"payload":"<base64 RootSet>","signatures":[...]}, ...],
//	 "payload":"<base64 KeyList>","signatures":[{"keyid":"<root id>","sig":"..."}]}
//
// with, decoded,
//
//	RootSet: {"type":"molt-roots/v1","version":1,"threshold":1,"keys":[{"id":"<hex sha256>","pem":"..."}]}
//	KeyList: {"type":"molt-keys/v1","version":7,"issued":"...",
//	          "keys":[{"id":"...","pem":"...","since":5,"expires":"..."}],"revoked":["<id>"]}
//
// The rules (VerifyKeyList, a pure function: bytes, pinned roots and the
// key list accepted before in; verdict and trusted keys out):
//
//   - roots: starting from the pinned roots, each root set of the chain
//     that a threshold of the trusted roots signed, and a threshold of its
//     own keys too, becomes the trusted set; so a program built before a
//     rotation follows it, and one built after starts at its own roots;
//   - the key list must be signed by a threshold of the trusted roots
//     (else ErrNotRootSigned), and its version must not be lower than one
//     accepted before (else ErrKeyListRollback: a replayed list that still
//     trusts a revoked key);
//   - the feed must be signed by a listed key that has not expired (else
//     ErrKeyRevoked, ErrKeyExpired, ErrKeyNotListed; all wrap
//     verify.ErrBadSignature).
//
// Counters survive all of it. A signing key's "since" is the key list
// version that first listed it, its epoch; the listing carries the epoch
// of the newest key that signed the feed (source.Listing.KeyEpoch), and the
// updater keeps (epoch, serial) per origin, newest first: a lower epoch is
// a replay, a higher one starts the serial afresh. A thief who pushed the
// serial to the top with a stolen key (the fast-forward attack) therefore
// cannot lock out the key issued after it was revoked. Roots keeps the key
// list it accepted in memory; the epoch in the state file keeps a restarted
// program from taking an older key list's keys.
//
// # The ceremony
//
// The root key lives offline: on a machine that is never a server (at best
// never online), backed up in two places, used only for the commands
// below; keys.json and public keys travel to it and back.
//
//  1. Once, offline: pkgserver root init -out ROOTS -dir WORK writes
//     ROOTS/root.key (the root: keep it there), ROOTS/root.pub (commit it to
//     the program and embed it) and WORK/keys.json, version 1, no keys yet.
//     -n 3 -threshold 2 makes three roots of which two must sign.
//  2. A signing key is made where it signs (pkgserver keygen on the
//     server); its public key goes to the offline machine, which lists it:
//     pkgserver key issue -root ROOTS/root.key -dir WORK -pub update.pub
//     -expires 720h (or -out signing.key to make one there). keys.json goes
//     back into the release folder: pkgserver serve serves it at
//     /keys.json and /<app>/keys.json; for a static host or a bucket,
//     pkgserver key publish -dir RELEASES -to ... before pkgserver publish.
//  3. Routinely, before a key expires: issue the next, publish keys.json,
//     switch the server to the new key; the old one expires by itself.
//  4. A signing key thought stolen: pkgserver key revoke -id KEYID and key
//     issue a replacement (its newer epoch undoes any counter the thief
//     pushed up), publish keys.json at once, switch the server. Programs
//     refuse the stolen key from their next check; no new binary.
//  5. Rotating the roots (on a schedule, or a root thought exposed):
//     pkgserver root rotate -root ROOTS/root.key -dir WORK -out NEWROOTS
//     adds a root set signed by the old roots and the new; programs that
//     pin the old roots follow it, and builds from then on pin
//     NEWROOTS/root.pub. The chain stays in keys.json (at most 32 sets). A
//     threshold of roots actually stolen is the one loss that needs new
//     binaries for the programs that pinned them and have not seen the
//     rotation, which is why the roots stay offline, and why several roots
//     with a threshold are worth their trouble.
//
// Programs shipped before the hierarchy pin a signing key with
// verify.Signature and go on verifying feeds it signs: while they are
// about, the server signs with the hierarchy's key and adds a signature by
// the old key (server.Options.ExtraSigners). A feed has room for 8.
//
// # Rotating a pinned key (without a hierarchy)
//
// A feed may carry several signatures (at most 8); one that a pinned key
// verifies is enough. To move to a new key:
//
//  1. Release a version of the program that pins the old and the new key
//     (verify.Signature accepts several), still signed with the old one.
//  2. Once the installed base has that version, sign with both keys
//     (ServerOptions.ExtraSigners) or only the new one.
//  3. Release a version that pins only the new key, and retire the old one.
//
// A key thought stolen is dropped the same way, by shipping a version that
// no longer pins it; until it is installed the stolen key is trusted, which
// is why the private key belongs on as few machines as possible, and why
// the key hierarchy above exists.
//
// # Push
//
// A GET of feed.json with the query parameter wait=N (WaitParam) and the
// ETag of the feed the client has as If-None-Match is a long-poll: a
// server that holds them (the reference server; server.Server) answers at
// once with the feed if it is another, else holds the request until the
// feed is signed anew (a release published, a rollout set, paused or
// aborted, a pin, a halt) and answers with the new feed, or with 304 when
// about N seconds (at most 55 by default, DefaultWaitHold, under common
// proxy idle timeouts) have passed. Every answer carries the header
// Molt-Push: 1 (PushHeader). Client.Wait uses it: the feed in the answer
// is kept for the next Releases, which verifies it like any other, so a
// woken fleet costs one round trip, and an answer never vouches for
// anything by itself. A static host answers the GET at once without the
// header, and a 4xx is no push either: Wait then returns an error wrapping
// source.ErrNoPush, and Updater.Watch polls. Each long-poll is bounded like
// any metadata request: MaxFeedBytes, and the hold plus MetadataTimeout.
//
// # Limits
//
// Each metadata request (keys.json, feed.json) must be answered in full
// within Client.MetadataTimeout (DefaultMetadataTimeout, 30 s), so a mirror
// that trickles or goes silent ends a check with an error wrapping
// source.ErrUnavailable and context.DeadlineExceeded. keys.json is capped
// at MaxKeyListSize bytes and is strict throughout, since a field that
// restricted a key and was ignored would trust it more than meant.
// feed.json is capped at MaxFeedSize bytes; the envelope is strict (unknown
// fields and trailing data are errors, since nothing unsigned should say
// more than it must) and the payload is lenient (unknown fields are
// ignored, so publishers can add optional fields without breaking older
// programs).
package feed
