package accesslog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/meshgen/meshgen/observe/accesslog/internal/loggen"
	"github.com/meshgen/meshgen/observe/snapshot"
)

// benchData returns about 32 MiB of lines in format and the matching index.
func benchData(b *testing.B, format string) ([]byte, *snapshot.Index) {
	b.Helper()
	g := loggen.New(1)
	var buf bytes.Buffer
	if _, err := g.Write(&buf, format, 32<<20); err != nil {
		b.Fatal(err)
	}
	inv := g.Inventory()
	return buf.Bytes(), snapshot.NewIndex(&inv)
}

// benchParse measures one worker parsing and folding lines: the per-core
// speed.
func benchParse(b *testing.B, format string) {
	data, idx := benchData(b, format)
	f, err := ParseFormat(FormatAuto)
	if err != nil {
		b.Fatal(err)
	}
	w := newWorker(f, idx, DefaultTrustDomain, workloadsByName(idx), -1<<63, 1<<63-1, false)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var lines int64
	cpu0 := cpuTime()
	chunkAgg := newChunkAggregator()
	for b.Loop() {
		// Chunks as the producer cuts them, merged as the merger does.
		input := newAggregator(DefaultMaxPathsPerDestination)
		for off := 0; off < len(data); {
			end := min(off+chunkSize, len(data))
			if end < len(data) {
				end = off + bytes.LastIndexByte(data[off:end], '\n') + 1
			}
			res := &chunkResult{agg: chunkAgg}
			w.chunk(data[off:end], nil, res)
			if res.malformed > 0 {
				b.Fatalf("malformed lines: %s", res.reason)
			}
			input.absorb(chunkAgg)
			chunkAgg.reset()
			lines += res.lines
			off = end
		}
	}
	reportCPU(b, cpu0, int64(len(data))*int64(b.N), lines)
}

// cpuTime is the CPU time this process used so far (all threads, with the
// garbage collector's). The machine the numbers in docs/performance.md come
// from is shared, so wall-clock MB/s depends on the neighbours; MB per CPU
// second does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, cpu0 time.Duration, bytes, lines int64) {
	cpu := (cpuTime() - cpu0).Seconds()
	if cpu <= 0 {
		return
	}
	b.ReportMetric(float64(bytes)/1e6/cpu, "MB/cpu-s")
	b.ReportMetric(float64(lines)/cpu, "lines/cpu-s")
}

func BenchmarkParseEnvoyJSON(b *testing.B)   { benchParse(b, loggen.EnvoyJSON) }
func BenchmarkParseEnvoyText(b *testing.B)   { benchParse(b, loggen.EnvoyText) }
func BenchmarkParseZtunnelText(b *testing.B) { benchParse(b, loggen.ZtunnelText) }
func BenchmarkParseZtunnelJSON(b *testing.B) { benchParse(b, loggen.ZtunnelJSON) }

// BenchmarkLearnFile measures the whole pipeline on one file, on all cores.
func BenchmarkLearnFile(b *testing.B) {
	data, idx := benchData(b, loggen.EnvoyJSON)
	path := filepath.Join(b.TempDir(), "envoy.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	in, err := Files([]string{path}, nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Inventory = idx
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	var lines int64
	for b.Loop() {
		res, err := Learn(context.Background(), cfg, in)
		if err != nil {
			b.Fatal(err)
		}
		lines += res.Inputs[0].Lines
	}
	reportCPU(b, cpu0, int64(len(data))*int64(b.N), lines)
}
