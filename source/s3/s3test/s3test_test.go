package s3test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestStartAndStop: the server answers S3 requests, keeps objects as files
// under Dir, and is gone once the test that started it ends.
func TestStartAndStop(t *testing.T) {
	t.Parallel()
	var endpoint string
	t.Run("running", func(t *testing.T) {
		s := Start(t)
		endpoint = s.Endpoint
		bucket := s.NewBucket(t)
		if bucket != "molt-teststartandstop-running" {
			t.Errorf("bucket name %q", bucket)
		}
		_, err := s.Client().PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("a/b.txt"), Body: strings.NewReader("hi")})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(s.Dir, bucket, "a", "b.txt")); err != nil || string(got) != "hi" {
			t.Fatalf("object on disk: %q, %v", got, err)
		}
		s.CreateUser(t, "someone", "someone-secret")
		env := strings.Join(s.Env("someone", "someone-secret"), "\n")
		for _, want := range []string{"AWS_ACCESS_KEY_ID=someone", "AWS_SECRET_ACCESS_KEY=someone-secret",
			"AWS_REGION=" + Region, "AWS_EC2_METADATA_DISABLED=true"} {
			if !strings.Contains(env, want) {
				t.Errorf("Env lacks %s", want)
			}
		}
		if strings.Contains(strings.Join(s.Env("", ""), "\n"), "AWS_ACCESS_KEY_ID") {
			t.Errorf("Env without credentials sets AWS_ACCESS_KEY_ID")
		}
	})
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", u.Host); err == nil {
		c.Close()
		t.Fatalf("%s still answers after its test ended", endpoint)
	}
}
