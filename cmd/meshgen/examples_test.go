package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"
)

const examplesDir = "../../examples"

// invocation is one `meshgen <command> <flags>` found in an example.
type invocation struct {
	where   string
	command string
	flags   []string // as written, without values: "--out", "-o"
}

// meshgenInvocations finds the meshgen commands in shell text: line
// continuations are joined, and a command ends at a shell operator.
func meshgenInvocations(where, script string) []invocation {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []invocation
	for _, line := range strings.Split(script, "\n") {
		fields := strings.Fields(line)
		for i := 0; i < len(fields); i++ {
			if fields[i] != "meshgen" || i+1 >= len(fields) || strings.HasPrefix(fields[i+1], "-") {
				continue
			}
			inv := invocation{where: where, command: fields[i+1]}
			for _, f := range fields[i+2:] {
				if slices.Contains([]string{"|", "||", "&&", ";", ">", ">>", "2>&1", ")"}, f) || strings.HasPrefix(f, ">") {
					break
				}
				f = strings.Trim(f, `"'`)
				if strings.HasPrefix(f, "-") && f != "-" {
					name, _, _ := strings.Cut(f, "=")
					inv.flags = append(inv.flags, name)
				}
			}
			out = append(out, inv)
		}
	}
	return out
}

// checkInvocations checks that each command and flag exists in meshgen's
// command tree (what `meshgen <command> --help` lists).
func checkInvocations(t *testing.T, invs []invocation) {
	t.Helper()
	root := newRootCmd(streams{})
	for _, inv := range invs {
		var cmd *cobra.Command
		for _, c := range root.Commands() {
			if c.Name() == inv.command {
				cmd = c
			}
		}
		if cmd == nil {
			t.Errorf("%s: meshgen has no command %q", inv.where, inv.command)
			continue
		}
		for _, f := range inv.flags {
			var ok bool
			if name, long := strings.CutPrefix(f, "--"); long {
				ok = cmd.Flags().Lookup(name) != nil
			} else {
				ok = len(f) == 2 && cmd.Flags().ShorthandLookup(f[1:]) != nil
			}
			if !ok {
				t.Errorf("%s: meshgen %s has no flag %s", inv.where, inv.command, f)
			}
		}
	}
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
	return m
}

func commandsOf(invs []invocation) []string {
	var out []string
	for _, inv := range invs {
		if !slices.Contains(out, inv.command) {
			out = append(out, inv.command)
		}
	}
	slices.Sort(out)
	return out
}

func TestGitHubActionsExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "github-actions", "*.yml"))
	if len(files) != 2 {
		t.Fatalf("found %d workflows, want the bot and the gate: %v", len(files), files)
	}
	wantCommands := map[string][]string{
		"meshgen-propose.yml": {"check", "diff", "emit", "learn"},
		"meshgen-gate.yml":    {"check", "diff", "learn"},
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			wf := readYAML(t, f)
			if _, ok := wf["on"].(map[string]any); !ok {
				t.Errorf("no triggers (on:)")
			}
			jobs, _ := wf["jobs"].(map[string]any)
			if len(jobs) == 0 {
				t.Fatal("no jobs")
			}
			var invs []invocation
			for name, j := range jobs {
				job, _ := j.(map[string]any)
				steps, _ := job["steps"].([]any)
				if len(steps) == 0 || job["runs-on"] == nil {
					t.Errorf("job %s has no steps or no runs-on", name)
				}
				for i, s := range steps {
					step, _ := s.(map[string]any)
					run, hasRun := step["run"].(string)
					if _, hasUses := step["uses"].(string); hasRun == hasUses {
						t.Errorf("job %s step %d: want exactly one of run and uses: %v", name, i, step)
					}
					invs = append(invs, meshgenInvocations(filepath.Base(f)+" job "+name, run)...)
				}
			}
			if got, want := commandsOf(invs), wantCommands[filepath.Base(f)]; !slices.Equal(got, want) {
				t.Errorf("meshgen commands = %v, want %v", got, want)
			}
			checkInvocations(t, invs)
		})
	}
}

func TestGitLabCIExample(t *testing.T) {
	path := filepath.Join(examplesDir, "gitlab-ci", "meshgen.gitlab-ci.yml")
	ci := readYAML(t, path)
	var invs []invocation
	jobs := 0
	for name, v := range ci {
		job, ok := v.(map[string]any)
		if !ok || name == "variables" {
			continue
		}
		if !strings.HasPrefix(name, ".") {
			jobs++
			if job["script"] == nil || job["rules"] == nil {
				t.Errorf("job %s has no script or no rules", name)
			}
		}
		for _, key := range []string{"before_script", "script"} {
			lines, _ := job[key].([]any)
			for _, l := range lines {
				s, ok := l.(string)
				if !ok {
					t.Errorf("job %s %s: %v is not a string", name, key, l)
				}
				invs = append(invs, meshgenInvocations(name, s)...)
			}
		}
	}
	if jobs != 2 {
		t.Errorf("%d jobs, want the bot and the gate", jobs)
	}
	if got, want := commandsOf(invs), []string{"check", "diff", "emit", "learn"}; !slices.Equal(got, want) {
		t.Errorf("meshgen commands = %v, want %v", got, want)
	}
	checkInvocations(t, invs)
}

// TestKubernetesCronJobArgs checks the CronJob's meshgen command line.
func TestKubernetesCronJobArgs(t *testing.T) {
	cj := readYAML(t, filepath.Join(examplesDir, "kubernetes", "cronjob.yaml"))
	var args []string
	// spec.jobTemplate.spec.template.spec.containers[0].args
	c := dig(t, cj, "spec", "jobTemplate", "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	for _, a := range c["args"].([]any) {
		args = append(args, a.(string))
	}
	checkInvocations(t, meshgenInvocations("cronjob.yaml", "meshgen "+strings.Join(args, " ")))
	if !slices.Contains(args, "--cluster") || args[0] != "learn" {
		t.Errorf("CronJob args = %v, want learn --cluster ...", args)
	}
}

func dig(t *testing.T, m map[string]any, keys ...string) any {
	t.Helper()
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not a mapping", k)
		}
		v = mm[k]
	}
	return v
}

func TestMeshgenInvocations(t *testing.T) {
	got := meshgenInvocations("x", "set +e\nmeshgen diff --policies p/ --cluster \\\n  -o markdown > out.md\ngo install github.com/meshgen/meshgen/cmd/meshgen@v1 && meshgen emit --out=x | tee y --bogus")
	want := []invocation{
		{where: "x", command: "diff", flags: []string{"--policies", "--cluster", "-o"}},
		{where: "x", command: "emit", flags: []string{"--out"}},
	}
	if !slices.EqualFunc(got, want, func(a, b invocation) bool {
		return a.command == b.command && slices.Equal(a.flags, b.flags)
	}) {
		t.Errorf("meshgenInvocations = %+v, want %+v", got, want)
	}
}
