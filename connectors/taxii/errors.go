package taxii

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// HTTPError is a TAXII request the server refused or failed (a non-2xx
// status after the retries). It names where: the server (API root or
// discovery URL), the collection when there is one, the request's index
// within the pull and its URL.
//
// When the body is a TAXII error message (TAXII 2.1 §3.6.1, 2.0 §3.6.1:
// title, description, error_id, error_code, http_status) its fields are
// kept; any other body (an HTML error page, a proxy's text) is reduced to
// a short one-line Snippet.
type HTTPError struct {
	// Server is the API root (or discovery URL) and Collection the
	// collection id ("" for discovery, API root and collection lists).
	Server     string
	Collection string
	// Request is the 1-based index of the request within the operation
	// (a pull counts its discovery, object pages and manifest pages).
	Request int
	// Method and URL are the request's, query included.
	Method string
	URL    string
	// StatusCode is the HTTP status; Attempts how many times the request
	// was sent (more than one when it was retried).
	StatusCode int
	Attempts   int
	// Title, Description, ErrorID and ErrorCode come from a TAXII error
	// message body.
	Title, Description, ErrorID, ErrorCode string
	// Snippet is the start of a non-TAXII body, tags stripped.
	Snippet string
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "taxii server %s", e.Server)
	if e.Collection != "" {
		fmt.Fprintf(&b, " collection %s", e.Collection)
	}
	fmt.Fprintf(&b, ": request %d (%s %s): HTTP %d %s", e.Request, e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	switch {
	case e.Title != "" && e.Description != "":
		fmt.Fprintf(&b, ": %s: %s", e.Title, e.Description)
	case e.Title != "" || e.Description != "":
		fmt.Fprintf(&b, ": %s%s", e.Title, e.Description)
	case e.Snippet != "":
		fmt.Fprintf(&b, ": %s", e.Snippet)
	}
	if h := statusHint(e.StatusCode); h != "" {
		fmt.Fprintf(&b, " (%s)", h)
	}
	return b.String()
}

func statusHint(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "check the username/password, token or API key"
	case http.StatusForbidden:
		return "the credentials may not read this collection"
	case http.StatusNotFound:
		return "check the API root URL and the collection id"
	case http.StatusNotAcceptable:
		return "the server does not offer this TAXII version"
	}
	return ""
}

// taxiiErrorBody is the TAXII error message resource.
type taxiiErrorBody struct {
	Title       string          `json:"title"`
	Description string          `json:"description"`
	ErrorID     string          `json:"error_id"`
	ErrorCode   string          `json:"error_code"`
	HTTPStatus  json.RawMessage `json:"http_status"`
}

// fillBody sets the message fields of e from a response body.
func (e *HTTPError) fillBody(body []byte) {
	b := bytes.TrimSpace(body)
	if len(b) > 0 && b[0] == '{' {
		var m taxiiErrorBody
		if json.Unmarshal(b, &m) == nil && (m.Title != "" || m.Description != "") {
			e.Title, e.Description = oneLine(m.Title, 200), oneLine(m.Description, 300)
			e.ErrorID, e.ErrorCode = m.ErrorID, m.ErrorCode
			return
		}
	}
	e.Snippet = snippet(body)
}

var (
	titleRE  = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	scriptRE = regexp.MustCompile(`(?is)<(script|style|head)[^>]*>.*?</(script|style|head)>`)
	tagRE    = regexp.MustCompile(`(?s)<[^>]*>`)
)

// snippetLen bounds the text kept from a non-TAXII body.
const snippetLen = 160

// snippet reduces a body to one short line: the <title> of an HTML page
// (plus the start of its text), or the start of any other text.
func snippet(body []byte) string {
	s := string(body)
	if len(s) > 64<<10 {
		s = s[:64<<10]
	}
	var title string
	if m := titleRE.FindStringSubmatch(s); m != nil {
		title = oneLine(html.UnescapeString(tagRE.ReplaceAllString(m[1], " ")), snippetLen)
	}
	if strings.Contains(s, "<") {
		s = tagRE.ReplaceAllString(scriptRE.ReplaceAllString(s, " "), " ")
		s = html.UnescapeString(s)
	}
	text := oneLine(s, snippetLen)
	switch {
	case title != "" && text != "" && !strings.HasPrefix(text, title):
		return oneLine(title+" — "+text, snippetLen)
	case title != "":
		return title
	case text == "":
		return "(empty body)"
	}
	return text
}

// oneLine collapses white space and cuts s to at most n bytes at a rune
// boundary, marking the cut.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
