package devstack

import "strings"

// retryPortClash retries a server start whose ports were picked by
// FreePort: between picking a port and the server binding it, another
// process (a parallel test package's server) may take it. Fixed ports
// are never retried: a clash there is the user's to resolve.
func retryPortClash[T any](autoPorts bool, start func() (T, error)) (T, error) {
	var v T
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		v, err = start()
		if err == nil || !autoPorts || !strings.Contains(err.Error(), "address already in use") {
			return v, err
		}
	}
	return v, err
}
