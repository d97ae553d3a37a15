package pages

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/molt-go/update/agent/deploylog"
)

//go:embed templates/*.html
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"took": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
	"pct":  func(p float64) string { return strconv.FormatFloat(math.Round(p*10)/10, 'f', -1, 64) + "%" },
	"val": func(n *int) int {
		if n == nil {
			return 0
		}
		return *n
	},
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	},
}).ParseFS(templateFS, "templates/*.html"))

// listLimit is how many deployments the list page and JSON show unless
// ?limit= says otherwise: a long-lived agent has thousands.
const listLimit = 100

// pages serves the deployment log of a store.
type pages struct {
	store  deploylog.Store
	status func() deploylog.CheckStatus // nil when there is no agent
	mux    *http.ServeMux
}

// Handler serves the deployment log of s:
//
//	GET /deployments           the deployments, newest first, failed ones marked
//	GET /deployments/{id}      one deployment, its steps and their output
//	GET /api/deployments       the same as JSON: [{"id":..,"steps":[..]},..]
//	GET /api/deployments/{id}  one deployment as JSON
//
// The lists take ?limit=N (default 100). Pages are rendered on the server;
// their only script reloads a page while a deployment is running.
func Handler(s deploylog.Store) http.Handler { return New(s, nil) }

// New is Handler for an agent's log: the pages also show the agent's last
// look at its branch, as status reports it. A nil status shows none.
func New(s deploylog.Store, status func() deploylog.CheckStatus) http.Handler {
	p := &pages{store: s, status: status, mux: http.NewServeMux()}
	p.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/deployments", http.StatusSeeOther)
	})
	p.mux.HandleFunc("GET /deployments", p.list)
	p.mux.HandleFunc("GET /deployments/{id}", p.one)
	p.mux.HandleFunc("GET /api/deployments", p.listJSON)
	p.mux.HandleFunc("GET /api/deployments/{id}", p.oneJSON)
	return p
}

func (p *pages) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

func limitOf(r *http.Request) int {
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		return n
	}
	return listLimit
}

func (p *pages) get(w http.ResponseWriter, r *http.Request) (*deploylog.Deployment, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "bad deployment id", http.StatusBadRequest)
		return nil, false
	}
	d, err := p.store.Get(r.Context(), id)
	if errors.Is(err, deploylog.ErrNotFound) {
		http.Error(w, "no such deployment", http.StatusNotFound)
		return nil, false
	}
	if err != nil {
		serverError(w, err)
		return nil, false
	}
	return d, true
}

func serverError(w http.ResponseWriter, err error) {
	slog.Warn("deploy: page", "err", err)
	http.Error(w, "cannot read the deployment log", http.StatusInternalServerError)
}

type listData struct {
	Deployments []deploylog.Deployment
	Status      *deploylog.CheckStatus
	Running     bool
}

func (p *pages) list(w http.ResponseWriter, r *http.Request) {
	ds, err := p.store.List(r.Context(), limitOf(r))
	if err != nil {
		serverError(w, err)
		return
	}
	data := listData{Deployments: ds}
	if p.status != nil {
		st := p.status()
		data.Status = &st
	}
	for _, d := range ds {
		data.Running = data.Running || d.Status == deploylog.StatusRunning
	}
	render(w, "list.html", data)
}

func (p *pages) one(w http.ResponseWriter, r *http.Request) {
	if d, ok := p.get(w, r); ok {
		render(w, "one.html", d)
	}
}

func (p *pages) listJSON(w http.ResponseWriter, r *http.Request) {
	ds, err := p.store.List(r.Context(), limitOf(r))
	if err != nil {
		serverError(w, err)
		return
	}
	if ds == nil {
		ds = []deploylog.Deployment{} // [] rather than null
	}
	writeJSON(w, ds)
}

func (p *pages) oneJSON(w http.ResponseWriter, r *http.Request) {
	if d, ok := p.get(w, r); ok {
		writeJSON(w, d)
	}
}

func render(w http.ResponseWriter, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := templates.ExecuteTemplate(w, name, data); err != nil {
		slog.Warn("deploy: template", "name", name, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
