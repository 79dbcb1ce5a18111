package paths

import "strings"

// Identifier classes: a segment in one of them is replaced by {*} wherever it appears (below the first
// segment), even when seen once, because tomorrow's requests will carry other values.
const (
	classDecimal  = "decimal"    // 42, 20261127
	classDate     = "date"       // 2026-11-27, 2026-11-27T10:00:00Z
	classUUID     = "uuid"       // 123e4567-e89b-12d3-a456-426614174000
	classHex      = "hex"        // 5f2b9c0e1a7d (8+ chars with a digit and a letter, or 16+ chars)
	classToken    = "token"      // ULID, KSUID, base64/base62 ids: 16+ chars that are not word-like
	classPrefixed = "prefixed"   // cus_NffrFeUfNV2Hib, order-12345: a short word, '-' or '_', an identifier
	classWithExt  = "+extension" // suffix added to a class when the id carries a file extension: 12345.json
)

// classify returns the identifier class of seg, or "" when seg looks like a route name.
func classify(seg string) string {
	if c := classifyBare(seg); c != "" {
		return c
	}
	// <id>.<ext>, with a short alphanumeric extension: the whole segment becomes {*}.
	if i := strings.LastIndexByte(seg, '.'); i > 0 && len(seg)-i-1 >= 1 && len(seg)-i-1 <= 5 && isAlnum(seg[i+1:]) {
		if c := classifyBare(seg[:i]); c != "" {
			return c + classWithExt
		}
	}
	return ""
}

func classifyBare(s string) string {
	switch {
	case s == "":
		return ""
	case isDate(s):
		return classDate
	case isDigits(s):
		return classDecimal
	case isUUID(s):
		return classUUID
	case isHexID(s):
		return classHex
	case isPrefixedID(s):
		return classPrefixed
	case isToken(s):
		return classToken
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isDate accepts YYYY-MM-DD and YYYYMMDD with a plausible year (1900-2199), month and day, optionally
// followed (dashed form only) by 'T' and a time of digits, ':', '.', '+', '-' and 'Z'.
func isDate(s string) bool {
	var y, m, d string
	rest := ""
	switch {
	case len(s) == 8 && isDigits(s):
		y, m, d = s[:4], s[4:6], s[6:]
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		y, m, d, rest = s[:4], s[5:7], s[8:10], s[10:]
	default:
		return false
	}
	if !isDigits(y) || !isDigits(m) || !isDigits(d) || y < "1900" || y > "2199" ||
		m < "01" || m > "12" || d < "01" || d > "31" {
		return false
	}
	if rest == "" {
		return true
	}
	if rest[0] != 'T' || len(rest) < 3 {
		return false
	}
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		if !('0' <= c && c <= '9' || c == ':' || c == '.' || c == '+' || c == '-' || c == 'Z') {
			return false
		}
	}
	return true
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHexDigit(s[i]) {
				return false
			}
		}
	}
	return true
}

// isHexID: all hex digits, and either 16+ long, or 8+ long with both a digit and a letter (short words
// like "facade" or "deadbeef" stay literal).
func isHexID(s string) bool {
	if len(s) < 8 {
		return false
	}
	digit, letter := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isHexDigit(c) {
			return false
		}
		if c <= '9' {
			digit = true
		} else {
			letter = true
		}
	}
	return len(s) >= 16 || digit && letter
}

// isToken: 16+ characters of [A-Za-z0-9_-] (base64 '=' padding allowed) that do not read as words.
func isToken(s string) bool {
	s = strings.TrimRight(s, "=")
	if len(s) < 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return !wordLike(s)
}

// wordLike reports whether s reads as words (kebab-case, snake_case, camelCase, with version-like digit
// runs) rather than as random characters. Words have long lower-case runs, at most one capital per word,
// and few digit runs; random base62/base32 text has lower-case runs of about 1.7 characters on average and
// ULIDs have none.
func wordLike(s string) bool {
	lowerRuns, lowerChars, upper, digitRuns := 0, 0, 0, 0
	prev := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		var cls byte
		switch {
		case 'a' <= c && c <= 'z':
			cls = 'l'
			lowerChars++
		case 'A' <= c && c <= 'Z':
			cls = 'u'
			upper++
		case '0' <= c && c <= '9':
			cls = 'd'
		default:
			cls = 's'
		}
		if cls != prev {
			switch cls {
			case 'l':
				lowerRuns++
			case 'd':
				digitRuns++
			}
		}
		prev = cls
	}
	if lowerRuns == 0 {
		return false
	}
	return lowerChars >= 3*lowerRuns && upper <= lowerRuns && digitRuns <= 2
}

// isPrefixedID: a short word (1-12 letters), '-' or '_', then an identifier: 3+ digits, a UUID, a hex id,
// or 10+ characters of [A-Za-z0-9] that are not word-like and carry a digit.
func isPrefixedID(s string) bool {
	i := strings.IndexAny(s, "-_")
	if i < 1 || i > 12 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	rest := s[i+1:]
	switch {
	case isDigits(rest):
		return len(rest) >= 3
	case isUUID(rest), isHexID(rest):
		return true
	case len(rest) >= 10 && isAlnum(rest) && strings.ContainsAny(rest, "0123456789") && !wordLike(rest):
		return true
	}
	return false
}
