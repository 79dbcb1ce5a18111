package accesslog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// keyTable maps JSON keys to fields without hashing: keys are bucketed by
// length and compared byte by byte, which is faster than a map for the two
// dozen short keys an access-log line has.
type keyTable struct {
	byLen [64][]keyEntry
	long  map[string]field
}

type keyEntry struct {
	key string
	f   field
}

func newKeyTable() *keyTable { return &keyTable{long: map[string]field{}} }

func (t *keyTable) add(key string, f field) {
	if len(key) >= len(t.byLen) {
		t.long[key] = f
		return
	}
	for i := range t.byLen[len(key)] {
		if t.byLen[len(key)][i].key == key {
			t.byLen[len(key)][i].f = f
			return
		}
	}
	t.byLen[len(key)] = append(t.byLen[len(key)], keyEntry{key, f})
}

func (t *keyTable) lookup(key []byte) field {
	if len(key) >= len(t.byLen) {
		return t.long[string(key)]
	}
	for _, e := range t.byLen[len(key)] {
		if e.key == string(key) {
			return e.f
		}
	}
	return fIgnore
}

var errJSON = errors.New("not a valid JSON object")

// scanJSON reads one JSON object and records the values of the keys that
// keys knows. Strings are unescaped (into scratch, only when they contain an
// escape), numbers and booleans are kept as written, null is recorded as
// present and empty, and nested objects and arrays are skipped. It checks the
// structure of the line but not every detail of the JSON grammar.
func scanJSON(b []byte, keys *keyTable, r *record, scratch *[]byte) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errJSON
	}
	fast := bytes.IndexByte(b, '\\') < 0
	quote := func(from int) (int, bool) {
		if fast {
			return findQuoteFast(b, from), false
		}
		return findQuote(b, from)
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errJSON
		}
		ke, esc := quote(i + 1)
		if ke < 0 {
			return errJSON
		}
		key := b[i+1 : ke]
		f := fIgnore
		if esc {
			k, err := unescapeJSON(key, scratch)
			if err != nil {
				return err
			}
			f = keys.lookup(k)
		} else {
			f = keys.lookup(key)
		}
		i = skipWS(b, ke+1)
		if i >= len(b) || b[i] != ':' {
			return errJSON
		}
		i = skipWS(b, i+1)
		if i >= len(b) {
			return errJSON
		}
		switch c := b[i]; {
		case c == '"':
			ve, esc := quote(i + 1)
			if ve < 0 {
				return errJSON
			}
			if f != fIgnore {
				v := b[i+1 : ve]
				if esc {
					var err error
					if v, err = unescapeJSON(v, scratch); err != nil {
						return err
					}
				}
				r.set(f, v)
			}
			i = ve + 1
		case c == '{' || c == '[':
			j, err := skipNested(b, i)
			if err != nil {
				return err
			}
			i = j
		default:
			j := i
			for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ' ' && b[j] != '\t' {
				j++
			}
			tok := b[i:j]
			if !validLiteral(tok) {
				return errJSON
			}
			if f != fIgnore {
				if tok[0] == 'n' {
					r.set(f, nil)
				} else {
					r.set(f, tok)
				}
			}
			i = j
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return errJSON
		}
		if b[i] == '}' {
			return trailing(b, i+1)
		}
		if b[i] != ',' {
			return errJSON
		}
		i = skipWS(b, i+1)
	}
}

func trailing(b []byte, i int) error {
	if skipWS(b, i) != len(b) {
		return errJSON
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// findQuote returns the index of the '"' that closes a string starting at
// from, and whether the string contains a backslash escape.
func findQuote(b []byte, from int) (int, bool) {
	esc := false
	for i := from; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i, esc
		case '\\':
			esc = true
			i++
		}
	}
	return -1, esc
}

// findQuoteFast is findQuote for a line known to have no backslash: it looks
// for the quote eight bytes at a time.
func findQuoteFast(b []byte, from int) int {
	i := from
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:]) ^ 0x2222222222222222
		if m := (x - 0x0101010101010101) &^ x & 0x8080808080808080; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '"' {
			return i
		}
	}
	return -1
}

func skipNested(b []byte, i int) (int, error) {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			e, _ := findQuote(b, i+1)
			if e < 0 {
				return 0, errJSON
			}
			i = e
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
			if depth < 0 {
				return 0, errJSON
			}
		}
		i++
	}
	return 0, errJSON
}

func validLiteral(tok []byte) bool {
	if len(tok) == 0 {
		return false
	}
	switch tok[0] {
	case 'n':
		return string(tok) == "null"
	case 't':
		return string(tok) == "true"
	case 'f':
		return string(tok) == "false"
	}
	for _, c := range tok {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

var errEscape = errors.New("invalid escape in JSON string")

// unescapeJSON decodes the escapes of a JSON string body into scratch and
// returns the decoded bytes.
func unescapeJSON(s []byte, scratch *[]byte) ([]byte, error) {
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
			return nil, errEscape
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s, i+1)
			if !ok {
				return nil, errEscape
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok2 := rune(0), false
				if i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
					r2, ok2 = hex4(s, i+3)
				}
				if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, errEscape
		}
	}
	*scratch = out
	return out[start:], nil
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range s[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
