package projects

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/devsmith/logs/internal/apierr"
)

// Limits on what clients send.
const (
	maxEmail         = 254
	minPassword      = 8  // characters
	maxPasswordBytes = 72 // bcrypt reads no further
	maxName          = 200
	maxDescription   = 2000
	maxRepositoryURL = 2048
	defaultPageSize  = 100
	maxPageSize      = 1000
)

var slugRE = regexp.MustCompile(`^[a-z0-9-]{1,100}$`)

func validateEmail(field, email string) error {
	switch {
	case email == "":
		return apierr.Invalidf("%s is required", field)
	case len(email) > maxEmail:
		return apierr.Invalidf("%s must be at most %d characters", field, maxEmail)
	}
	at := strings.Count(email, "@")
	i := strings.IndexByte(email, '@')
	if at != 1 || i == 0 || i == len(email)-1 || strings.IndexFunc(email, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0 {
		return apierr.Invalidf("%s must be an address like name@example.com", field)
	}
	return nil
}

func validatePassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < minPassword:
		return apierr.Invalidf("password must be at least %d characters", minPassword)
	case len(password) > maxPasswordBytes:
		return apierr.Invalidf("password must be at most %d bytes", maxPasswordBytes)
	}
	return nil
}

// userRole checks a role for CreateUser; empty means member.
func userRole(role string) (string, error) {
	switch role {
	case "":
		return roleMember, nil
	case roleAdmin, roleMember:
		return role, nil
	}
	return "", apierr.Invalidf("role must be %q or %q", roleAdmin, roleMember)
}

// memberRole checks a role for AddProjectMember.
func memberRole(role string) (string, error) {
	switch role {
	case roleViewer, roleMaintainer:
		return role, nil
	}
	return "", apierr.Invalidf("role must be %q or %q", roleViewer, roleMaintainer)
}

// validateProject checks a CreateProject request and returns the project to
// store (the name trimmed of surrounding spaces).
func validateProject(name, slug, description, repositoryURL string) (project, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return project{}, apierr.Invalidf("name is required")
	case utf8.RuneCountInString(name) > maxName:
		return project{}, apierr.Invalidf("name must be at most %d characters", maxName)
	case !slugRE.MatchString(slug):
		return project{}, apierr.Invalidf("slug must be 1-100 lowercase letters, digits or dashes")
	case utf8.RuneCountInString(description) > maxDescription:
		return project{}, apierr.Invalidf("description must be at most %d characters", maxDescription)
	case len(repositoryURL) > maxRepositoryURL:
		return project{}, apierr.Invalidf("repository_url must be at most %d characters", maxRepositoryURL)
	}
	if repositoryURL != "" {
		u, err := url.Parse(repositoryURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return project{}, apierr.Invalidf("repository_url must be an http or https URL")
		}
	}
	return project{Name: name, Slug: slug, Description: description, RepositoryURL: repositoryURL}, nil
}

// pageSize applies the default and the cap.
func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, apierr.Invalidf("page_size must not be negative")
	case n == 0:
		return defaultPageSize, nil
	case n > maxPageSize:
		return maxPageSize, nil
	}
	return int(n), nil
}

// Page tokens are the base64url of the last row's sort key: its creation
// time in Unix microseconds (PostgreSQL's precision) and its id.

func encodePageToken(k pageKey) string {
	return base64.RawURLEncoding.EncodeToString(
		[]byte(strconv.FormatInt(k.T.UnixMicro(), 10) + "." + strconv.FormatInt(k.ID, 10)))
}

// nextPage cuts rows, read with one row more than size, to the page and
// returns the token of the next page ("" when this is the last).
func nextPage[T any](rows []T, size int, key func(T) pageKey) ([]T, string) {
	if len(rows) <= size {
		return rows, ""
	}
	rows = rows[:size]
	return rows, encodePageToken(key(rows[size-1]))
}

// pageRequest is a list request's page: AIP-158's page_size and the keyset
// position its page_token names (nil for the first page).
type pageRequest interface {
	GetPageSize() int32
	GetPageToken() string
}

// readPage validates a list request's page_size and page_token.
func readPage(req pageRequest) (size int, after *pageKey, err error) {
	if size, err = pageSize(req.GetPageSize()); err != nil {
		return 0, nil, err
	}
	if after, err = decodePageToken(req.GetPageToken()); err != nil {
		return 0, nil, err
	}
	return size, after, nil
}

// decodePageToken returns nil for an empty token.
func decodePageToken(tok string) (*pageKey, error) {
	if tok == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return nil, errBadPage
	}
	ts, id, ok := strings.Cut(string(b), ".")
	if !ok {
		return nil, errBadPage
	}
	micros, err1 := strconv.ParseInt(ts, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return nil, errBadPage
	}
	return &pageKey{T: time.UnixMicro(micros).UTC(), ID: n}, nil
}
