package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/granaryml/granary/client"
)

// Typical use in a web service: one shared Client, a per-request deadline,
// not-found tolerated as "no features for this entity".
func Example() {
	c, err := client.New("http://127.0.0.1:8090", client.Options{
		Token:   os.Getenv("GRANARY_SERVE_TOKEN"),
		Timeout: 300 * time.Millisecond, // per attempt
		Retries: 2,                      // after connection errors and 5xx only
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()

	fv, err := c.GetFeatures(ctx, "user_orders", client.Key{"user_id": 42})
	switch {
	case client.IsNotFound(err):
		fmt.Println("no features for user 42; using defaults")
	case err != nil:
		log.Fatal(err)
	default:
		spend, ok := fv.Float("spend") // ok is false when spend is null
		fmt.Println("spend", spend, ok, "from version", fv.Version)
	}

	m, err := c.ModelAlias(ctx, "churn", "prod")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("prod model", m.Version, m.Artifact.Digest)
}

// A batch reads every entity from one version; unknown entities are
// results with Found false.
func ExampleClient_GetFeaturesBatch() {
	c, err := client.New("http://127.0.0.1:8090", client.Options{Token: os.Getenv("GRANARY_SERVE_TOKEN")})
	if err != nil {
		log.Fatal(err)
	}
	keys := []client.Key{{"user_id": 1}, {"user_id": 2}, {"user_id": 3}}
	b, err := c.GetFeaturesBatch(context.Background(), "user_orders", keys, client.Version("prod"))
	if err != nil {
		log.Fatal(err)
	}
	for i, r := range b.Results {
		if !r.Found {
			continue
		}
		tier, _ := r.Features.String("tier")
		fmt.Println(keys[i]["user_id"], tier)
	}
	// Read more users later from exactly the same version:
	_, _ = c.GetFeatures(context.Background(), "user_orders", client.Key{"user_id": 4}, client.Version(b.Version))
}
