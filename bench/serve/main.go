// Command serve benchmarks granary's online serving API (internal/serving)
// against a Redis server holding the same feature values as hashes, the
// way Feast's Redis online store serves them. bench/serve.sh drives it;
// every subcommand also runs on its own:
//
//	serve gen -dir D -entities 1000000 -features 20      # file lake with one serving index
//	serve server -dir D -addr 127.0.0.1:P -token T       # granary's API over that lake
//	serve redis-load -dir D -addr 127.0.0.1:R            # the same values into Redis
//	serve check -dir D -granary http://... -token T -redis 127.0.0.1:R
//	serve load -dir D -target granary|redis -mode single|batch100 -conc C -requests N -duration 20s ...
//	serve report -res RESULTS_DIR                        # the markdown summary
//	serve port                                           # a free loopback TCP port
//
// gen writes D/bench.json with the parameters; the other subcommands read
// it, so they always agree on entities, columns and values.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmds := map[string]func([]string) error{
		"gen":        runGen,
		"server":     runServer,
		"redis-load": runRedisLoad,
		"check":      runCheck,
		"load":       runLoad,
		"report":     runReport,
		"port":       runPort,
	}
	f := cmds[os.Args[1]]
	if f == nil {
		usage()
	}
	if err := f(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "serve %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: serve gen|server|redis-load|check|load|report|port [flags] (see bench/README.md)")
	os.Exit(2)
}
