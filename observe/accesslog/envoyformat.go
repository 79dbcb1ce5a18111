package accesslog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// IstioTextFormat is Istio's default Envoy TEXT access-log format (Istio
// 1.24 and later; earlier releases log %UPSTREAM_CLUSTER% in place of
// %UPSTREAM_CLUSTER_RAW%, which reads the same).
const IstioTextFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
	`%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ` +
	`"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
	`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ` +
	`"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% ` +
	`%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%`

// RecommendedFormat is the Envoy TEXT format meshgen recommends: Istio's
// default with four fields appended, so that every tool that reads the
// default still reads it. The peer's certificate identity
// (%DOWNSTREAM_PEER_URI_SAN%; "-" when the caller sent none) makes the caller
// certain instead of inferred from its address, the server's own identity
// (%DOWNSTREAM_LOCAL_URI_SAN%) names the destination, the content type tells
// gRPC from HTTP, and the peer principal that Istio keeps in filter state is
// the caller's identity at a waypoint. meshgen reads lines in this format
// without --log-format.
const RecommendedFormat = IstioTextFormat +
	` "%DOWNSTREAM_PEER_URI_SAN%" "%DOWNSTREAM_LOCAL_URI_SAN%" "%REQ(CONTENT-TYPE)%" "%FILTER_STATE(io.istio.peer_principal:PLAIN)%"`

// RecommendedJSONFormat is the JSON counterpart of RecommendedFormat: the
// keys of Istio's default JSON encoding plus the same four fields.
const RecommendedJSONFormat = `{` +
	`"start_time":"%START_TIME%","route_name":"%ROUTE_NAME%","method":"%REQ(:METHOD)%",` +
	`"path":"%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%","protocol":"%PROTOCOL%","response_code":"%RESPONSE_CODE%",` +
	`"response_flags":"%RESPONSE_FLAGS%","response_code_details":"%RESPONSE_CODE_DETAILS%",` +
	`"connection_termination_details":"%CONNECTION_TERMINATION_DETAILS%","bytes_received":"%BYTES_RECEIVED%",` +
	`"bytes_sent":"%BYTES_SENT%","duration":"%DURATION%","upstream_service_time":"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",` +
	`"x_forwarded_for":"%REQ(X-FORWARDED-FOR)%","user_agent":"%REQ(USER-AGENT)%","request_id":"%REQ(X-REQUEST-ID)%",` +
	`"authority":"%REQ(:AUTHORITY)%","upstream_host":"%UPSTREAM_HOST%","upstream_cluster":"%UPSTREAM_CLUSTER_RAW%",` +
	`"upstream_local_address":"%UPSTREAM_LOCAL_ADDRESS%","downstream_local_address":"%DOWNSTREAM_LOCAL_ADDRESS%",` +
	`"downstream_remote_address":"%DOWNSTREAM_REMOTE_ADDRESS%","requested_server_name":"%REQUESTED_SERVER_NAME%",` +
	`"upstream_transport_failure_reason":"%UPSTREAM_TRANSPORT_FAILURE_REASON%",` +
	`"downstream_peer_uri_san":"%DOWNSTREAM_PEER_URI_SAN%","downstream_local_uri_san":"%DOWNSTREAM_LOCAL_URI_SAN%",` +
	`"content_type":"%REQ(CONTENT-TYPE)%","peer_principal":"%FILTER_STATE(io.istio.peer_principal:PLAIN)%"}`

