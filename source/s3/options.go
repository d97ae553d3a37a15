package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
)

// DefaultRegion is the region used when neither Options.Region nor the
// SDK's configuration (AWS_REGION, the shared config file) names one. It is
// what most S3-compatible stores answer to.
const DefaultRegion = "us-east-1"

// Options say where the bucket is and how to sign requests to it. The zero
// value with Bucket (and, for a Source, App) set works against AWS with the
// SDK's default credentials.
type Options struct {
	// Bucket is the bucket's name. Required.
	Bucket string
	// Prefix is the folder in the bucket that holds one folder per app,
	// without leading or trailing slashes (they are trimmed). Default: the
	// bucket's root.
	Prefix string
	// App is the application whose feed a Source reads, at
	// <Prefix>/<App>/feed.json. Required for a Source; a Store ignores it.
	App string
	// Region signs the requests. Default: the SDK's configuration
	// (AWS_REGION, the shared config file), else DefaultRegion.
	Region string
	// Endpoint is the base URL of an S3-compatible store, such as
	// http://127.0.0.1:7070. Default: AWS's own endpoint for the region.
	Endpoint string
	// UsePathStyle addresses the bucket in the URL's path
	// (endpoint/bucket/key) rather than in its host name
	// (bucket.endpoint/key). Most S3-compatible stores need it. Default:
	// off.
	UsePathStyle bool
	// Credentials sign the requests. Default: the SDK's default chain
	// (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the shared credentials
	// file and profile, web identity, container and instance roles). Use
	// aws.AnonymousCredentials{} for a public bucket.
	Credentials aws.CredentialsProvider
	// HTTPClient makes the requests; whatever it is, https is never
	// followed to plain http. Default: a client with connect, TLS and
	// response header timeouts that takes proxies from the environment.
	HTTPClient *http.Client
	// MetadataTimeout bounds the read of the feed (feed.json), from the
	// request to its last byte, so a store or proxy that trickles or goes
	// silent cannot hold a check for longer; it includes the SDK's retries.
	// Default: feed.DefaultMetadataTimeout (30 s; see there why). Asset
	// downloads are not bounded by it.
	MetadataTimeout time.Duration
}

func (o *Options) metadataTimeout() time.Duration {
	if o.MetadataTimeout > 0 {
		return o.MetadataTimeout
	}
	return feed.DefaultMetadataTimeout
}

func (o *Options) validate(needApp bool) error {
	var errs []error
	if o.Bucket == "" {
		errs = append(errs, errors.New("Bucket is empty"))
	} else if strings.ContainsAny(o.Bucket, "/\\") {
		errs = append(errs, fmt.Errorf("Bucket %q contains a slash", o.Bucket))
	}
	if needApp && (o.App == "" || strings.ContainsAny(o.App, "/\\") || o.App == "." || o.App == "..") {
		errs = append(errs, fmt.Errorf("App %q is empty or not a plain name", o.App))
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("Endpoint %q is not an http or https URL", o.Endpoint))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("s3: options: %w", err)
	}
	return nil
}

// prefix is o.Prefix without the slashes around it.
func (o *Options) prefix() string { return strings.Trim(o.Prefix, "/") }

// key joins the prefix and the parts into an object key.
func (o *Options) key(parts ...string) string {
	if p := o.prefix(); p != "" {
		parts = append([]string{p}, parts...)
	}
	return strings.Join(parts, "/")
}

// ParseURL splits s3://bucket/prefix into the bucket and the prefix (which
// may be empty), as the aws command line writes bucket locations.
func ParseURL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("s3: %q: %w", s, err)
	}
	if u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", "", fmt.Errorf("s3: %q is not of the form s3://bucket/prefix", s)
	}
	return u.Host, strings.Trim(u.Path, "/"), nil
}

// objectURL is the s3:// URL of key in bucket, for messages and asset URLs.
func objectURL(bucket, key string) string {
	return (&url.URL{Scheme: "s3", Host: bucket, Path: "/" + key}).String()
}

// Bucket is one bucket as the options describe it: the SDK client, made
// once with the library's HTTP policy, and the key layout. A Source reads
// through it, and the package server's S3 store (server/s3store) writes
// through it, so both sign, address and classify errors the same way.
type Bucket struct {
	o      Options
	client *s3.Client
}

// OpenBucket loads the SDK's configuration for o (environment, shared
// files) and makes the client. It makes no request. o.App is not needed.
func OpenBucket(ctx context.Context, o Options) (*Bucket, error) {
	if err := o.validate(false); err != nil {
		return nil, err
	}
	return openBucket(ctx, o)
}

func openBucket(ctx context.Context, o Options) (*Bucket, error) {
	var loads []func(*config.LoadOptions) error
	if o.Region != "" {
		loads = append(loads, config.WithRegion(o.Region))
	}
	if o.Credentials != nil {
		loads = append(loads, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("s3: loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	var creds aws.CredentialsProvider
	if _, anonymous := o.Credentials.(aws.AnonymousCredentials); anonymous {
		// As given, not in the cache the configuration wraps it in: only
		// then does the SDK send unsigned requests, for a public bucket.
		creds = aws.AnonymousCredentials{}
	} else {
		// The SDK's errors for missing credentials have no type of their
		// own; this wrapper gives them one, so they map to ErrAccess.
		creds = &credentialsProvider{next: cfg.Credentials}
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.Credentials = creds
		so.UsePathStyle = o.UsePathStyle
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		// Always the library's policy, given a client or not: never from
		// https to plain http (a SigV4 Authorization header must not
		// travel in clear text), and bounded connect, TLS and header
		// waits.
		so.HTTPClient = httpx.Client(o.HTTPClient)
		// Every object is verified against the signed feed's sha256,
		// and ranged reads carry no whole-object checksum to
		// validate: the SDK's own check would only log warnings.
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Bucket{o: o, client: client}, nil
}

// API is the SDK client.
func (b *Bucket) API() *s3.Client { return b.client }

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.o.Bucket }

// Key joins the prefix and the parts into an object key.
func (b *Bucket) Key(parts ...string) string { return b.o.key(parts...) }

// URL is key's s3://bucket/key URL, for messages.
func (b *Bucket) URL(key string) string { return objectURL(b.o.Bucket, key) }

// Err wraps err from an SDK call op on key with the source error it means
// (source.ErrNotFound, ErrAccess, ErrUnavailable) and a message a person
// can act on.
func (b *Bucket) Err(ctx context.Context, op, key string, err error) error {
	return classify(ctx, op, b.o.Bucket, key, "", err)
}

// ReadSmall reads a metadata object's body, refusing one over limit bytes
// before it is all in memory: the bucket is untrusted transport.
func (b *Bucket) ReadSmall(out *s3.GetObjectOutput, key string, limit int64) ([]byte, error) {
	return readObject(out, objectURL(b.o.Bucket, key), limit)
}

// credentialsProvider marks a failure to find or load credentials.
type credentialsProvider struct {
	next aws.CredentialsProvider
}

func (p *credentialsProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if p.next == nil {
		return aws.Credentials{}, &credentialsError{errors.New("no credentials provider")}
	}
	c, err := p.next.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err}
	}
	return c, nil
}

// credentialsError is a failure to get credentials before any request was
// sent.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string {
	return "no AWS credentials could be found or loaded (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
		"or a profile, or pass Options.Credentials): " + e.err.Error()
}

func (e *credentialsError) Unwrap() []error { return []error{source.ErrAccess, e.err} }
