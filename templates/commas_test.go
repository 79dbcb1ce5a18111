package templates

import (
	"math"
	"testing"
)

func TestCommas(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{7, "7"},
		{999, "999"},
		{1000, "1,000"},
		{-1000, "-1,000"},
		{123456, "123,456"},
		{1234567, "1,234,567"},
		{-987654321, "-987,654,321"},
		{math.MaxInt64, "9,223,372,036,854,775,807"},
		{math.MinInt64, "-9,223,372,036,854,775,808"},
	}
	for _, tc := range tests {
		if got := Commas(tc.in); got != tc.want {
			t.Errorf("Commas(%d) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
