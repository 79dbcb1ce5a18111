// Command logbench writes synthetic access logs and times meshgen's
// access-log parser on them; hack/bench-logs.sh drives it.
//
//	logbench gen -format envoy-json -size 1G -o /tmp/envoy.json
//	logbench parse -inventory /tmp/envoy.json.inventory.json /tmp/envoy.json
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/meshgen/meshgen/observe/accesslog"
	"github.com/meshgen/meshgen/observe/accesslog/internal/loggen"
	"github.com/meshgen/meshgen/observe/snapshot"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: logbench gen|parse [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "parse":
		err = parse(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "logbench:", err)
		os.Exit(1)
	}
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	format := fs.String("format", loggen.EnvoyJSON, "envoy, envoy-json, ztunnel or ztunnel-json")
	size := fs.String("size", "1G", "bytes to write (K, M, G suffixes)")
	out := fs.String("o", "", "output file")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n, err := parseSize(*size)
	if err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-o is required")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	g := loggen.New(*seed)
	lines, err := g.Write(w, *format, n)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	inv, err := json.Marshal(g.Inventory())
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out+".inventory.json", inv, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %d lines to %s\n", lines, *out)
	return nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func parse(args []string) error {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	invPath := fs.String("inventory", "", "inventory JSON written by gen")
	workers := fs.Int("workers", 0, "parsing workers (0: GOMAXPROCS)")
	format := fs.String("format", accesslog.FormatAuto, "--log-format")
	profile := fs.String("cpuprofile", "", "write a CPU profile here")
	memProfile := fs.String("memprofile", "", "write a heap profile (allocations) here")
	out := fs.String("o", "", "write the snapshot here (after the timing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg := accesslog.DefaultConfig()
	cfg.Workers = *workers
	cfg.Format = *format
	if *invPath != "" {
		b, err := os.ReadFile(*invPath)
		if err != nil {
			return err
		}
		var inv snapshot.Inventory
		if err := json.Unmarshal(b, &inv); err != nil {
			return err
		}
		cfg.Inventory = snapshot.NewIndex(&inv)
	}
	in, err := accesslog.Files(fs.Args(), os.Stdin)
	if err != nil {
		return err
	}
	var size int64
	for _, p := range fs.Args() {
		if fi, err := os.Stat(p); err == nil {
			size += fi.Size()
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	res, err := accesslog.Learn(context.Background(), cfg, in)
	if err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	cpu := (cpuTime() - cpu0).Seconds()
	var lines, malformed int64
	for _, s := range res.Inputs {
		lines += s.Lines
		malformed += s.Malformed
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("files=%d bytes=%d lines=%d malformed=%d edges=%d workers=%d\n", len(in), size, lines, malformed, len(res.Snapshot.Edges), cmpOr(*workers, runtime.GOMAXPROCS(0)))
	fmt.Printf("wall=%.2fs cpu=%.2fs  %.0f MB/s wall  %.0f MB/cpu-s  %.0f lines/s wall  %.0f lines/cpu-s  maxrss=%d MiB\n",
		wall, cpu, float64(size)/1e6/wall, float64(size)/1e6/cpu, float64(lines)/wall, float64(lines)/cpu, ru.Maxrss/1024)
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if *out != "" {
		res.Snapshot.Normalize()
		if err := snapshot.WriteFile(*out, res.Snapshot); err != nil {
			return err
		}
	}
	return nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
