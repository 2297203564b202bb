package filestore

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"

	"github.com/granaryml/granary/internal/objstore"
)

func (s *Store) List(ctx context.Context, opts objstore.ListOptions) (objstore.ListPage, error) {
	if err := objstore.ValidatePrefix(opts.Prefix); err != nil {
		return objstore.ListPage{}, opErr("list", opts.Prefix, err)
	}
	l := lister{s: s, ctx: ctx, after: opts.After, limit: opts.Limit}
	if l.limit <= 0 {
		l.limit = objstore.DefaultListLimit
	}
	// Only the directory holding the prefix's last segment can contain
	// matches; that segment filters its entries ("a/b" matches "a/bc/d").
	dir, namePrefix := ".", opts.Prefix
	if i := strings.LastIndexByte(opts.Prefix, '/'); i >= 0 {
		dir, namePrefix = opts.Prefix[:i], opts.Prefix[i+1:]
	}
	keyPrefix := ""
	if dir != "." {
		keyPrefix = dir + "/"
	}
	if first, _, _ := strings.Cut(keyPrefix, "/"); first == metaDir {
		return objstore.ListPage{}, nil
	}
	if err := l.walk(dir, keyPrefix, namePrefix); err != nil && err != errPageFull {
		return objstore.ListPage{}, opErr("list", opts.Prefix, err)
	}
	page := objstore.ListPage{Objects: l.out}
	if len(l.out) > l.limit {
		page.Objects, page.More = l.out[:l.limit], true
	}
	return page, nil
}

type lister struct {
	s     *Store
	ctx   context.Context
	after string
	limit int
	out   []objstore.ObjectInfo
}

// errPageFull stops the walk early; it never leaves List.
var errPageFull = errors.New("page full")

type entry struct {
	fs.DirEntry
	// sortName orders a directory as its keys' common prefix, name+"/", so
	// a depth-first walk yields keys in byte order: "a-b" < "a/c" because
	// '-' < '/', although the directory "a" sorts before the file "a-b".
	sortName string
}

// walk appends, in key order, the objects under directory dir (whose keys
// start with keyPrefix) whose names start with namePrefix and sort after
// l.after, until it holds one more than the limit (proof that More is true).
func (l *lister) walk(dir, keyPrefix, namePrefix string) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	f, err := l.s.root.Open(dir)
	if isAbsent(err) {
		return nil
	}
	if err != nil {
		return err
	}
	dirents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	entries := make([]entry, 0, len(dirents))
	for _, d := range dirents {
		name := d.Name()
		switch {
		case !strings.HasPrefix(name, namePrefix):
		case keyPrefix == "" && name == metaDir:
		case d.IsDir():
			entries = append(entries, entry{d, name + "/"})
		case d.Type().IsRegular():
			entries = append(entries, entry{d, name})
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.sortName, b.sortName) })

	for _, e := range entries {
		key := keyPrefix + e.sortName
		if e.IsDir() {
			// Every key below sorts after key (= "dir/"); if key is before
			// l.after and l.after is not inside this subtree, all of them
			// are, so the subtree is skipped unread.
			if key < l.after && !strings.HasPrefix(l.after, key) {
				continue
			}
			if err := l.walk(key[:len(key)-1], key, ""); err != nil {
				return err
			}
			continue
		}
		if key <= l.after || objstore.ValidateKey(key) != nil {
			continue
		}
		fi, err := e.Info()
		if isAbsent(err) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return err
		}
		l.out = append(l.out, infoOf(key, fi))
		if len(l.out) > l.limit {
			return errPageFull
		}
	}
	return nil
}
