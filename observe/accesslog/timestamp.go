package accesslog

// parseTime reads a timestamp at the start of b and returns it in Unix
// nanoseconds and the number of bytes it took. It accepts what access logs
// write: RFC 3339 with "T" or a space between date and time, an optional
// fraction of up to 9 digits (more are read and dropped), and "Z", "+hh:mm",
// "+hhmm" or no zone at all (read as UTC); and Unix epoch seconds,
// milliseconds, microseconds or nanoseconds (10, 13, 16 or 19 digits, seconds
// with an optional fraction). It is hand-written because time.Parse is a
// noticeable part of the cost of a line.
func parseTime(b []byte) (ns int64, n int, ok bool) {
	if len(b) >= 19 && b[4] == '-' {
		return parseISO(b)
	}
	return parseEpoch(b)
}

func parseISO(b []byte) (int64, int, bool) {
	y, ok1 := digits(b[0:4])
	mo, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	h, ok4 := digits(b[11:13])
	mi, ok5 := digits(b[14:16])
	s, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || b[7] != '-' || (b[10] != 'T' && b[10] != ' ' && b[10] != 't') ||
		b[13] != ':' || b[16] != ':' {
		return 0, 0, false
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h > 23 || mi > 59 || s > 60 {
		return 0, 0, false
	}
	n := 19
	var frac int64
	if n < len(b) && (b[n] == '.' || b[n] == ',') {
		n++
		start := n
		scale := int64(100000000)
		for n < len(b) && b[n] >= '0' && b[n] <= '9' {
			if scale > 0 {
				frac += int64(b[n]-'0') * scale
				scale /= 10
			}
			n++
		}
		if n == start {
			return 0, 0, false
		}
	}
	var offset int64
	if n < len(b) {
		switch b[n] {
		case 'Z', 'z':
			n++
		case '+', '-':
			sign := int64(1)
			if b[n] == '-' {
				sign = -1
			}
			var oh, om int
			var ok bool
			switch {
			case n+6 <= len(b) && b[n+3] == ':':
				oh, ok = digits(b[n+1 : n+3])
				if ok {
					om, ok = digits(b[n+4 : n+6])
				}
				n += 6
			case n+5 <= len(b):
				oh, ok = digits(b[n+1 : n+3])
				if ok {
					om, ok = digits(b[n+3 : n+5])
				}
				n += 5
			}
			if !ok || oh > 23 || om > 59 {
				return 0, 0, false
			}
			offset = sign * int64(oh*3600+om*60)
		}
	}
	days := daysFromCivil(y, mo, d)
	secs := days*86400 + int64(h*3600+mi*60+s) - offset
	return secs*1e9 + frac, n, true
}

func parseEpoch(b []byte) (int64, int, bool) {
	n := 0
	var v int64
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		if n >= 19 {
			return 0, 0, false
		}
		v = v*10 + int64(b[n]-'0')
		n++
	}
	switch n {
	case 10:
		ns := v * 1e9
		if n < len(b) && b[n] == '.' {
			n++
			scale := int64(100000000)
			start := n
			for n < len(b) && b[n] >= '0' && b[n] <= '9' {
				if scale > 0 {
					ns += int64(b[n]-'0') * scale
					scale /= 10
				}
				n++
			}
			if n == start {
				return 0, 0, false
			}
		}
		return ns, n, true
	case 13:
		return v * 1e6, n, true
	case 16:
		return v * 1e3, n, true
	case 19:
		return v, n, true
	}
	return 0, 0, false
}

func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
