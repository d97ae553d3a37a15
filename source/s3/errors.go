package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/molt-go/update/internal/httpx"
	"github.com/molt-go/update/source"
)

// refusedCodes are the S3 error codes that mean the credentials were
// refused, or allow nothing here.
var refusedCodes = map[string]bool{
	"AccessDenied":          true,
	"AllAccessDisabled":     true,
	"Forbidden":             true,
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"ExpiredToken":          true,
	"InvalidToken":          true,
	"TokenRefreshRequired":  true,
}

// classify wraps err from an SDK call on bucket/key with the source error
// it means, and a message a person can act on. what names the object for
// messages when it is not found ("feed", "asset ..."); empty for a plain
// object.
func classify(ctx context.Context, op, bucket, key, what string, err error) error {
	where := objectURL(bucket, key)
	if ctx.Err() != nil {
		return fmt.Errorf("s3: %s %s: %w", op, where, err)
	}
	var ce *credentialsError
	if errors.As(err, &ce) {
		return fmt.Errorf("s3: %s %s: %w", op, where, ce)
	}
	code := ""
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("s3: %s %s: %w: bucket %s does not exist (%v)", op, where, source.ErrNotFound, bucket, err)
	case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound:
		if what == "" {
			what = "object"
		}
		return fmt.Errorf("s3: %s: %w: no %s at %s (%v)", op, source.ErrNotFound, what, where, err)
	case refusedCodes[code] || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("s3: %s %s: %w: the credentials are missing, were refused, or allow no access to bucket %s (%v)",
			op, where, source.ErrAccess, bucket, err)
	case status != 0:
		if s := httpx.Sentinel(status); s != nil {
			return fmt.Errorf("s3: %s %s: %w: %w", op, where, s, err)
		}
		// An answer that means none of the source errors, such as a
		// redirect to another region's endpoint.
		return fmt.Errorf("s3: %s %s: %w", op, where, err)
	}
	// No answer at all: the endpoint could not be reached or the
	// connection broke.
	return fmt.Errorf("s3: %s %s: %w: %w", op, where, source.ErrUnavailable, err)
}

// notModified reports whether err is S3's answer to a conditional GET whose
// object has not changed.
func notModified(err error) bool {
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotModified
}
