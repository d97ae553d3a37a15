// Package s3 keeps signed feeds in an S3 bucket, or in any store that
// speaks the S3 API (MinIO, Ceph, versitygw, R2, ...): Source reads an app's
// feed and assets for the updater, and Store is where feed.Publish puts
// them.
//
// # Layout
//
// The layout is the feed server's, under a prefix:
//
//	s3://<bucket>/<prefix>/<app>/feed.json    the signed feed
//	s3://<bucket>/<prefix>/<app>/<asset>      each file it lists, by name
//
// so the same objects can also be served by any static web host in front
// of the bucket and read with feed.New. Publish with
//
//	pkgserver publish -dir ./dist -key update.key -to s3://bucket/prefix
//
// and read with
//
//	src, err := s3.New(ctx, s3.Options{Bucket: "bucket", Prefix: "prefix", App: "hello"})
//
// # Trust
//
// The bucket is untrusted transport, like a mirror: the feed is verified
// with the keys the program pins before anything in it is used, its size is
// capped at feed.MaxFeedSize, and every asset is checked against the sha256
// the signed feed gives. Credentials only decide who may read and write
// the bucket; they vouch for nothing.
//
// # Credentials
//
// By default the SDK's chain finds them: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), the shared files and
// AWS_PROFILE, web identity, container and instance roles. Options.Credentials
// overrides it; aws.AnonymousCredentials{} reads a public bucket unsigned.
// The region comes from Options.Region, else AWS_REGION or the shared
// config, else DefaultRegion. For an S3-compatible store, set
// Options.Endpoint and, usually, Options.UsePathStyle.
//
// # Errors
//
// A missing bucket or object wraps source.ErrNotFound ("bucket X does not
// exist", "no feed at s3://..."); missing or refused credentials wrap
// source.ErrAccess; server errors and an unreachable endpoint wrap
// source.ErrUnavailable.
package s3
