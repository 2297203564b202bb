// Package client is the Go client for granary's serving API: online
// feature lookups from materialized serving indexes, and model alias
// lookups, for web services that score requests.
//
// Create one Client per process and share it; it is safe for concurrent
// use and keeps connections alive:
//
//	c, err := client.New("http://granary-serve:8090", client.Options{Token: os.Getenv("GRANARY_SERVE_TOKEN")})
//	if err != nil { ... }
//	fv, err := c.GetFeatures(ctx, "user_orders", client.Key{"user_id": 42})
//	switch {
//	case client.IsNotFound(err):
//		// unknown user: fall back to defaults
//	case err != nil:
//		return err
//	}
//	spend, ok := fv.Float("spend") // ok is false for null
//
// # Versions
//
// Every result names the serving index version (or model version) it was
// read from, in its Version field. The client checks that the version in
// the response body matches the X-Granary-Version header and fails with
// ErrVersionMismatch otherwise. By default a lookup reads the view's
// "latest" alias; the Version option reads another alias ("prod") or pins
// a version id or a unique id prefix (at least 8 hex characters), so a
// caller can keep reading the exact version it started with:
//
//	fv, err := c.GetFeatures(ctx, "user_orders", key, client.Version(prev.Version))
//
// # Batches
//
// GetFeaturesBatch sends up to Options.MaxBatch entities (default 1000,
// the server's default limit) per request and splits larger inputs into
// chunks, sent concurrently. Each server response comes from one version,
// but an alias can move between two chunks. The client therefore compares
// the chunks' versions: every chunk whose version differs from the first
// chunk's is fetched again pinned to the first chunk's version id, so a
// Batch never mixes versions whatever its size.
//
// # Errors and retries
//
// Errors the server answers are *Error values carrying the HTTP status,
// the API's error code and message; test them with errors.As or the
// helpers IsNotFound, IsUnauthorized, IsBadRequest, IsTooLarge and
// IsUnavailable. A single lookup of an entity the version does not hold is
// a not-found error; in a batch it is a result with Found false.
//
// Every call the client makes is read-only (GET lookups and the batch
// POST, which changes nothing on the server), so all of them are retried:
// up to Options.Retries more times (default 2) after a connection error,
// a per-attempt timeout (Options.Timeout, default 2s) or a 5xx answer,
// with exponential backoff and jitter. 4xx answers are never retried, and
// cancelling the context stops waiting at once.
package client
