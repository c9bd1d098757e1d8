// Command schemagen generates orderflow's published contracts from the Go types in contracts/: the
// event schemas and the OpenAPI document in schemas/ and the event catalog docs/events.md.
//
//	schemagen            write the generated files
//	schemagen -check     fail if the files are stale or the schemas break the last released ones
//	                     without a major version bump (or change them without any bump)
//	schemagen -release   keep the current event schemas as the release of contracts.SchemaVersion
//
// Run it from the module root, or point -root at it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/orderflow/orderflow/schemas/generator"
)

func main() {
	root := flag.String("root", ".", "the module root")
	check := flag.Bool("check", false, "check freshness and compatibility instead of writing")
	release := flag.Bool("release", false, "copy the event schemas to schemas/released/<version>")
	flag.Parse()
	var err error
	switch {
	case *check && *release:
		err = fmt.Errorf("-check and -release exclude each other")
	case *check:
		err = generator.Check(os.Stdout, *root)
	case *release:
		err = generator.Release(os.Stdout, *root)
	default:
		err = generator.Write(os.Stdout, *root)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}
