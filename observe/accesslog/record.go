package accesslog

// field names one value an access-log line can carry. Envoy operators and
// ztunnel keys map onto the same small set, so that the folding into edges
// does not care which format a line came in.
type field uint8

const (
	fIgnore field = iota
	// Envoy.
	fStartTime
	fMethod
	fPath
	fProtocol
	fResponseCode
	fResponseFlags
	fResponseCodeDetails
	fConnTermDetails
	fAuthority
	fUpstreamHost
	fUpstreamCluster
	fDownstreamLocal     // ip:port
	fDownstreamLocalIP   // without port
	fDownstreamLocalPort // port only
	fDownstreamRemote    // ip:port or ip
	fDownstreamDirect    // direct remote ip:port or ip, a fallback for fDownstreamRemote
	fSNI
	fPeerSAN
	fLocalSAN
	fUpstreamPeerSAN
	fPeerPrincipal // FILTER_STATE(io.istio.peer_principal)
	fContentType
	fRouteName
	// ztunnel.
	fTime
	fLevel
	fScope
	fMessage
	fDirection
	fSrcAddr
	fSrcWorkload
	fSrcNamespace
	fSrcIdentity
	fDstAddr
	fDstHbone
	fDstService
	fDstWorkload
	fDstNamespace
	fDstIdentity
	fError
	numFields
)

// record is one access-log line broken into fields. Values are slices of the
// line (or of the parser's scratch buffer when a value had to be unescaped)
// and are only valid until the next line.
type record struct {
	vals [numFields][]byte
	// present has bit f set when the line carried field f, even as "-" or
	// null: a format that carries the peer SAN and logs "-" says plaintext, a
	// format without it says nothing.
	present uint64
	// ts is the line's own time (START_TIME, ztunnel's timestamp) in Unix
	// nanoseconds; 0 when the line has none or it could not be read.
	ts int64
}

func (r *record) reset() {
	r.present = 0
	r.ts = 0
	// Values are only read when present; no need to clear them.
}

func (r *record) set(f field, v []byte) {
	if f == fIgnore {
		return
	}
	r.vals[f] = v
	r.present |= 1 << f
}

func (r *record) has(f field) bool { return r.present&(1<<f) != 0 }

// get returns the value of f, or nil when it is absent, empty or "-".
func (r *record) get(f field) []byte {
	if r.present&(1<<f) == 0 {
		return nil
	}
	v := r.vals[f]
	if len(v) == 1 && v[0] == '-' {
		return nil
	}
	return v
}
