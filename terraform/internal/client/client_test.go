package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A problem document becomes an error naming the field and the status; the
// API key goes as a bearer token.
func TestProblemsNameTheirField(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer omk_test" {
			t.Errorf("authorization %q", r.Header.Get("Authorization"))
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"type":"https://omnibus.dev/problems/validation","title":"Invalid request",` +
			`"status":422,"detail":"plan must be one of: developer, standard, business","field":"plan"}`))
	}))
	defer server.Close()
	err := New(server.URL+"/", "omk_test").Do(context.Background(), http.MethodPost, "/v1/instances", map[string]any{}, nil)
	if err == nil || !strings.Contains(err.Error(), `field "plan"`) || !strings.Contains(err.Error(), "422") {
		t.Fatalf("error %v", err)
	}
	if IsNotFound(err) {
		t.Error("a 422 is not a 404")
	}
}

// All follows next_page_token to the last page.
func TestAllReadsEveryPage(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page_token") == "" {
			_, _ = w.Write([]byte(`{"items":[{"name":"developer"}],"next_page_token":"p2"}`))
			return
		}
		_, _ = w.Write([]byte(`{"items":[{"name":"standard"}],"next_page_token":null}`))
	}))
	defer server.Close()
	plans, err := All[Plan](context.Background(), New(server.URL, "k"), "/v1/plans")
	if err != nil || len(plans) != 2 || plans[1].Name != "standard" {
		t.Fatalf("plans %+v, %v", plans, err)
	}
}
