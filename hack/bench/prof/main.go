// Command prof runs one step of meshgen's pipeline in-process, the way the
// command does, and prints how long each phase took, optionally with a CPU
// or heap profile for `go tool pprof`. It is how the suite's slow steps were
// found; see docs/performance.md.
//
//	go run ./hack/bench/prof -cpuprofile cpu.prof logs -inventory inventory.json logs/*.log
//	go run ./hack/bench/prof prometheus -window 24h -end 2026-11-20T12:00:00Z http://127.0.0.1:9090
//	go run ./hack/bench/prof emit observations.json policies/
//	go run ./hack/bench/prof check observations.json policies/
//	go run ./hack/bench/prof diff policies/ baseline/ observations.json
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/meshgen/meshgen/observe/accesslog"
	"github.com/meshgen/meshgen/observe/inventory"
	"github.com/meshgen/meshgen/observe/prometheus"
	"github.com/meshgen/meshgen/observe/snapshot"
	"github.com/meshgen/meshgen/synth"
	"github.com/meshgen/meshgen/synth/diff"
	"github.com/meshgen/meshgen/synth/eval"
	"github.com/meshgen/meshgen/synth/policyset"
	"github.com/meshgen/meshgen/synth/render"
	"github.com/meshgen/meshgen/synth/repo"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile of the step here")
	mem := flag.String("memprofile", "", "write a heap profile (allocations) at the end of the step here")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: prof [-cpuprofile F] [-memprofile F] logs|prometheus|emit|check|diff ARGS")
		os.Exit(2)
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	args := flag.Args()[1:]
	var err error
	switch flag.Arg(0) {
	case "logs":
		err = logs(args)
	case "prometheus":
		err = prom(args)
	case "emit":
		err = emit(args)
	case "check":
		err = checkStep(args)
	case "diff":
		err = diffStep(args)
	default:
		err = fmt.Errorf("unknown step %q", flag.Arg(0))
	}
	if *cpu != "" {
		pprof.StopCPUProfile()
	}
	if *mem != "" {
		f, ferr := os.Create(*mem)
		check(ferr)
		check(pprof.Lookup("allocs").WriteTo(f, 0))
		check(f.Close())
	}
	check(err)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("total: cpu %.2fs, maxrss %d MiB\n", cpuTime().Seconds(), ru.Maxrss/1024)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "prof:", err)
		os.Exit(1)
	}
}

var last, lastCPU = time.Now(), cpuTime()

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// phase prints the wall and CPU time since the previous phase and the heap
// in use.
func phase(name string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cpu := cpuTime()
	fmt.Printf("%-34s wall %7.2fs  cpu %7.2fs  heap %5d MiB\n", name, time.Since(last).Seconds(), (cpu - lastCPU).Seconds(), ms.HeapAlloc>>20)
	last, lastCPU = time.Now(), cpu
}

func logs(args []string) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	inv := fs.String("inventory", "", "kubectl List of the inventory")
	out := fs.String("o", os.DevNull, "snapshot to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := accesslog.DefaultConfig()
	if *inv != "" {
		res, err := inventory.FromFile(*inv, inventory.Options{})
		if err != nil {
			return err
		}
		cfg.Inventory = snapshot.NewIndex(&res.Inventory)
		phase("inventory")
	}
	in, err := accesslog.Files(fs.Args(), os.Stdin)
	if err != nil {
		return err
	}
	res, err := accesslog.Learn(context.Background(), cfg, in)
	if err != nil {
		return err
	}
	phase(fmt.Sprintf("logs (%d edges)", len(res.Snapshot.Edges)))
	res.Snapshot.Normalize()
	phase("normalize")
	if err := snapshot.WriteFile(*out, res.Snapshot); err != nil {
		return err
	}
	phase("write snapshot")
	return nil
}

func prom(args []string) error {
	fs := flag.NewFlagSet("prometheus", flag.ContinueOnError)
	window := fs.Duration("window", 24*time.Hour, "window")
	end := fs.String("end", "", "end of the window (RFC 3339; default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("prometheus [-window D] [-end T] URL")
	}
	cfg := prometheus.DefaultConfig()
	cfg.Endpoint, cfg.Window = fs.Arg(0), *window
	if *end != "" {
		t, err := time.Parse(time.RFC3339, *end)
		if err != nil {
			return err
		}
		cfg.End = t
	}
	snap, err := prometheus.Learn(context.Background(), cfg)
	if err != nil {
		return err
	}
	phase(fmt.Sprintf("learn (%d edges)", len(snap.Edges)))
	return nil
}

func emit(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("emit SNAPSHOT OUTDIR")
	}
	snap, err := snapshot.ReadFile(args[0])
	if err != nil {
		return err
	}
	phase(fmt.Sprintf("read snapshot (%d edges)", len(snap.Edges)))
	res, err := synth.Synthesize(snap, synth.DefaultOptions())
	if err != nil {
		return err
	}
	phase("synthesize")
	files, err := render.Files(res, render.Options{Command: "prof", Comments: true})
	if err != nil {
		return err
	}
	phase(fmt.Sprintf("render (%d files)", len(files)))
	if _, err := repo.Apply(args[1], files, repo.Options{}); err != nil {
		return err
	}
	phase("write files")
	if err := render.Summary(io.Discard, res); err != nil {
		return err
	}
	phase("summary")
	return nil
}

func checkStep(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	maxCombinations := fs.Int("max-combinations", 0, "eval.CheckOptions.MaxCombinations (0: the default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	args = fs.Args()
	if len(args) != 2 {
		return fmt.Errorf("check [-max-combinations N] SNAPSHOT POLICYDIR")
	}
	snap, err := snapshot.ReadFile(args[0])
	if err != nil {
		return err
	}
	phase(fmt.Sprintf("read snapshot (%d edges)", len(snap.Edges)))
	ps, _, err := policyset.LoadDir(args[1])
	if err != nil {
		return err
	}
	phase("load policies")
	ps.RootNamespace, ps.TrustDomain = eval.DefaultRootNamespace, eval.DefaultTrustDomain
	rep := eval.Check(snap, ps, eval.CheckOptions{TrustDomain: eval.DefaultTrustDomain, MaxCombinations: *maxCombinations})
	phase(fmt.Sprintf("check (%d denied, %d undecided)", len(rep.Denied), len(rep.Undecided)))
	p := rep.Summary.Privilege
	fmt.Printf("privilege summary: %d callers × %d operations = %d combinations; %s\n", p.Callers, p.Operations, p.Combinations, cmpOr(p.Skipped, "computed"))
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func diffStep(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("diff POLICIES AGAINST SNAPSHOT")
	}
	_, objs, err := policyset.LoadDir(args[0])
	if err != nil {
		return err
	}
	_, dobjs, err := policyset.LoadDir(args[1])
	if err != nil {
		return err
	}
	phase("load policies")
	snap, err := snapshot.ReadFile(args[2])
	if err != nil {
		return err
	}
	phase(fmt.Sprintf("read snapshot (%d edges)", len(snap.Edges)))
	rep, err := diff.Compute(diff.Input{Proposed: diff.FromFiles(objs), Deployed: diff.FromFiles(dobjs), AllManaged: true,
		RootNamespace: eval.DefaultRootNamespace, Snapshot: snap, ProposedName: args[0], DeployedName: args[1], ObservationsName: args[2]})
	if err != nil {
		return err
	}
	phase("compute")
	if err := diff.Render(io.Discard, rep, diff.RenderOptions{Format: diff.FormatJSON}); err != nil {
		return err
	}
	phase("render")
	return nil
}
