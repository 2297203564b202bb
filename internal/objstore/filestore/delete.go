package filestore

import (
	"context"
	"path"
)

func (s *Store) Delete(ctx context.Context, key string) error {
	const op = "delete"
	if err := checkKey(op, key); err != nil {
		return err
	}
	err := s.locked(ctx, func() error {
		fi, err := s.root.Lstat(key)
		if isAbsent(err) || (err == nil && !fi.Mode().IsRegular()) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.root.Remove(key); err != nil && !isAbsent(err) {
			return err
		}
		// Empty directories would otherwise pile up as the lake churns and
		// slow every listing. This runs under the lock so it cannot remove a
		// directory a concurrent writer has just created for its rename.
		for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
			if s.root.Remove(dir) != nil {
				break // not empty (or gone): parents are not empty either
			}
		}
		return nil
	})
	if err != nil {
		return opErr(op, key, err)
	}
	return nil
}
