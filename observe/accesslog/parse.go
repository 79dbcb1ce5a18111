package accesslog

import (
	"bytes"
	"unicode/utf8"
)

// lineKind is what a line turned out to be.
type lineKind uint8

const (
	lineEmpty lineKind = iota
	// lineSkip: output that is not an access-log record (another ztunnel log
	// target, Envoy's or istio-agent's own messages, ztunnel's "connection
	// opened" debug line).
	lineSkip
	lineMalformed
	lineEnvoy
	lineZtunnel
)

// mode is how a parser reads lines.
type mode uint8

const (
	modeAuto mode = iota
	modeZtunnelText
	modeZtunnelJSON
	modeEnvoyText
	modeEnvoyJSON
)

// parser turns one line into a record. It is owned by one worker.
type parser struct {
	mode mode
	text *textFormat
	json *keyTable
	// scratch holds unescaped values of the current line.
	scratch []byte
	// reason says why the last line was malformed.
	reason string
}

func newParser(f *Format) *parser {
	p := &parser{mode: f.mode, text: f.text, json: f.json}
	if p.text == nil {
		p.text = builtinText
	}
	if p.json == nil {
		if p.mode == modeZtunnelJSON {
			p.json = ztunnelJSON
		} else {
			p.json = builtinJSON
		}
	}
	return p
}

func (p *parser) malformed(reason string) lineKind {
	p.reason = reason
	return lineMalformed
}

// parse reads one line, from which the kubectl prefixes are already gone.
func (p *parser) parse(line []byte, r *record) lineKind {
	r.reset()
	p.scratch = p.scratch[:0]
	if len(line) == 0 {
		return lineEmpty
	}
	switch p.mode {
	case modeAuto:
		switch c := line[0]; {
		case c == '{':
			return p.parseJSON(line, r, true, true)
		case c == '[':
			if isEnvoyNative(line) {
				return lineSkip
			}
			if p.text.parse(line, r) {
				return lineEnvoy
			}
			return p.malformed("not an Envoy access-log line in Istio's format")
		case c >= '0' && c <= '9':
			return p.parseZtunnelText(line, r)
		}
		return p.notAccess(line, "not an access-log line of a known format")
	case modeZtunnelText:
		if line[0] >= '0' && line[0] <= '9' {
			return p.parseZtunnelText(line, r)
		}
		return p.notAccess(line, "not a ztunnel access-log line")
	case modeZtunnelJSON:
		if line[0] == '{' {
			return p.parseJSON(line, r, true, false)
		}
		return p.notAccess(line, "not a ztunnel JSON access-log line")
	case modeEnvoyText:
		if p.text.parse(line, r) {
			return lineEnvoy
		}
		return p.notAccess(line, "does not match the Envoy log format")
	case modeEnvoyJSON:
		if line[0] == '{' {
			return p.parseJSON(line, r, false, true)
		}
		return p.notAccess(line, "not an Envoy JSON access-log line")
	}
	return p.malformed("unknown format")
}

// notAccess decides whether a line the format did not read is other log
// output of the same containers (skipped) or damage (malformed).
func (p *parser) notAccess(line []byte, reason string) lineKind {
	switch {
	case line[0] == '[' && isEnvoyNative(line):
		return lineSkip
	case line[0] >= '0' && line[0] <= '9':
		if _, _, ok := istioHeader(line); ok {
			return lineSkip
		}
	case line[0] == '{':
		var r record
		var scratch []byte
		if scanJSON(line, ztunnelJSON, &r, &scratch) == nil && r.has(fScope) && r.has(fLevel) {
			return lineSkip
		}
	}
	return p.malformed(reason)
}

// isEnvoyNative reports whether line is Envoy's own log format,
// "[2024-05-04 09:59:05.028][15][warning][config] ...".
func isEnvoyNative(line []byte) bool {
	return len(line) > 12 && line[11] == ' ' && line[5] == '-' && line[8] == '-' && line[1] >= '0' && line[1] <= '9'
}

