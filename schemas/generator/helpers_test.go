package generator_test

import (
	"io/fs"
	"os"

	"github.com/orderflow/orderflow/contracts"
)

func osDirFS(dir string) fs.FS { return os.DirFS(dir) }

func currentVersion() string { return contracts.SchemaVersion }
