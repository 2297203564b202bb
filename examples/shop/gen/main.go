// Command gen writes the shop example's data: orders (the feature source)
// and churn labels (the training spine), generated deterministically from
// a seed so the demo's version ids are the same on every machine.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"
)

func main() {
	out := flag.String("out", "examples/shop/data", "output directory")
	users := flag.Int("users", 500, "number of users")
	orders := flag.Int("orders", 20000, "number of orders")
	seed := flag.Uint64("seed", 7, "random seed")
	flag.Parse()
	if err := run(*out, *users, *orders, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

var categories = []string{"books", "garden", "toys", "kitchen", "music, vinyl", `say "hi"`}

func run(dir string, users, orders int, seed uint64) error {
	if users <= 0 || orders <= 0 {
		return fmt.Errorf("--users and --orders must be positive")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	span := 180 * 24 * time.Hour

	if err := writeFile(filepath.Join(dir, "orders.csv"), func(w *bufio.Writer) {
		fmt.Fprintln(w, "order_id,user_id,event_time,amount,category,gift")
		for i := range orders {
			user := 1 + rng.IntN(users)
			ts := start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
			amount := ""
			if rng.IntN(50) != 0 { // about 2% of amounts are missing
				amount = fmt.Sprintf("%.2f", 5+rng.ExpFloat64()*40)
			}
			cat := categories[rng.IntN(len(categories))]
			fmt.Fprintf(w, "%d,%d,%s,%s,%s,%t\n", i+1, user, ts.Format(time.RFC3339), amount, csvQuote(cat), rng.IntN(10) == 0)
		}
	}); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "churn_labels.csv"), func(w *bufio.Writer) {
		fmt.Fprintln(w, "user_id,event_timestamp,churned")
		for u := 1; u <= users; u++ {
			for k := 0; k < 2; k++ {
				ts := start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Hour)
				fmt.Fprintf(w, "%d,%s,%t\n", u, ts.Format(time.RFC3339), rng.IntN(4) == 0)
			}
		}
	})
}

func csvQuote(s string) string {
	for _, r := range s {
		if r == ',' || r == '"' || r == '\n' {
			out := `"`
			for _, c := range s {
				if c == '"' {
					out += `""`
				} else {
					out += string(c)
				}
			}
			return out + `"`
		}
	}
	return s
}

func writeFile(path string, fill func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
