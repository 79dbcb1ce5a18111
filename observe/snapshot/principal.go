package snapshot

import (
	"fmt"
	"strings"
)

// SPIFFEPrefix is the URI scheme prefix that metrics and logs carry and that
// AuthorizationPolicy principals must not.
const SPIFFEPrefix = "spiffe://"

// Principal is a parsed Istio principal "<trust-domain>/ns/<ns>/sa/<sa>".
type Principal struct {
	TrustDomain    string
	Namespace      string
	ServiceAccount string
}

// String renders the principal in AuthorizationPolicy form (no spiffe://).
func (p Principal) String() string {
	return p.TrustDomain + "/ns/" + p.Namespace + "/sa/" + p.ServiceAccount
}

// ParsePrincipal parses a principal with or without the spiffe:// prefix. It
// rejects "unknown", empty values, wildcards and anything not of the form
// <trust-domain>/ns/<ns>/sa/<sa> with non-empty parts.
func ParsePrincipal(s string) (Principal, error) {
	raw := s
	s = strings.TrimPrefix(s, SPIFFEPrefix)
	if s == "" || s == "unknown" {
		return Principal{}, fmt.Errorf("principal %q is not an identity", raw)
	}
	if strings.ContainsAny(s, "* \t\r\n\"") {
		return Principal{}, fmt.Errorf("principal %q contains a wildcard, space or quote", raw)
	}
	parts := strings.Split(s, "/")
	if len(parts) != 5 || parts[1] != "ns" || parts[3] != "sa" || parts[0] == "" || parts[2] == "" || parts[4] == "" {
		return Principal{}, fmt.Errorf("principal %q is not of the form <trust-domain>/ns/<namespace>/sa/<service-account>", raw)
	}
	return Principal{TrustDomain: parts[0], Namespace: parts[2], ServiceAccount: parts[4]}, nil
}

// NormalizePrincipal returns the AuthorizationPolicy form of a principal from
// a metric label or log field, or "" when the value is not a usable identity
// ("unknown", "-", empty, malformed).
func NormalizePrincipal(s string) string {
	p, err := ParsePrincipal(s)
	if err != nil {
		return ""
	}
	return p.String()
}

// ValidTrustDomain accepts a trust domain as principals carry it: not empty,
// without spiffe://, slashes, wildcards, spaces or quotes.
func ValidTrustDomain(td string) error {
	if td == "" || strings.ContainsAny(td, "/* \t\r\n\"'") || strings.HasPrefix(td, "spiffe:") {
		return fmt.Errorf("%q is not a trust domain (write it without spiffe://, slashes or wildcards)", td)
	}
	return nil
}
