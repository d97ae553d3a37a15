package storeurl

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/molt-go/update/server"
)

func TestOpenFolders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, to := range []string{dir, "file://" + filepath.ToSlash(dir)} {
		st, root, err := Open(ctx, to, Options{})
		ds, ok := st.(*server.DirStore)
		if err != nil || !ok || ds.Dir != dir || root != dir {
			t.Errorf("Open(%q) = %#v, %q, %v; want a DirStore at %s", to, st, root, err, dir)
		}
	}
	if st, _, err := Open(ctx, "relative/www", Options{}); err != nil || !filepath.IsAbs(st.(*server.DirStore).Dir) {
		t.Errorf("a relative folder is not made absolute: %#v, %v", st, err)
	}
	for _, tc := range []struct {
		to string
		o  Options
	}{
		{"", Options{}},
		{"https://example.com/releases", Options{}},
		{"file://host/releases", Options{}},
		{dir, Options{Endpoint: "http://127.0.0.1:9000"}},
		{dir, Options{Region: "eu-west-1"}},
	} {
		if _, _, err := Open(ctx, tc.to, tc.o); !errors.Is(err, ErrBadURL) {
			t.Errorf("Open(%q, %+v) = %v, want ErrBadURL", tc.to, tc.o, err)
		}
	}
}
