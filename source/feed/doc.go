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
//	srv, _ := feed.NewServer(feed.ServerOptions{Dir: "/srv/releases", Signer: signer})
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
// # Rotating keys
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
// is why the private key belongs on as few machines as possible.
//
// # Limits
//
// feed.json is capped at MaxFeedSize bytes; the envelope is strict (unknown
// fields and trailing data are errors, since nothing unsigned should say
// more than it must) and the payload is lenient (unknown fields are
// ignored, so publishers can add optional fields without breaking older
// programs).
package feed