func (p *parser) parseJSON(line []byte, r *record, ztunnel, envoy bool) lineKind {
	if err := scanJSON(line, p.json, r, &p.scratch); err != nil {
		return p.malformed("not a valid JSON object")
	}
	if r.has(fScope) {
		if !ztunnel {
			return lineSkip
		}
		if string(r.get(fScope)) != "access" {
			return lineSkip
		}
		return p.ztunnelMessage(r)
	}
	if r.has(fSrcAddr) && r.has(fDirection) && ztunnel {
		// A ztunnel access line without the scope key (not written by any
		// release we know, but unambiguous).
		return p.ztunnelMessage(r)
	}
	if envoy && r.present&envoyFields != 0 {
		if v := r.get(fStartTime); v != nil {
			if ts, _, ok := parseTime(v); ok {
				r.ts = ts
			}
		}
		return lineEnvoy
	}
	if r.has(fLevel) {
		return lineSkip
	}
	return p.malformed("a JSON object without access-log fields")
}

const envoyFields = 1<<fMethod | 1<<fPath | 1<<fUpstreamCluster | 1<<fUpstreamHost | 1<<fDownstreamLocal |
	1<<fDownstreamRemote | 1<<fResponseCode | 1<<fDownstreamLocalIP | 1<<fPeerSAN

// ztunnelMessage keeps "connection complete" and "connection failed" lines
// and skips the rest of ztunnel's access target ("connection opened" is
// logged at debug level and would count a connection twice).
func (p *parser) ztunnelMessage(r *record) lineKind {
	switch string(r.get(fMessage)) {
	case "connection complete", "connection failed":
	default:
		return lineSkip
	}
	if t := r.get(fTime); t != nil {
		if ts, _, ok := parseTime(t); ok {
			r.ts = ts
		}
	}
	if !r.has(fDirection) || (!r.has(fSrcAddr) && !r.has(fDstAddr)) {
		return p.malformed("a ztunnel access line without direction or addresses")
	}
	return lineZtunnel
}

// istioHeader reads the "<timestamp> <level> <scope> " header that ztunnel
// and the Istio agents write, separated by tabs (or runs of spaces, as in
// copies from documentation). It returns the timestamp, the rest of the
// line after the scope, and whether the header was there.
func istioHeader(line []byte) (ts int64, rest []byte, ok bool) {
	ts, n, ok := parseTime(line)
	if !ok || n >= len(line) || (line[n] != '\t' && line[n] != ' ') {
		return 0, nil, false
	}
	rest = skipBlank(line[n:])
	lvl := token(rest)
	if !isLevel(lvl) {
		return 0, nil, false
	}
	rest = skipBlank(rest[len(lvl):])
	return ts, rest, true
}

// parseZtunnelText reads ztunnel's plain format:
// "<ts>\t<level>\taccess\t<message>\t<key=value ...>". String values are
// quoted with Rust's escapes; addresses and numbers are not.
func (p *parser) parseZtunnelText(line []byte, r *record) lineKind {
	ts, rest, ok := istioHeader(line)
	if !ok {
		return p.malformed("not an access-log line of a known format")
	}
	scope := token(rest)
	if string(scope) != "access" {
		return lineSkip
	}
	rest = skipBlank(rest[len(scope):])
	// The message ends at a tab; copies with the tabs turned into spaces
	// are read by the known messages.
	var msg []byte
	if i := bytes.IndexByte(rest, '\t'); i >= 0 {
		msg, rest = rest[:i], rest[i+1:]
	} else {
		for _, m := range ztunnelMessages {
			if bytes.HasPrefix(rest, m) {
				msg, rest = rest[:len(m)], rest[len(m):]
				break
			}
		}
		if msg == nil {
			return lineSkip
		}
	}
	r.set(fMessage, bytes.TrimRight(msg, " "))
	r.set(fScope, scope)
	fast := bytes.IndexByte(rest, '\\') < 0
	for {
		rest = skipBlank(rest)
		if len(rest) == 0 {
			break
		}
		eq := bytes.IndexByte(rest, '=')
		if eq <= 0 {
			return p.malformed("a ztunnel field without '='")
		}
		key := rest[:eq]
		if bytes.IndexByte(key, ' ') >= 0 || bytes.IndexByte(key, '\t') >= 0 {
			return p.malformed("a ztunnel field without '='")
		}
		v := rest[eq+1:]
		var val []byte
		if len(v) > 0 && v[0] == '"' {
			var end int
			var esc bool
			if fast {
				end = findQuoteFast(v, 1)
			} else {
				end, esc = findQuote(v, 1)
			}
			if end < 0 {
				return p.malformed("an unterminated quoted ztunnel value")
			}
			val = v[1:end]
			rest = v[end+1:]
			if esc {
				var ok bool
				if val, ok = unescapeRust(val, &p.scratch); !ok {
					return p.malformed("an invalid escape in a ztunnel value")
				}
			}
		} else {
			end := 0
			for end < len(v) && v[end] != ' ' && v[end] != '\t' {
				end++
			}
			val, rest = v[:end], v[end:]
		}
		r.set(ztunnelKey(key), val)
	}
	r.ts = ts
	return p.ztunnelMessage(r)
}