// operatorField maps an Envoy command operator (name and argument, as in
// %NAME(ARG)%) to the field it fills, or fIgnore.
func operatorField(name, arg string) field {
	switch name {
	case "START_TIME":
		return fStartTime
	case "PROTOCOL":
		return fProtocol
	case "RESPONSE_CODE":
		return fResponseCode
	case "RESPONSE_FLAGS", "RESPONSE_FLAGS_LONG":
		return fResponseFlags
	case "RESPONSE_CODE_DETAILS":
		return fResponseCodeDetails
	case "CONNECTION_TERMINATION_DETAILS":
		return fConnTermDetails
	case "UPSTREAM_HOST", "UPSTREAM_REMOTE_ADDRESS":
		return fUpstreamHost
	case "UPSTREAM_CLUSTER", "UPSTREAM_CLUSTER_RAW":
		return fUpstreamCluster
	case "DOWNSTREAM_LOCAL_ADDRESS":
		return fDownstreamLocal
	case "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT":
		return fDownstreamLocalIP
	case "DOWNSTREAM_LOCAL_PORT":
		return fDownstreamLocalPort
	case "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
		return fDownstreamRemote
	case "DOWNSTREAM_DIRECT_REMOTE_ADDRESS", "DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT":
		return fDownstreamDirect
	case "REQUESTED_SERVER_NAME":
		return fSNI
	case "DOWNSTREAM_PEER_URI_SAN":
		return fPeerSAN
	case "DOWNSTREAM_LOCAL_URI_SAN":
		return fLocalSAN
	case "UPSTREAM_PEER_URI_SAN":
		return fUpstreamPeerSAN
	case "ROUTE_NAME":
		return fRouteName
	case "PATH":
		// Envoy's %PATH% operator (1.28+), with or without arguments.
		return fPath
	case "FILTER_STATE":
		key, _, _ := strings.Cut(arg, ":")
		if key == "io.istio.peer_principal" {
			return fPeerPrincipal
		}
	case "REQ", "REQ_WITHOUT_QUERY":
		// Header names are case-insensitive; "X?Y" falls back from X to Y.
		h := strings.ToUpper(arg)
		for _, name := range strings.Split(h, "?") {
			switch name {
			case ":METHOD":
				return fMethod
			case ":PATH", "X-ENVOY-ORIGINAL-PATH":
				return fPath
			case ":AUTHORITY", "HOST":
				return fAuthority
			case "CONTENT-TYPE":
				return fContentType
			}
		}
	}
	return fIgnore
}

// textFormat is an Envoy format string compiled into literal separators and
// operators. A line is read left to right: each operator's value runs up to
// the next occurrence of the literal that follows it.
type textFormat struct {
	src  string
	lead []byte
	segs []textSeg
	// carries has bit f set when the format has an operator for field f.
	carries uint64
}

type textSeg struct {
	f     field
	after []byte
	// optionalTail: when after is not found, the value runs to the end of
	// the line and the later operators are absent from this line. The
	// built-in Istio format uses it to read both the default format and
	// RecommendedFormat, which appends fields to it.
	optionalTail bool
}

type formatError struct{ msg string }

func (e *formatError) Error() string { return e.msg }

// compileText compiles an Envoy format string. A trailing newline (a real
// one or the two characters `\n` as written in YAML and on command lines) is
// dropped. Operators meshgen does not use are kept as placeholders, so that
// the literals around them still separate the fields.
func compileText(src string) (*textFormat, error) {
	s := strings.TrimRight(src, "\r\n")
	s = strings.TrimSuffix(s, `\n`)
	f := &textFormat{src: src}
	var lit []byte
	prevOp := ""
	known := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			lit = append(lit, c)
			i++
			continue
		}
		name, arg, n, err := readOperator(s[i:])
		if err != nil {
			return nil, &formatError{fmt.Sprintf("log format %q: at byte %d: %v", src, i, err)}
		}
		if name == "" { // "%%" is a literal percent sign
			lit = append(lit, '%')
			i += n
			continue
		}
		op := s[i : i+n]
		if len(f.segs) == 0 && prevOp == "" {
			f.lead = lit
		} else {
			if len(lit) == 0 {
				return nil, &formatError{fmt.Sprintf(
					"log format %q: operators %s and %s follow each other with nothing between them, so a line cannot be split between them",
					src, prevOp, op)}
			}
			f.segs[len(f.segs)-1].after = lit
		}
		lit = nil
		fl := operatorField(name, arg)
		if fl != fIgnore {
			known++
			f.carries |= 1 << fl
		}
		f.segs = append(f.segs, textSeg{f: fl})
		prevOp = op
		i += n
	}
	if len(f.segs) == 0 {
		return nil, &formatError{fmt.Sprintf("log format %q has no %%OPERATOR%%", src)}
	}
	f.segs[len(f.segs)-1].after = lit
	if known == 0 {
		return nil, &formatError{fmt.Sprintf("log format %q has no operator that meshgen reads (such as %%REQ(:METHOD)%% or %%UPSTREAM_CLUSTER_RAW%%)", src)}
	}
	if f.carries&(1<<fUpstreamCluster|1<<fDownstreamLocal|1<<fDownstreamLocalIP|1<<fDownstreamRemote|1<<fPeerSAN|1<<fLocalSAN|1<<fUpstreamHost) == 0 {
		return nil, &formatError{fmt.Sprintf(
			"log format %q names neither end of the connection: it needs at least one of %%UPSTREAM_CLUSTER_RAW%%, %%UPSTREAM_HOST%%, %%DOWNSTREAM_LOCAL_ADDRESS%%, %%DOWNSTREAM_REMOTE_ADDRESS%% or %%DOWNSTREAM_PEER_URI_SAN%%", src)}
	}
	return f, nil
}

