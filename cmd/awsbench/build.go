package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// rieCommand is the emulator's main package, a tool dependency in go.mod.
const rieCommand = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// goBuild builds the packages into dir (each binary named like the last element of its path) for
// goos/goarch the way make lambdas builds the functions.
func goBuild(dir, goos, goarch string, pkgs ...string) error {
	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s/%s: %v\n%s", goos, goarch, err, out)
	}
	return nil
}

// lambdaPackages returns the packages of the functions.
func lambdaPackages(fns []string) []string {
	pkgs := make([]string, len(fns))
	for i, fn := range fns {
		pkgs[i] = "./cmd/lambda/" + fn
	}
	return pkgs
}

// arm64Sizes returns the size of every function's arm64 bootstrap: from dist when all of them are there,
// otherwise from a build into tmp. The second result says where the sizes come from.
func arm64Sizes(dist, tmp string, fns []string) (map[string]int64, string, error) {
	sizes := map[string]int64{}
	for _, fn := range fns {
		fi, err := os.Stat(filepath.Join(dist, fn, "bootstrap"))
		if err != nil {
			break
		}
		sizes[fn] = fi.Size()
	}
	if len(sizes) == len(fns) {
		return sizes, filepath.Join(dist, "<function>", "bootstrap"), nil
	}
	dir := filepath.Join(tmp, "arm64")
	if err := goBuild(dir, "linux", "arm64", lambdaPackages(fns)...); err != nil {
		return nil, "", err
	}
	for _, fn := range fns {
		fi, err := os.Stat(filepath.Join(dir, fn))
		if err != nil {
			return nil, "", err
		}
		sizes[fn] = fi.Size()
	}
	return sizes, "a fresh arm64 build, as " + dist + " is missing or incomplete", nil
}

// hostBuild builds the emulator and every function for this machine into tmp and returns the emulator's
// path and a function's bootstrap path.
func hostBuild(tmp string, fns []string) (rie string, bootstrap func(fn string) string, err error) {
	if runtime.GOOS != "linux" {
		return "", nil, fmt.Errorf("the Runtime Interface Emulator runs on Linux only, not on %s", runtime.GOOS)
	}
	dir := filepath.Join(tmp, "host")
	if err := goBuild(dir, runtime.GOOS, runtime.GOARCH, append(lambdaPackages(fns), rieCommand)...); err != nil {
		return "", nil, err
	}
	return filepath.Join(dir, rieCommand[strings.LastIndex(rieCommand, "/")+1:]),
		func(fn string) string { return filepath.Join(dir, fn) }, nil
}
