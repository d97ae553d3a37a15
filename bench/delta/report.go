package main

import (
	"fmt"
	"strings"
	"time"
)

func (c caseResult) print() {
	fmt.Printf("%s: %s -> %s", c.p.desc, human(c.oldSize), human(c.newSize))
	if c.identical {
		fmt.Print(" (the two binaries are identical)")
	}
	fmt.Println()
	fmt.Printf("  %-24s %12s %9s %18s %11s %18s %11s\n", "", "shipped", "of full", "make", "make RSS", "apply", "apply RSS")
	for _, t := range c.tools {
		if t.missing != "" {
			fmt.Printf("  %-24s %s\n", t.name, t.missing)
			continue
		}
		fmt.Printf("  %-24s %12s %8.3f%% %18s %11s %18s %11s\n", t.name, human(t.size), pct(t.size, c.newSize), times(t.make), rss(t.make), times(t.apply), rss(t.apply))
	}
	molt := c.tools[2]
	var ratios []string
	for _, t := range c.tools[1:] {
		if t.missing == "" && t.name != molt.name && molt.size > 0 {
			ratios = append(ratios, ratio(molt.size, t.size)+" the size of "+t.name)
		}
	}
	fmt.Printf("  molt's patch is %s\n", strings.Join(ratios, ", "))
	fmt.Printf("  over loopback: download+sha256 of the full file %v; sha256 of the installed file+download+apply of the patch %v (%s), %v without the first sha256 (%s)\n",
		c.loopFull.Round(time.Millisecond), c.loopMolt.Round(time.Millisecond), ratio(int64(c.loopMolt), int64(c.loopFull)),
		c.loopMemo.Round(time.Millisecond), ratio(int64(c.loopMemo), int64(c.loopFull)))
	for _, l := range []struct {
		what string
		t    time.Duration
	}{{"", c.loopMolt}, {" (installed digest remembered)", c.loopMemo}} {
		if be := c.breakEven(l.t); be > 0 {
			fmt.Printf("  the patch%s wins on any link slower than %.0f MB/s\n", l.what, be/1e6)
		} else if l.t <= c.loopFull {
			fmt.Printf("  the patch%s wins even over loopback\n", l.what)
		}
	}
	fmt.Println()
}

// breakEven is the link speed, bytes/s, below which fetching and applying
// the patch (in loopback time molt) beats fetching the full file, from the
// loopback times: each costs its loopback time plus its size over the
// link. 0 if the patch is faster even over loopback, or no smaller.
func (c caseResult) breakEven(molt time.Duration) float64 {
	extra := (molt - c.loopFull).Seconds()
	saved := float64(c.newSize - c.tools[2].size)
	if extra <= 0 || saved <= 0 {
		return 0
	}
	return saved / extra
}

// printMarkdown prints every case as one table, for the README.
func printMarkdown(cs []caseResult) {
	if len(cs) == 0 {
		return
	}
	fmt.Println("| case | full | way | shipped | % of full | make, wall (CPU) | make peak RSS | apply, wall (CPU) | apply peak RSS |")
	fmt.Println("|---|---:|---|---:|---:|---:|---:|---:|---:|")
	for _, c := range cs {
		for _, t := range c.tools[1:] {
			if t.missing != "" {
				fmt.Printf("| %s | %s | %s | %s | | | | | |\n", c.p.name, human(c.newSize), t.name, t.missing)
				continue
			}
			fmt.Printf("| %s | %s | %s | %s | %.3f%% | %s | %s | %s | %s |\n", c.p.name, human(c.newSize), t.name, human(t.size), pct(t.size, c.newSize), times(t.make), rss(t.make), times(t.apply), rss(t.apply))
		}
		fmt.Printf("| %s | %s | loopback: full download+sha256 vs patch (sha256 of the installed file, download, apply) vs patch, installed digest remembered | | | | | %v vs %v vs %v | |\n",
			c.p.name, human(c.newSize), c.loopFull.Round(time.Millisecond), c.loopMolt.Round(time.Millisecond), c.loopMemo.Round(time.Millisecond))
	}
}

// ratio says a/b as "0.78x", or as "1/2889" where that reads better.
func ratio(a, b int64) string {
	r := float64(a) / float64(b)
	if r < 0.1 && a > 0 {
		return fmt.Sprintf("1/%.0f", 1/r)
	}
	return fmt.Sprintf("%.2fx", r)
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func times(r run) string {
	if r.wall == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%s)", dur(r.wall), dur(r.cpu))
}

func dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
}

func rss(r run) string {
	if r.rssKB == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(r.rssKB)/1024)
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MB", float64(n)/1e6)
	case n >= 10<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
