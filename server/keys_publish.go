package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/molt-go/update/internal/platform"
	"github.com/molt-go/update/source"
	"github.com/molt-go/update/source/feed"
)

// PublishKeyList puts the key list in dir (dir/keys.json) into store at
// keys.json and at <app>/keys.json for each app, where the feed Client
// looks for it beside feed.json. apps empty means every app with release
// files in dir. Publish it before the feeds that a newly issued key signs
// (a client that meets a feed signed by a key its key list does not have
// refuses it), and after a revocation at once.
//
// A key list older than the one in the store is refused, since it could
// only bring back revoked keys; so is one that does not check on its own
// (feed.ReadKeyFile). It returns the version published.
func PublishKeyList(ctx context.Context, dir string, store Store, apps []string) (int64, error) {
	if store == nil {
		return 0, errors.New("feed: publish key list: nil store")
	}
	body, err := readKeyList(filepath.Join(dir, feed.KeysFile))
	if err != nil {
		return 0, err
	}
	kf, err := feed.ReadKeyFile(body)
	if err != nil {
		return 0, err
	}
	version := kf.List().Version
	if len(apps) == 0 {
		stats, err := listDir(dir)
		if err != nil {
			return 0, err
		}
		for _, st := range stats {
			if e, ok := platform.ParseFeedName(st.name); ok && !slices.Contains(apps, e.App) {
				apps = append(apps, e.App)
			}
		}
		slices.Sort(apps)
	}
	keys := []string{feed.KeysFile}
	for _, app := range apps {
		if !feed.ValidName(app) {
			return 0, fmt.Errorf("feed: publish key list: app %q is not a plain name", app)
		}
		keys = append(keys, app+"/"+feed.KeysFile)
	}
	sum := sha256Hex(body)
	for _, key := range keys {
		cur, err := store.Get(ctx, key)
		switch {
		case errors.Is(err, source.ErrNotFound):
		case err != nil:
			return 0, fmt.Errorf("feed: reading the current %s: %w", key, err)
		default:
			if old, err := feed.ReadKeyFile(cur); err == nil && old.List().Version > version {
				return 0, fmt.Errorf("feed: %s in the store has version %d, newer than %d in %s: refusing to roll it back",
					key, old.List().Version, version, dir)
			}
		}
		if err := store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), sum); err != nil {
			return 0, fmt.Errorf("feed: putting %s: %w", key, err)
		}
	}
	return version, nil
}
