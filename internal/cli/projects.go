package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// project is one row of GET /api/logs/projects.
type project struct {
	ID        json.Number `json:"id"`
	Name      string      `json:"name"`
	Slug      string      `json:"slug"`
	LogCount  json.Number `json:"log_count"`
	IsActive  bool        `json:"is_active"`
	LastLogAt *time.Time  `json:"last_log_at"`
	Role      string      `json:"role"`
}

func runProjects(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(env.Stdout, "Usage: devsmith projects list|create|rotate-key|delete [flags]\n")
			return nil
		}
		return usageErr("want a subcommand: list, create, rotate-key or delete")
	}
	switch args[0] {
	case "list", "ls":
		return projectsList(ctx, env, args[1:])
	case "create":
		return projectsCreate(ctx, env, args[1:])
	case "rotate-key":
		return projectsRotate(ctx, env, args[1:])
	case "delete", "rm":
		return projectsDelete(ctx, env, args[1:])
	}
	return usageErr("unknown subcommand %q: want list, create, rotate-key or delete", args[0])
}

// listProjects pages through every project the caller may read; each page
// is handed to fn as raw JSON objects and decoded rows.
func listProjects(ctx context.Context, cl *client, fn func(raw []json.RawMessage, rows []project) error) error {
	q := url.Values{"page_size": {"1000"}}
	for {
		var page struct {
			Projects      []json.RawMessage `json:"projects"`
			NextPageToken string            `json:"next_page_token"`
		}
		if err := cl.do(ctx, "GET", "/api/logs/projects", q, nil, &page); err != nil {
			return err
		}
		rows := make([]project, len(page.Projects))
		for i, r := range page.Projects {
			if err := json.Unmarshal(r, &rows[i]); err != nil {
				return fmt.Errorf("decoding a project: %w", err)
			}
		}
		if err := fn(page.Projects, rows); err != nil {
			return err
		}
		if page.NextPageToken == "" {
			return nil
		}
		q.Set("page_token", page.NextPageToken)
	}
}

// findProject resolves a slug or a numeric id to the project.
func findProject(ctx context.Context, cl *client, ref string) (project, error) {
	var found *project
	err := listProjects(ctx, cl, func(_ []json.RawMessage, rows []project) error {
		for i := range rows {
			if rows[i].Slug == ref || rows[i].ID.String() == ref {
				found = &rows[i]
			}
		}
		return nil
	})
	if err != nil {
		return project{}, err
	}
	if found == nil {
		return project{}, failErr(ExitFailed, "project %q not found among the projects you may read", ref)
	}
	return *found, nil
}