var ztunnelMessages = [][]byte{[]byte("connection complete"), []byte("connection failed"), []byte("connection opened")}

func ztunnelKey(k []byte) field {
	switch string(k) {
	case "src.addr":
		return fSrcAddr
	case "src.workload":
		return fSrcWorkload
	case "src.namespace":
		return fSrcNamespace
	case "src.identity":
		return fSrcIdentity
	case "dst.addr":
		return fDstAddr
	case "dst.hbone_addr":
		return fDstHbone
	case "dst.service":
		return fDstService
	case "dst.workload":
		return fDstWorkload
	case "dst.namespace":
		return fDstNamespace
	case "dst.identity":
		return fDstIdentity
	case "direction":
		return fDirection
	case "error":
		return fError
	}
	return fIgnore
}

// unescapeRust decodes the escapes of Rust's Debug format for strings:
// \" \\ \' \n \r \t \0 and \u{X...}.
func unescapeRust(s []byte, scratch *[]byte) ([]byte, bool) {
	start := len(*scratch)
	out := *scratch
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, false
		}
		switch s[i] {
		case '"', '\\', '\'':
			out = append(out, s[i])
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case '0':
			out = append(out, 0)
		case 'u':
			if i+1 >= len(s) || s[i+1] != '{' {
				return nil, false
			}
			end := bytes.IndexByte(s[i:], '}')
			if end < 0 || end > 9 {
				return nil, false
			}
			var r rune
			for _, h := range s[i+2 : i+end] {
				switch {
				case h >= '0' && h <= '9':
					r = r<<4 | rune(h-'0')
				case h >= 'a' && h <= 'f':
					r = r<<4 | rune(h-'a'+10)
				case h >= 'A' && h <= 'F':
					r = r<<4 | rune(h-'A'+10)
				default:
					return nil, false
				}
			}
			if !utf8.ValidRune(r) {
				return nil, false
			}
			out = utf8.AppendRune(out, r)
			i += end
		default:
			return nil, false
		}
	}
	*scratch = out
	return out[start:], true
}

func skipBlank(b []byte) []byte {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return b[i:]
}

func token(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] != ' ' && b[i] != '\t' {
		i++
	}
	return b[:i]
}

func isLevel(b []byte) bool {
	switch string(b) {
	case "info", "warn", "warning", "error", "debug", "trace", "fatal", "critical",
		"INFO", "WARN", "WARNING", "ERROR", "DEBUG", "TRACE", "FATAL", "CRITICAL":
		return true
	}
	return false
}

// linePrefix is what kubectl put in front of a line.
type linePrefix struct {
	pod, container []byte
	// ts is the `kubectl logs --timestamps` time in Unix nanoseconds, or 0.
	ts int64
}

var podPrefix = []byte("[pod/")

// stripKubectl removes the prefixes that `kubectl logs --prefix`
// ("[pod/NAME/CONTAINER] ") and `kubectl logs --timestamps` (an RFC 3339
// timestamp and a space) put in front of a line, in either order. A leading
// timestamp followed by a log level is the line's own (ztunnel, Istio agent)
// and is kept.
func stripKubectl(line []byte) ([]byte, linePrefix) {
	var p linePrefix
	for range 2 {
		if len(line) > len(podPrefix) && line[0] == '[' && bytes.HasPrefix(line, podPrefix) {
			end := bytes.IndexByte(line, ']')
			if end < 0 {
				break
			}
			inner := line[len(podPrefix):end]
			if i := bytes.IndexByte(inner, '/'); i >= 0 {
				p.pod, p.container = inner[:i], inner[i+1:]
			} else {
				p.pod = inner
			}
			line = line[end+1:]
			if len(line) > 0 && line[0] == ' ' {
				line = line[1:]
			}
			continue
		}
		if len(line) > 20 && line[0] >= '0' && line[0] <= '9' && line[4] == '-' {
			ts, n, ok := parseTime(line)
			if ok && n < len(line) && line[n] == ' ' {
				after := skipBlank(line[n:])
				if !isLevel(token(after)) {
					p.ts = ts
					line = line[n+1:]
					continue
				}
			}
		}
		break
	}
	return line, p
}
