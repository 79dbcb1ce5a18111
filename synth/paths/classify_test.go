package paths

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		seg  string
		want string
	}{
		// Decimal numbers.
		{"1", classDecimal},
		{"123", classDecimal},
		{"00042", classDecimal},
		{"98765432109876543210", classDecimal},
		// Dates.
		{"2026-11-27", classDate},
		{"20261127", classDate},
		{"2026-11-27T10:00:00Z", classDate},
		{"2026-11-27T10:00:00.123+02:00", classDate},
		{"2026-13-01", ""},         // no month 13
		{"20261327", classDecimal}, // not a date, still a number
		{"2026-11-27Tnoon", ""},    // not a time
		{"1800-01-01", ""},         // year out of range, and not a number
		// UUIDs, either case.
		{"123e4567-e89b-12d3-a456-426614174000", classUUID},
		{"123E4567-E89B-12D3-A456-426614174000", classUUID},
		{"123e4567-e89b-12d3-a456-42661417400", classToken}, // one short: not a UUID, still random
		// Long hex.
		{"5f2b9c0e", classHex},
		{"507f1f77bcf86cd799439011", classHex},                 // MongoDB ObjectId
		{"da39a3ee5e6b4b0d3255bfef95601890afd80709", classHex}, // SHA-1
		{"abcdefabcdefabcd", classHex},                         // 16 letters a-f
		{"deadbeef", ""},                                       // 8 letters, no digit: a word
		{"facade", ""},
		{"a1b2c3", ""}, // too short
		// Long mixed tokens.
		{"01ARZ3NDEKTSV4RRFFQ69G5FAV", classToken},  // ULID
		{"0ujsswThIGTUYm2K8FjOOfXtY1K", classToken}, // KSUID
		{"SGVsbG8gV29ybGQhIQ==", classToken},        // base64 with padding
		{"V1StGXR8_Z5jdHi6B-myT", classToken},       // nanoid
		{"k3j4h5g6f7d8s9a0q1w2", classToken},        // base36
		{"getUserPreferencesByAccount", ""},         // camelCase route
		{"listOrdersV2ForUser3", ""},                // camelCase with version digits
		{"user-preferences-export", ""},             // kebab-case route
		{"sha256-checksums", ""},                    // word with digits
		{"very_long_snake_case_route_name", ""},     // snake_case route
		{"ABCDEFGHIJKLMNOP", classToken},            // 16 capitals: not words
		// Prefixed ids.
		{"cus_NffrFeUfNV2Hib", classPrefixed}, // Stripe-like
		{"order-12345", classPrefixed},
		{"user_123e4567-e89b-12d3-a456-426614174000", classPrefixed},
		{"page-2", ""}, // too few digits: could be a route
		{"api-v2", ""}, // version, not id
		{"top-100", classPrefixed},
		// Identifiers with a file extension.
		{"12345.json", classDecimal + classWithExt},
		{"507f1f77bcf86cd799439011.png", classHex + classWithExt},
		{"index.html", ""},
		{"v1.2", ""},
		// Route names stay.
		{"users", ""},
		{"v1", ""},
		{"api", ""},
		{"healthz", ""},
		{"alice", ""},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.seg, func(t *testing.T) {
			if got := classify(tc.seg); got != tc.want {
				t.Errorf("classify(%q) = %q, want %q", tc.seg, got, tc.want)
			}
		})
	}
}
