package deploylog

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// MemoryStore is a Store that keeps deployments in memory, for tests and for
// agents that need no history across restarts. The zero value is ready.
type MemoryStore struct {
	mu    sync.Mutex
	deps  []Deployment // in ID order, ID = index+1
	steps []StepLog    // in ID order, ID = index+1
}

var _ Store = (*MemoryStore)(nil)

// Create records d and sets its ID.
func (m *MemoryStore) Create(_ context.Context, d *Deployment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d.ID = int64(len(m.deps) + 1)
	c := *d
	c.Steps, c.Labels = nil, cloneLabels(d.Labels)
	m.deps = append(m.deps, c)
	return nil
}

// Update saves d's fields other than Steps.
func (m *MemoryStore) Update(_ context.Context, d *Deployment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if d.ID < 1 || d.ID > int64(len(m.deps)) {
		return fmt.Errorf("%w: %d", ErrNotFound, d.ID)
	}
	c := *d
	c.Steps, c.Labels = nil, cloneLabels(d.Labels)
	m.deps[d.ID-1] = c
	return nil
}

// AddStep records s and sets its ID.
func (m *MemoryStore) AddStep(_ context.Context, s *StepLog) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.DeploymentID < 1 || s.DeploymentID > int64(len(m.deps)) {
		return fmt.Errorf("%w: %d", ErrNotFound, s.DeploymentID)
	}
	s.ID = int64(len(m.steps) + 1)
	m.steps = append(m.steps, *s)
	return nil
}

// UpdateStep saves s.
func (m *MemoryStore) UpdateStep(_ context.Context, s *StepLog) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.ID < 1 || s.ID > int64(len(m.steps)) {
		return fmt.Errorf("deploy: no step %d: %w", s.ID, ErrNotFound)
	}
	m.steps[s.ID-1] = *s
	return nil
}

// List returns the newest deployments first, with their steps.
func (m *MemoryStore) List(_ context.Context, limit int) ([]Deployment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Deployment
	for i := len(m.deps) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		out = append(out, m.withSteps(m.deps[i]))
	}
	return out, nil
}

// Get returns deployment id with its steps.
func (m *MemoryStore) Get(_ context.Context, id int64) (*Deployment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || id > int64(len(m.deps)) {
		return nil, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	d := m.withSteps(m.deps[id-1])
	return &d, nil
}

func (m *MemoryStore) withSteps(d Deployment) Deployment {
	d.Labels = cloneLabels(d.Labels)
	for _, s := range m.steps {
		if s.DeploymentID == d.ID {
			d.Steps = append(d.Steps, s)
		}
	}
	d.Steps = slices.Clip(d.Steps)
	return d
}

// cloneLabels copies ls, so that the caller's slice and the store's are
// never one (nil for none, as the databases give).
func cloneLabels(ls []string) []string {
	if len(ls) == 0 {
		return nil
	}
	return slices.Clone(ls)
}
