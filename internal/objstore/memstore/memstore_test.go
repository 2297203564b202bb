package memstore_test

import (
	"testing"

	"github.com/granaryml/granary/internal/objstore"
	"github.com/granaryml/granary/internal/objstore/memstore"
	"github.com/granaryml/granary/internal/objstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunWith(t, storetest.Options{InMemory: true}, func(t *testing.T) objstore.Store {
		return memstore.New(memstore.Options{})
	})
}
