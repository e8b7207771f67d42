// Package taxii pulls STIX indicators from TAXII 2.0 and 2.1 servers
// (OASIS TAXII 2.1 OS, TAXII 2.0 CS01), as Microsoft Sentinel's
// "Threat intelligence – TAXII" connector does (spec §4.2), and converts
// them with package stix into engine.Indicators.
//
// A Source names one collection (API root + collection id) with its
// credentials; Client.Pull fetches what was added after a checkpoint,
// following TAXII 2.1 envelope paging (more/next) or TAXII 2.0 Range
// paging, and returns the new checkpoint (the server's
// X-TAXII-Date-Added-Last). A State file keeps checkpoints across
// restarts and a Poller runs sources on their polling frequency.
//
// Every request is retried on 5xx, 429 and transport errors with
// exponential backoff (honouring Retry-After) and has its own timeout;
// errors name the server, the collection and the request.
package taxii

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure a Client. The zero value gives the documented
// defaults.
type Options struct {
	// HTTPClient is the base client (its Transport is cloned for sources
	// with TLS settings). Default: a client on a clone of
	// http.DefaultTransport. Its Timeout should be zero: Timeout below
	// bounds each request.
	HTTPClient *http.Client
	// Timeout bounds each request, reading the body included. Default
	// 60 s.
	Timeout time.Duration
	// Retries is how many times a request is retried after a 5xx, a 429
	// or a transport error (timeouts included). Default 4; negative
	// means none.
	Retries int
	// RetryBase is the first backoff; it doubles with every retry.
	// Default 1 s. A Retry-After header (seconds or an HTTP date)
	// replaces the backoff.
	RetryBase time.Duration
	// MaxRetryWait caps any single wait, Retry-After included. Default
	// 2 min.
	MaxRetryWait time.Duration
	// PageSize is the TAXII 2.1 limit parameter and the size of a TAXII
	// 2.0 Range. Default 1000; the server may return fewer.
	PageSize int
	// MaxPages bounds the pages of one pull (a safety net behind the
	// repeated-page detection). Default 100000.
	MaxPages int
	// MaxBody bounds a response body in bytes. Default 256 MiB.
	MaxBody int64
	// Sleep waits d or until ctx is done (then it returns ctx.Err()).
	// Default: a timer. Tests inject a recorder.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for lookbacks and TimeGenerated. Default
	// time.Now.
	Now func() time.Time
	// UserAgent is sent with every request. Default "timap-taxii/1".
	UserAgent string
}

// Client talks to TAXII servers. It is safe for concurrent use; it keeps
// one HTTP client per TLS configuration so connections are reused.
type Client struct {
	opts    Options
	mu      sync.Mutex
	clients map[[3]string]*http.Client
}

// NewClient returns a client with opts, defaults filled in.
func NewClient(opts Options) *Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.Retries == 0 {
		opts.Retries = 4
	} else if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.MaxRetryWait <= 0 {
		opts.MaxRetryWait = 2 * time.Minute
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = 100000
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 256 << 20
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "timap-taxii/1"
	}
	return &Client{opts: opts, clients: map[[3]string]*http.Client{}}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// httpClient returns the HTTP client for src's TLS settings.
