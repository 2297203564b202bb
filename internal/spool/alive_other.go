//go:build !unix

package spool

// alive is conservative where processes cannot be probed: never sweep.
func alive(int) bool { return true }
