// Package client is the provider's client of the Omnibus management REST
// API: JSON over HTTP with an API key as bearer token, and the API's RFC 9457
// problem documents turned into errors that name the field at fault.
//
// Written by hand: it covers the few calls the provider makes, and a client
// generated from api/openapi.json would bring a generator and its runtime
// into the module for that.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one Omnibus control plane.
type Client struct {
	endpoint string
	apiKey   string
	http     *http.Client
}

// New makes a client of the API at endpoint (e.g. http://localhost:8080).
func New(endpoint, apiKey string) *Client {
	return &Client{
		endpoint: strings.TrimRight(endpoint, "/"),
		apiKey:   apiKey,
		http:     &http.Client{Timeout: 30 * time.Second},
	}
}

// Problem is an API error: an RFC 9457 problem document.
type Problem struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// Field is the request field at fault, for validation problems.
	Field string `json:"field"`
}

func (p *Problem) Error() string {
	message := p.Title
	if p.Detail != "" {
		message = p.Detail
	}
	if p.Field != "" {
		return fmt.Sprintf("%s (field %q, HTTP %d)", message, p.Field, p.Status)
	}
	return fmt.Sprintf("%s (HTTP %d)", message, p.Status)
}

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool {
	problem, ok := err.(*Problem)
	return ok && problem.Status == http.StatusNotFound
}

// Do sends method path with body (nil: none) and decodes a 2xx answer into
// out (nil: ignore it). Anything else is a *Problem.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(encoded)
	}
	request, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, reader)
	if err != nil {
		return err
	}
	request.Header.Set("Authorization", "Bearer "+c.apiKey)
	request.Header.Set("Accept", "application/json")
	request.Header.Set("User-Agent", "terraform-provider-omnibus")
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	response, err := c.http.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	raw, err := io.ReadAll(response.Body)
	if err != nil {
		return err
	}
	if response.StatusCode < 200 || response.StatusCode > 299 {
		problem := &Problem{Status: response.StatusCode}
		if json.Unmarshal(raw, problem) != nil || problem.Title == "" {
			problem.Title = strings.TrimSpace(string(raw))
		}
		problem.Status = response.StatusCode
		return problem
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// Endpoints is where an instance's clients connect.
type Endpoints struct {
	MQTT    *string `json:"mqtt"`
	MQTTWS  *string `json:"mqtt_ws"`
	MQTTTLS *string `json:"mqtt_tls"`
	MQTTWSS *string `json:"mqtt_wss"`
	Kafka   *string `json:"kafka"`
}

// Instance is an instance as the API answers it.
type Instance struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Plan      string    `json:"plan"`
	Region    string    `json:"region"`
	Endpoints Endpoints `json:"endpoints"`
	CreatedAt string    `json:"created_at"`
}

// AclRule allows actions on the topics a filter matches.
type AclRule struct {
	Topic   string   `json:"topic"`
	Actions []string `json:"actions"`
}

// Credential is a credential as the API answers it; Password only when it
// was just created or rotated.
type Credential struct {
	ID         string    `json:"id"`
	InstanceID string    `json:"instance_id"`
	Name       string    `json:"name"`
	Username   string    `json:"username"`
	Password   string    `json:"password,omitempty"`
	ACL        []AclRule `json:"acl"`
	CreatedAt  string    `json:"created_at"`
}

// Plan is one plan of the catalogue (what the data source shows).
type Plan struct {
	Name  string `json:"name"`
	Price struct {
		AmountCents int64  `json:"amount_cents"`
		Currency    string `json:"currency"`
		Period      string `json:"period"`
	} `json:"price"`
}

// Page is one page of a list.
type Page[T any] struct {
	Items         []T     `json:"items"`
	NextPageToken *string `json:"next_page_token"`
}

// All reads every page of the list at path.
func All[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var all []T
	token := ""
	for {
		page := Page[T]{}
		query := path + "?page_size=200"
		if token != "" {
			query += "&page_token=" + token
		}
		if err := c.Do(ctx, http.MethodGet, query, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextPageToken == nil || *page.NextPageToken == "" {
			return all, nil
		}
		token = *page.NextPageToken
	}
}
