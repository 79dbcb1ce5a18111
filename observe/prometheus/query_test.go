package prometheus

import (
	"testing"
	"time"
)

func TestBuildQuery(t *testing.T) {
	const by = "sum by (reporter, source_principal, source_workload, source_workload_namespace, destination_workload, " +
		"destination_workload_namespace, destination_principal, destination_service, destination_app, " +
		"request_protocol, connection_security_policy, meshgen_response_class, meshgen_policy_denied) ("
	tests := []struct {
		name   string
		metric string
		shard  shard
		step   time.Duration
		want   string
	}{
		{
			name:   "requests in a namespace",
			metric: metricRequests,
			shard:  namespaceShard("shop"),
			step:   6 * time.Minute,
			want: by +
				`label_replace(label_replace(label_replace(label_replace(label_replace(` +
				`(istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace="shop"}` +
				` - istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace="shop"} offset 6m) >= 0` +
				` or istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace="shop"}, ` +
				`"meshgen_response_class", "${1}xx", "response_code", "([1-5])[0-9][0-9]"), ` +
				`"meshgen_response_class", "$1", "response_code", "(401|403)"), ` +
				`"meshgen_response_class", "403", "grpc_response_status", "7"), ` +
				`"meshgen_response_class", "401", "grpc_response_status", "16"), ` +
				`"meshgen_policy_denied", "true", "response_flags", "DENY"))`,
		},
		{
			name:   "connections of one workload",
			metric: metricTCP,
			shard:  namespaceShard("shop").withWorkload("cart"),
			step:   90 * time.Second,
			want: by +
				`label_replace(` +
				`(istio_tcp_connections_opened_total{reporter=~"destination|waypoint",destination_workload_namespace="shop",destination_workload="cart"}` +
				` - istio_tcp_connections_opened_total{reporter=~"destination|waypoint",destination_workload_namespace="shop",destination_workload="cart"} offset 90s) >= 0` +
				` or istio_tcp_connections_opened_total{reporter=~"destination|waypoint",destination_workload_namespace="shop",destination_workload="cart"}, ` +
				`"meshgen_policy_denied", "true", "response_flags", "DENY"))`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := buildQuery(tc.metric, tc.shard, tc.step); got != tc.want {
				t.Errorf("buildQuery(%s, %s, %s) =\n%s\nwant\n%s", tc.metric, tc.shard, tc.step, got, tc.want)
			}
		})
	}
}

func TestShard(t *testing.T) {
	tests := []struct {
		shard        shard
		wantSelector string
		wantString   string
	}{
		{
			shard:        namespaceShard("shop"),
			wantSelector: `istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace="shop"}`,
			wantString:   "destination namespace shop",
		},
		{
			shard:        unknownNamespaceShard(),
			wantSelector: `istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace=~"unknown|"}`,
			wantString:   "unknown destination namespace",
		},
		{
			shard:        namespaceShard("shop").withWorkload(""),
			wantSelector: `istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace="shop",destination_workload=""}`,
			wantString:   "destination namespace shop, series without destination_workload",
		},
		{
			// Label values come from the server and are quoted, not trusted.
			shard:        namespaceShard("shop").withWorkload(`a"b\c`),
			wantSelector: `istio_requests_total{reporter=~"destination|waypoint",destination_workload_namespace="shop",destination_workload="a\"b\\c"}`,
			wantString:   `destination namespace shop, destination workload a"b\c`,
		},
	}
	for _, tc := range tests {
		if got := tc.shard.selector(metricRequests); got != tc.wantSelector {
			t.Errorf("%v.selector() = %s, want %s", tc.shard, got, tc.wantSelector)
		}
		if got := tc.shard.String(); got != tc.wantString {
			t.Errorf("shard.String() = %q, want %q", got, tc.wantString)
		}
	}
}

func TestChooseStep(t *testing.T) {
	tests := []struct {
		window time.Duration
		want   time.Duration
	}{
		{window: time.Minute, want: time.Minute},
		{window: 90 * time.Second, want: time.Minute},
		{window: time.Hour, want: time.Minute},
		{window: 250 * time.Minute, want: time.Minute},
		// 251 minutes is prime: no whole-minute step from 2m to 4m divides it.
		{window: 251 * time.Minute, want: 2 * time.Minute},
		{window: 24 * time.Hour, want: 6 * time.Minute},      // 1440/250 = 5.76 -> 6, 240 steps
		{window: 7 * 24 * time.Hour, want: 42 * time.Minute}, // 10080/250 = 40.3 -> 41 does not divide, 42 does: 240 steps
		{window: 30 * 24 * time.Hour, want: 180 * time.Minute},
	}
	for _, tc := range tests {
		if got := ChooseStep(tc.window); got != tc.want {
			t.Errorf("ChooseStep(%s) = %s, want %s", tc.window, got, tc.want)
		}
	}
}

func TestLearnerWindow(t *testing.T) {
	end := time.Date(2026, 6, 1, 12, 0, 0, 500e6, time.UTC)
	tests := []struct {
		name      string
		window    time.Duration
		step      time.Duration
		wantStart time.Time
		wantFirst time.Time
		wantStep  time.Duration
		// end and wantEnd, when set, replace 12:00:00.5 and 12:00:00.
		end, wantEnd time.Time
	}{
		{
			name:   "whole number of steps",
			window: time.Hour, wantStep: time.Minute,
			wantStart: time.Date(2026, 6, 1, 11, 0, 0, 0, time.UTC),
			wantFirst: time.Date(2026, 6, 1, 11, 1, 0, 0, time.UTC),
		},
		{
			name:   "window extended to a whole number of steps",
			window: 10 * time.Minute, step: 3 * time.Minute, wantStep: 3 * time.Minute,
			wantStart: time.Date(2026, 6, 1, 11, 48, 0, 0, time.UTC),
			wantFirst: time.Date(2026, 6, 1, 11, 51, 0, 0, time.UTC),
		},
		{
			name:   "end rounded down to a multiple of the step",
			window: 10 * time.Minute, step: 3 * time.Minute, wantStep: 3 * time.Minute,
			end:       time.Date(2026, 6, 1, 12, 4, 30, 0, time.UTC),
			wantEnd:   time.Date(2026, 6, 1, 12, 3, 0, 0, time.UTC),
			wantStart: time.Date(2026, 6, 1, 11, 51, 0, 0, time.UTC),
			wantFirst: time.Date(2026, 6, 1, 11, 54, 0, 0, time.UTC),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Window, cfg.Step, cfg.End = tc.window, tc.step, end
			wantEnd := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
			if !tc.end.IsZero() {
				cfg.End, wantEnd = tc.end, tc.wantEnd
			}
			l := newLearner(cfg, nil, nil)
			if l.end != wantEnd || l.start != tc.wantStart || l.first != tc.wantFirst || l.step != tc.wantStep {
				t.Errorf("newLearner(window %s, step %s) = end %s start %s first %s step %s, want %s %s %s %s",
					tc.window, tc.step, l.end, l.start, l.first, l.step, wantEnd, tc.wantStart, tc.wantFirst, tc.wantStep)
			}
		})
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute:      "1m",
		42 * time.Minute: "42m",
		3 * time.Hour:    "3h",
		90 * time.Minute: "1h30m",
		90 * time.Second: "1m30s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
