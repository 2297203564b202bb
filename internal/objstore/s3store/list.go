package s3store

import (
	"context"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/granaryml/granary/internal/objstore"
)

// maxListKeys is S3's cap on keys per ListObjectsV2 response.
const maxListKeys = 1000

// List fetches one page with one request. It asks for one key more than it
// returns, which proves More exactly; because S3 caps a response at 1000
// keys, a page holds at most 999 keys even if Limit is larger.
func (s *Store) List(ctx context.Context, opts objstore.ListOptions) (objstore.ListPage, error) {
	if err := objstore.ValidatePrefix(opts.Prefix); err != nil {
		return objstore.ListPage{}, mapErr(opList, opts.Prefix, err)
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = objstore.DefaultListLimit
	}
	limit = min(limit, maxListKeys-1)
	fetchOwner := false
	lo := minio.ListObjectsOptions{
		Prefix:     s.prefix + opts.Prefix,
		Recursive:  true,
		MaxKeys:    limit + 1,
		FetchOwner: &fetchOwner,
	}
	if opts.After != "" {
		lo.StartAfter = s.prefix + opts.After
	}
	// Cancelling stops the iterator from fetching a page we won't read.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var page objstore.ListPage
	for o := range s.client.ListObjectsIter(ctx, s.opts.Bucket, lo) {
		if o.Err != nil {
			return objstore.ListPage{}, mapErr(opList, opts.Prefix, o.Err)
		}
		key := strings.TrimPrefix(o.Key, s.prefix)
		if objstore.ValidateKey(key) != nil {
			continue // written by other tools; unreachable through Store
		}
		if len(page.Objects) == limit {
			page.More = true
			break
		}
		page.Objects = append(page.Objects, infoOf(key, o))
	}
	return page, nil
}
