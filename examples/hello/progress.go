package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/molt-go/update"
)

// progressLine draws a download on one terminal line, redrawn in place:
//
//	download hello-linux-amd64  [#######.............]  35%  4.5/12.8 MiB  91 MiB/s
//
// The speed is update.Progress.Speed, the average since the download began,
// so it never shows the absurd figures a rate over the last few
// milliseconds gives on a fast link.
type progressLine struct {
	w    io.Writer
	last time.Time // of the last redraw, to redraw at most every 100 ms
	done bool
}

func (l *progressLine) show(p update.Progress) {
	if l.done || p.Total <= 0 || p.Bytes == 0 {
		return
	}
	end := p.Bytes >= p.Total
	if !end && time.Since(l.last) < 100*time.Millisecond {
		return
	}
	l.last = time.Now()
	const width = 20
	filled := int(width * p.Bytes / p.Total)
	fmt.Fprintf(l.w, "\r  download %s  [%s%s] %3d%%  %s/%s  %s/s ",
		p.Asset, strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		100*p.Bytes/p.Total, mib(p.Bytes), mib(p.Total), mib(int64(p.Speed())))
	if end {
		fmt.Fprintln(l.w)
		l.done = true
	}
}

// mib formats a byte count for the progress line.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
