package render

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/meshgen/meshgen/synth"
)

// Summary writes the human summary of a synthesis run: what was written,
// what was left out and why, warnings and notes.
func Summary(w io.Writer, r *synth.Result) error {
	bw := bufio.NewWriter(w)
	st := r.Report.Stats
	fmt.Fprintf(bw, "meshgen emit: %s read, %d used; %s; wrote %s (%s) for %s in %s; trust domain %s\n",
		plural(st.Edges, "edge"), st.EdgesIncluded, plural(st.Destinations, "destination workload"), plural(st.Policies, "object"),
		plural(st.Rules, "rule"), plural(st.Workloads, "workload"), plural(st.Namespaces, "namespace"), r.TrustDomain)
	for _, n := range r.Namespaces {
		var objs []string
		for _, p := range n.Policies {
			objs = append(objs, strings.ToLower(p.Kind())+"/"+p.Name())
		}
		fmt.Fprintf(bw, "  namespace %s: %s\n", n.Name, strings.Join(objs, ", "))
	}
	if len(r.Report.Skipped) > 0 {
		fmt.Fprintf(bw, "skipped (%d):\n", len(r.Report.Skipped))
		for _, s := range r.Report.Skipped {
			fmt.Fprintf(bw, "  %s: %s\n", skippedSubject(s), skippedReason(s))
		}
	}
	for _, group := range []struct {
		title    string
		findings []synth.Finding
	}{{"warnings", r.Report.Warnings()}, {"notes", r.Report.Notes()}} {
		if len(group.findings) == 0 {
			continue
		}
		fmt.Fprintf(bw, "%s (%d):\n", group.title, len(group.findings))
		for _, f := range group.findings {
			fmt.Fprintf(bw, "  %s[%s] %s\n", findingSubject(f), f.Code, commentSafe(f.Message))
		}
	}
	return bw.Flush()
}

func skippedSubject(s synth.Skipped) string {
	subject := s.Namespace
	if s.Workload != "" {
		subject += "/" + s.Workload
	}
	if s.Caller != "" {
		subject += " <- " + commentSafe(s.Caller)
	}
	return subject
}

func skippedReason(s synth.Skipped) string {
	reason := string(s.Reason)
	if s.Detail != "" {
		reason += " (" + commentSafe(s.Detail) + ")"
	}
	return fmt.Sprintf("%s [%s, %s]", reason, plural(s.Edges, "edge"), plural(int(s.Requests), "request"))
}

func findingSubject(f synth.Finding) string {
	switch {
	case f.Workload != "":
		return f.Namespace + "/" + f.Workload + ": "
	case f.Namespace != "":
		return f.Namespace + ": "
	}
	return ""
}

// plural renders "1 edge" or "2 edges".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
