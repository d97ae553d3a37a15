package main

import (
	"context"
	"flag"

	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/s3"
)

func init() {
	loc := flag.String("s3", "", "bucket folder holding hello/feed.json, e.g. s3://my-bucket/releases "+
		"(credentials and region from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION or a profile)")
	endpoint := flag.String("s3-endpoint", "", "URL of an S3-compatible store, e.g. http://127.0.0.1:7070 (addressed path-style)")
	sources = append(sources, sourceFlag{name: "-s3", make: func() (source.Source, error) {
		if *loc == "" {
			return nil, nil
		}
		bucket, prefix, err := s3.ParseURL(*loc)
		if err != nil {
			return nil, err
		}
		return s3.New(context.Background(), s3.Options{
			Bucket:       bucket,
			Prefix:       prefix,
			App:          "hello",
			Endpoint:     *endpoint,
			UsePathStyle: *endpoint != "",
		})
	}})
}
