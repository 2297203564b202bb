package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/granaryml/granary/internal/objstore"
)

// AdoptFileIfAbsent implements objstore.FileAdopter: the file is fsynced,
// hard-linked into the store's temp directory and published like a
// PutIfAbsent, so a large output already on this disk becomes an object
// without a second copy. A file on another file system (EXDEV) or a link
// the system refuses gives ErrCannotAdopt.
func (s *Store) AdoptFileIfAbsent(ctx context.Context, key, file string) (objstore.ObjectInfo, error) {
	const op = "adopt"
	if err := checkKey(op, key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	if err := s.precheck(key, "", createOnly); err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	// The object must be as durable as a copied one: its bytes reach the
	// disk before its name does.
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	serr := f.Sync()
	cerr := f.Chmod(0o644) // objects are readable like copied ones
	f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	tmp := path.Join(tmpDir, randomName())
	if err := os.Link(file, filepath.Join(s.dir, filepath.FromSlash(tmp))); err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, fmt.Errorf("%w: %v", objstore.ErrCannotAdopt, err))
	}
	defer s.root.Remove(tmp)
	info, dirs, err := s.publish(ctx, key, "", tmp, createOnly)
	if err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	if err := s.syncDirs(dirs); err != nil {
		return objstore.ObjectInfo{}, opErr(op, key, err)
	}
	return info, nil
}