func projectsList(ctx context.Context, env Env, args []string) error {
	var c common
	usage := "projects list [--output table|json]"
	fs := newFlags("projects list", &c)
	pos, err := parse(fs, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if err := noArgs("projects list", pos); err != nil {
		return err
	}
	if err := checkOutput(c.output); err != nil {
		return err
	}
	cl, err := sessionClient(env, c)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	if c.output == "table" {
		fmt.Fprintln(tw, "ID\tSLUG\tNAME\tROLE\tLOGS\tLAST LOG\tACTIVE")
	}
	err = listProjects(ctx, cl, func(raw []json.RawMessage, rows []project) error {
		for i, p := range rows {
			if c.output == "json" {
				if err := writeJSONLine(env.Stdout, raw[i]); err != nil {
					return err
				}
				continue
			}
			last := "-"
			if p.LastLogAt != nil {
				last = p.LastLogAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%t\n", p.ID, p.Slug, oneLine(p.Name), p.Role, p.LogCount, last, p.IsActive)
		}
		return nil
	})
	if c.output == "table" {
		tw.Flush()
	}
	return err
}

func projectsCreate(ctx context.Context, env Env, args []string) error {
	var c common
	usage := "projects create SLUG [--name NAME] [--description TEXT] [--repository-url URL]"
	fs := newFlags("projects create", &c)
	name := fs.String("name", "", "display name (default: the slug)")
	slug := fs.String("slug", "", "the slug (or give it as the argument)")
	desc := fs.String("description", "", "description")
	repo := fs.String("repository-url", "", "repository URL")
	pos, err := parse(fs, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErr("unexpected argument %q (devsmith projects create --help)", pos[1])
	}
	if len(pos) == 1 {
		if *slug != "" && *slug != pos[0] {
			return usageErr("the slug is given twice: %q and --slug %q", pos[0], *slug)
		}
		*slug = pos[0]
	}
	if *slug == "" {
		return usageErr("a slug is required: devsmith projects create my-app [--name \"My App\"]")
	}
	if *name == "" {
		*name = *slug
	}
	if err := checkOutput(c.output); err != nil {
		return err
	}
	cl, err := sessionClient(env, c)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	body := map[string]string{"name": *name, "slug": *slug, "description": *desc, "repository_url": *repo}
	if err := cl.do(ctx, "POST", "/api/logs/projects", nil, body, &raw); err != nil {
		return err
	}
	if c.output == "json" {
		return writeJSONLine(env.Stdout, raw)
	}
	var res struct {
		ProjectID json.Number `json:"project_id"`
		Slug      string      `json:"slug"`
		APIKey    string      `json:"api_key"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	fmt.Fprintf(env.Stdout, "Created project %s (id %s).\nAPI key (shown only now; keep it secret):\n%s\n", res.Slug, res.ProjectID, res.APIKey)
	return nil
}

func projectsRotate(ctx context.Context, env Env, args []string) error {
	var c common
	usage := "projects rotate-key SLUG|ID"
	fs := newFlags("projects rotate-key", &c)
	pos, err := parse(fs, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one project (slug or id): devsmith %s", usage)
	}
	if err := checkOutput(c.output); err != nil {
		return err
	}
	cl, err := sessionClient(env, c)
	if err != nil {
		return err
	}
	p, err := findProject(ctx, cl, pos[0])
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := cl.do(ctx, "PUT", "/api/logs/projects/"+url.PathEscape(p.ID.String())+"/regenerate-key", nil, struct{}{}, &raw); err != nil {
		return err
	}
	if c.output == "json" {
		return writeJSONLine(env.Stdout, raw)
	}
	var res struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	fmt.Fprintf(env.Stdout, "New API key of %s (the old one is refused from now on; shown only now):\n%s\n", p.Slug, res.APIKey)
	return nil
}

func projectsDelete(ctx context.Context, env Env, args []string) error {
	var c common
	usage := "projects delete SLUG|ID [--yes]"
	fs := newFlags("projects delete", &c)
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	pos, err := parse(fs, usage, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one project (slug or id): devsmith %s", usage)
	}
	cl, err := sessionClient(env, c)
	if err != nil {
		return err
	}
	p, err := findProject(ctx, cl, pos[0])
	if err != nil {
		return err
	}
	if !*yes {
		if _, tty := terminalFd(env.Stdin); !tty {
			return usageErr("deleting %s needs confirmation: pass --yes (stdin is not a terminal)", p.Slug)
		}
		fmt.Fprintf(env.Stderr, "Delete project %s (id %s)? Its key stops working; its logs stay readable. Type the slug to confirm: ", p.Slug, p.ID)
		line, _ := bufio.NewReader(env.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != p.Slug {
			return failErr(ExitFailed, "not confirmed; project %s kept", p.Slug)
		}
	}
	if _, err := strconv.ParseInt(p.ID.String(), 10, 64); err != nil {
		return fmt.Errorf("project %s has an unexpected id %q", p.Slug, p.ID)
	}
	if err := cl.do(ctx, "DELETE", "/api/logs/projects/"+p.ID.String(), nil, nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Deleted project %s.\n", p.Slug)
	return nil
}
