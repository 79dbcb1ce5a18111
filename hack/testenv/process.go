package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is a server started by this package, with its output captured to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string        // path of the file holding its stdout and stderr
	done chan struct{} // closed when the process has exited
	err  error         // the result of Wait, valid after done is closed
}

// startProcess starts bin with args, writing its output to logPath. The process is killed if the
// test binary dies without stopping it (Pdeathsig), so a crashed test leaves no server behind.
func startProcess(name, bin string, args []string, logPath string) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating log file for %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Dir = filepath.Dir(logPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig to the process (by its own PID), then SIGKILL if it is still running after grace.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	if sig == syscall.SIGKILL {
		<-p.done
		return
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail returns the last lines of the process's log, for failure messages.
func (p *process) tail() string {
	return fmt.Sprintf("last lines of %s's log %s:\n%s", p.name, p.log, tailFile(p.log, 30))
}

// tailFile returns the last n lines of a file, or a note saying why it could not be read.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return tailLines(b, n)
}

func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePorts returns n distinct loopback ports that were free a moment ago. Another process can take
// one before the server binds it; callers retry startup when the server reports the port in use.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free loopback port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// addrInUse reports whether a server's log says that its port was taken.
func addrInUse(p *process) bool {
	b, _ := os.ReadFile(p.log)
	return bytes.Contains(b, []byte("address already in use"))
}

// errExited is returned by waitFor when the server ended while it was being waited for.
var errExited = errors.New("server exited")

// waitFor polls check until it succeeds, the process exits or the timeout passes. The last check
// error is included when it times out.
func waitFor(ctx context.Context, p *process, timeout time.Duration, what string, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if p != nil && p.exited() {
			return fmt.Errorf("waiting for %s: %w (%v)\n%s", what, errExited, p.err, p.tail())
		}
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		ccancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("waiting for %s: timed out after %s: last error: %v", what, timeout, last)
			if p != nil {
				msg += "\n" + p.tail()
			}
			return errors.New(msg)
		case <-tick.C:
		}
	}
}

// httpGetOK returns nil when GET url answers 200.
func httpGetOK(ctx context.Context, c *http.Client, url string, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := make([]byte, 512)
	n, _ := resp.Body.Read(body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body[:n]))
	}
	return nil
}