// readOperator reads "%NAME%", "%NAME(ARG)%" or "%NAME(ARG):LEN%" at the
// start of s and returns its name, argument and length. "%%" returns an empty
// name.
func readOperator(s string) (name, arg string, n int, err error) {
	if len(s) >= 2 && s[1] == '%' {
		return "", "", 2, nil
	}
	i := 1
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
		i++
	}
	name = s[1:i]
	if name == "" {
		return "", "", 0, fmt.Errorf("%q does not start an operator (write %%%% for a literal %%)", truncate(s, 20))
	}
	if i < len(s) && s[i] == '(' {
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return "", "", 0, fmt.Errorf("operator %s has an unclosed '('", name)
		}
		arg = s[i+1 : i+end]
		i += end + 1
		if i < len(s) && s[i] == ':' {
			i++
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
		}
	}
	if i >= len(s) || s[i] != '%' {
		return "", "", 0, fmt.Errorf("operator %s is not closed by '%%'", name)
	}
	return name, arg, i + 1, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// parse reads line into r. It returns false when the line does not have the
// format's shape.
func (f *textFormat) parse(line []byte, r *record) bool {
	if !bytes.HasPrefix(line, f.lead) {
		return false
	}
	pos := len(f.lead)
	last := len(f.segs) - 1
	for i := range f.segs {
		s := &f.segs[i]
		rest := line[pos:]
		if i == last {
			if !bytes.HasSuffix(rest, s.after) {
				return false
			}
			r.set(s.f, rest[:len(rest)-len(s.after)])
			return true
		}
		var j int
		if len(s.after) == 1 {
			j = bytes.IndexByte(rest, s.after[0])
		} else {
			j = bytes.Index(rest, s.after)
		}
		if j < 0 {
			if s.optionalTail {
				r.set(s.f, rest)
				return true
			}
			return false
		}
		r.set(s.f, rest[:j])
		pos += j + len(s.after)
	}
	return true
}

// builtinText is Istio's default text format, also reading the fields that
// RecommendedFormat appends.
var builtinText = func() *textFormat {
	f, err := compileText(RecommendedFormat)
	if err != nil {
		panic(err)
	}
	for i := range f.segs {
		if f.segs[i].f == fRouteName {
			f.segs[i].optionalTail = true
		}
	}
	return f
}()

// compileJSON compiles a JSON Envoy format (an object whose values are
// command operators) into a key table. Values that are not exactly one
// operator, and nested objects, are ignored.
func compileJSON(src string) (*keyTable, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(src), &m); err != nil {
		return nil, &formatError{fmt.Sprintf("JSON log format is not a JSON object: %v", err)}
	}
	t := newKeyTable()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	known := 0
	for _, k := range keys {
		v, ok := m[k].(string)
		if !ok {
			continue
		}
		name, arg, n, err := readOperator(v)
		if err != nil || !strings.HasPrefix(v, "%") || n != len(v) || name == "" {
			continue
		}
		if f := operatorField(name, arg); f != fIgnore {
			t.add(k, f)
			known++
		}
	}
	if known == 0 {
		return nil, &formatError{fmt.Sprintf("JSON log format %s has no key whose value is an operator meshgen reads (such as \"%%REQ(:METHOD)%%\")", truncate(src, 80))}
	}
	addZtunnelKeys(t)
	return t, nil
}

// addZtunnelKeys adds ztunnel's JSON keys and the keys that mark other
// components' JSON log lines, so that one scan tells them apart.
func addZtunnelKeys(t *keyTable) {
	for k, f := range map[string]field{
		"time": fTime, "timestamp": fTime, "level": fLevel, "scope": fScope, "target": fScope,
		"message": fMessage, "msg": fMessage, "direction": fDirection, "error": fError,
		"src.addr": fSrcAddr, "src.workload": fSrcWorkload, "src.namespace": fSrcNamespace, "src.identity": fSrcIdentity,
		"dst.addr": fDstAddr, "dst.hbone_addr": fDstHbone, "dst.service": fDstService, "dst.workload": fDstWorkload,
		"dst.namespace": fDstNamespace, "dst.identity": fDstIdentity,
	} {
		if t.lookup([]byte(k)) == fIgnore {
			t.add(k, f)
		}
	}
}

// builtinJSON reads Istio's default JSON keys, RecommendedJSONFormat's extra
// keys, and ztunnel's JSON keys.
var builtinJSON = func() *keyTable {
	t, err := compileJSON(RecommendedJSONFormat)
	if err != nil {
		panic(err)
	}
	return t
}()

// ztunnelJSON reads only ztunnel's keys.
var ztunnelJSON = func() *keyTable {
	t := newKeyTable()
	addZtunnelKeys(t)
	return t
}()
