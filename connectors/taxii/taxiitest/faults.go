package taxiitest

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// An Intercept is an Options.Intercept: it answers request n itself and
// returns true, or returns false to let the server answer.
type Intercept = func(w http.ResponseWriter, r *http.Request, n int) bool

// Fail answers the first times requests with status and a TAXII error
// body; later requests are served normally. times < 0 fails every
// request.
func Fail(times, status int, title, description string) Intercept {
	return func(w http.ResponseWriter, r *http.Request, n int) bool {
		if times >= 0 && n > times {
			return false
		}
		WriteError(w, status, title, description)
		return true
	}
}

// RateLimit answers the first times requests with 429 Too Many Requests
// and the given Retry-After value (seconds or an HTTP date; "" for none).
func RateLimit(times int, retryAfter string) Intercept {
	return func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n > times {
			return false
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		WriteError(w, http.StatusTooManyRequests, "Too many requests", "slow down")
		return true
	}
}

// HTMLError answers every request with status and a large HTML error
// page, as a reverse proxy or a login portal does. The page has a title,
// a script and kilobytes of markup the client must not dump.
func HTMLError(status int) Intercept {
	return func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%d %s</title><script>var tracking = %q;</script>"+
			"<style>body{font-family:sans-serif}</style></head>\n<body><h1>%s</h1>\n<p>The proxy could not serve %s.</p>\n%s</body></html>",
			status, http.StatusText(status), strings.Repeat("x", 2000), http.StatusText(status), r.URL.Path,
			strings.Repeat("<div class=\"filler\">lorem ipsum dolor sit amet</div>\n", 200))
		return true
	}
}

// Slow delays the first times requests by d (times < 0: every request),
// or until the client gives up, then lets the server answer.
func Slow(times int, d time.Duration) Intercept {
	return func(w http.ResponseWriter, r *http.Request, n int) bool {
		if times >= 0 && n > times {
			return false
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			return true
		}
	}
}

// Only applies in to the requests whose path contains substr.
func Only(substr string, in Intercept) Intercept {
	return func(w http.ResponseWriter, r *http.Request, n int) bool {
		return strings.Contains(r.URL.Path, substr) && in(w, r, n)
	}
}