func (c *Client) httpClient(src *Source) (*http.Client, error) {
	if src.ClientCert == "" && src.CAFile == "" {
		return c.opts.HTTPClient, nil
	}
	key := [3]string{src.ClientCert, src.ClientKey, src.CAFile}
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc := c.clients[key]; hc != nil {
		return hc, nil
	}
	base, ok := c.opts.HTTPClient.Transport.(*http.Transport)
	if !ok || base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	tr := base.Clone()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if tr.TLSClientConfig != nil {
		cfg = tr.TLSClientConfig.Clone()
	}
	if src.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(src.ClientCert, src.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("taxii source %s: client certificate: %w", src.label(), err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if src.CAFile != "" {
		pem, err := os.ReadFile(src.CAFile)
		if err != nil {
			return nil, fmt.Errorf("taxii source %s: ca_file: %w", src.label(), err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("taxii source %s: ca_file %s: no PEM certificates", src.label(), src.CAFile)
		}
		cfg.RootCAs = pool
	}
	tr.TLSClientConfig = cfg
	hc := &http.Client{Transport: tr, CheckRedirect: c.opts.HTTPClient.CheckRedirect, Jar: c.opts.HTTPClient.Jar}
	c.clients[key] = hc
	return hc, nil
}

// op is one operation (a pull, a discovery): it numbers its requests and
// names the server and collection in errors.
type op struct {
	src        *Source
	server     string
	collection string
	requests   int
}

// response is a read response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends a GET with retries and returns a 2xx response (or a 416 when
// the request carried a Range header); any other status is an
// *HTTPError.
func (c *Client) get(ctx context.Context, o *op, rawURL, accept string, extra http.Header) (*response, error) {
	hc, err := c.httpClient(o.src)
	if err != nil {
		return nil, err
	}
	o.requests++
	n := o.requests
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequest(http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, fmt.Errorf("taxii server %s: request %d: %w", o.server, n, err)
		}
		req.Header.Set("Accept", accept)
		req.Header.Set("User-Agent", c.opts.UserAgent)
		for k, vs := range extra {
			req.Header[k] = vs
		}
		authorize(req, o.src)
		resp, err := c.roundTrip(ctx, hc, req)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("taxii server %s%s: request %d (GET %s): %w", o.server, collLabel(o), n, rawURL, ctx.Err())
		}
		retryable := err != nil && transient(err)
		if err == nil {
			retryable = resp.status == http.StatusTooManyRequests || (resp.status >= 500 && resp.status != http.StatusNotImplemented)
		}
		if !retryable || attempt > c.opts.Retries {
			if err != nil {
				if attempt > 1 {
					err = fmt.Errorf("%w (after %d attempts)", err, attempt)
				}
				return nil, fmt.Errorf("taxii server %s%s: request %d (GET %s): %w", o.server, collLabel(o), n, rawURL, err)
			}
			if resp.status/100 == 2 || (resp.status == http.StatusRequestedRangeNotSatisfiable && extra.Get("Range") != "") {
				return resp, nil
			}
			he := &HTTPError{Server: o.server, Collection: o.collection, Request: n, Method: http.MethodGet,
				URL: rawURL, StatusCode: resp.status, Attempts: attempt}
			he.fillBody(resp.body)
			return nil, he
		}
		wait := c.opts.RetryBase << (attempt - 1)
		if err == nil {
			if ra, ok := retryAfter(resp.header.Get("Retry-After"), c.opts.Now()); ok {
				wait = ra
			}
		}
		wait = min(max(wait, 0), c.opts.MaxRetryWait)
		if err := c.opts.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("taxii server %s%s: request %d (GET %s): %w", o.server, collLabel(o), n, rawURL, err)
		}
	}
}

func collLabel(o *op) string {
	if o.collection == "" {
		return ""
	}
	return " collection " + o.collection
}

// roundTrip sends req under the per-request timeout and reads the body
// before the timeout's context is released.
func (c *Client) roundTrip(ctx context.Context, hc *http.Client, req *http.Request) (*response, error) {
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	resp, err := hc.Do(req.WithContext(rctx))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the caller names the URL already
		}
		return nil, tlsHint(timeoutNote(err, rctx, c.opts.Timeout))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBody+1))
	if err != nil {
		return nil, timeoutNote(fmt.Errorf("reading the response: %w", err), rctx, c.opts.Timeout)
	}
	if int64(len(body)) > c.opts.MaxBody {
		return nil, fmt.Errorf("response larger than %d bytes", c.opts.MaxBody)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// timeoutError marks a request that ran past Options.Timeout.
type timeoutError struct {
	d   time.Duration
	err error
}

func (e *timeoutError) Error() string { return fmt.Sprintf("timed out after %s: %v", e.d, e.err) }
func (e *timeoutError) Unwrap() error { return e.err }

func timeoutNote(err error, rctx context.Context, d time.Duration) error {
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return &timeoutError{d: d, err: err}
	}
	return err
}

// tlsHint adds what to configure to the usual TLS failures.
func tlsHint(err error) error {
	var ua x509.UnknownAuthorityError
	var cv *tls.CertificateVerificationError
	switch msg := err.Error(); {
	case errors.As(err, &ua) || (errors.As(err, &cv) && strings.Contains(msg, "unknown authority")):
		return fmt.Errorf("%w (set ca_file to the CA that signs the server's certificate)", err)
	case strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate"):
		return fmt.Errorf("%w (the server wants a client certificate it accepts: check client_cert and client_key)", err)
	}
	return err
}

// transient reports whether a transport error may go away on retry:
// certificate and TLS alert errors (a refused client certificate), an
// unknown host name and a refused connection do not — retrying them only
// makes a misconfigured source take minutes to report.
func transient(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var alert tls.AlertError
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.IsNotFound {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	return !errors.As(err, &cv) && !errors.As(err, &ua) && !errors.As(err, &hn) && !errors.As(err, &alert)
}

// retryAfter parses a Retry-After value: delay seconds or an HTTP date
// (RFC 9110 §10.2.3).
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(s) * time.Second, s >= 0
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}

// authorize sets the source's credentials on req.
func authorize(req *http.Request, src *Source) {
	switch {
	case src.Username != "":
		req.SetBasicAuth(src.Username, src.Password)
	case src.Token != "":
		req.Header.Set("Authorization", "Bearer "+src.Token)
	}
	if src.APIKeyHeader != "" {
		req.Header.Set(src.APIKeyHeader, src.APIKey)
	}
}
